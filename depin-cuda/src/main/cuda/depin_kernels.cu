// depin built-in kernels. Compiled by depin-cuda/scripts/build-kernels.sh to PTX
// (compute_80) and to a fatbin with SASS for sm_80, sm_86, sm_89 and sm_90; the executor
// loads them from the class path with cuModuleLoadData. Every entry is extern "C" so its
// name in the module is the plain name below. Sizes are element or byte counts as 64-bit
// integers; pointers are device pointers.
//
// Arithmetic is written out with round-to-nearest intrinsics (__fmaf_rn, __fmul_rn,
// __fadd_rn, __dadd_rn) and built with --fmad=false -ftz=false, so no compiler flag or
// contraction can change a result bit: each kernel's value is defined below element by
// element, and the CPU references compute exactly that (docs/decisions.md, "Bit-reproducible
// kernels").
#include "depin_common.cuh"

// ---------------------------------------------------------------------------------------
// SGEMM: C[m,n] = A[m,k] * B[k,n], row-major, float32, any m, k, n >= 1.
// Value: c[i][j] = acc after acc = +0.0f; for p = 0 .. k-1: acc = fma(a[i][p], b[p][j], acc)
// (one rounding per step, round to nearest even; subnormals kept).
// Block tile BM x BN, BK deep per stage, 256 threads, each an 8 x 8 register block; two
// shared-memory stages, the next one prefetched into registers while the current one is
// multiplied. A is stored transposed in shared memory so that each thread reads its eight
// values of A at one depth as two float4 loads (and eight of B likewise). Global loads are
// bounds-checked, so any shape works. Depths p >= k (the last stage's padding) load -0.0f
// for A and +0.0f for B: their product is -0.0f, and fma(-0, +0, acc) == acc for every acc
// (+0 and -0 included), so the padding adds no rounding and no sign change.
// ---------------------------------------------------------------------------------------
extern "C" __global__ void __launch_bounds__(DEPIN_SGEMM_THREADS)
depin_sgemm(const float *__restrict__ A, const float *__restrict__ B, float *__restrict__ C,
            unsigned int m, unsigned int k, unsigned int n) {
    __shared__ __align__(16) float As[2][DEPIN_BK][DEPIN_BM];
    __shared__ __align__(16) float Bs[2][DEPIN_BK][DEPIN_BN];
    const unsigned int t = threadIdx.x;
    const unsigned int bx = blockIdx.x, by = blockIdx.y;
    const unsigned int row0 = by * DEPIN_BM, col0 = bx * DEPIN_BN;

    // Loader mapping: 256 threads load BM x BK of A (4 each) and BK x BN of B (4 each).
    const unsigned int aRow = t / 2, aCol = (t % 2) * 4;        // A tile: 128 rows x 8 cols
    const unsigned int bRow = t / 32, bCol = (t % 32) * 4;      // B tile: 8 rows x 128 cols

    float acc[DEPIN_TM][DEPIN_TN];
#pragma unroll
    for (int i = 0; i < DEPIN_TM; i++) {
#pragma unroll
        for (int j = 0; j < DEPIN_TN; j++) {
            acc[i][j] = 0.0f;
        }
    }
    float ra[4], rb[4];
    auto loadA = [&](unsigned int k0) {
        unsigned int gr = row0 + aRow;
#pragma unroll
        for (int q = 0; q < 4; q++) {
            unsigned int gc = k0 + aCol + q;
            ra[q] = gc >= k ? -0.0f : (gr < m ? A[(size_t)gr * k + gc] : 0.0f);
        }
    };
    auto loadB = [&](unsigned int k0) {
        unsigned int gr = k0 + bRow;
#pragma unroll
        for (int q = 0; q < 4; q++) {
            unsigned int gc = col0 + bCol + q;
            rb[q] = (gr < k && gc < n) ? B[(size_t)gr * n + gc] : 0.0f;
        }
    };
    auto store = [&](int s) {
#pragma unroll
        for (int q = 0; q < 4; q++) {
            As[s][aCol + q][aRow] = ra[q];
            Bs[s][bRow][bCol + q] = rb[q];
        }
    };

    unsigned int stages = depin_ceil_div(k, DEPIN_BK);
    loadA(0);
    loadB(0);
    store(0);
    __syncthreads();
    for (unsigned int st = 0; st < stages; st++) {
        int cur = st & 1;
        if (st + 1 < stages) {  // prefetch the next stage into registers while computing
            loadA((st + 1) * DEPIN_BK);
            loadB((st + 1) * DEPIN_BK);
        }
#pragma unroll
        for (int p = 0; p < DEPIN_BK; p++) {
            // Rows depin_tile_row(0, t, 0..3) and (0, t, 4..7) are two runs of four: float4 loads.
            float a[DEPIN_TM], b[DEPIN_TN];
            float4 a0 = *reinterpret_cast<const float4 *>(&As[cur][p][depin_tile_row(0, t, 0)]);
            float4 a1 = *reinterpret_cast<const float4 *>(&As[cur][p][depin_tile_row(0, t, 4)]);
            float4 b0 = *reinterpret_cast<const float4 *>(&Bs[cur][p][depin_tile_col(0, t, 0)]);
            float4 b1 = *reinterpret_cast<const float4 *>(&Bs[cur][p][depin_tile_col(0, t, 4)]);
            a[0] = a0.x; a[1] = a0.y; a[2] = a0.z; a[3] = a0.w;
            a[4] = a1.x; a[5] = a1.y; a[6] = a1.z; a[7] = a1.w;
            b[0] = b0.x; b[1] = b0.y; b[2] = b0.z; b[3] = b0.w;
            b[4] = b1.x; b[5] = b1.y; b[6] = b1.z; b[7] = b1.w;
#pragma unroll
            for (int i = 0; i < DEPIN_TM; i++) {
#pragma unroll
                for (int j = 0; j < DEPIN_TN; j++) {
                    acc[i][j] = __fmaf_rn(a[i], b[j], acc[i][j]);
                }
            }
        }
        if (st + 1 < stages) {
            store(cur ^ 1);
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < DEPIN_TM; i++) {
        unsigned int r = depin_tile_row(by, t, i);
        if (r < m) {
#pragma unroll
            for (int j = 0; j < DEPIN_TN; j++) {
                unsigned int c = depin_tile_col(bx, t, j);
                if (c < n) {
                    C[(size_t)r * n + c] = acc[i][j];
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// SAXPY: out[i] = fl(fl(alpha * x[i]) + y[i]) (two roundings, as the CPU reference).
// ---------------------------------------------------------------------------------------
extern "C" __global__ void depin_saxpy(const float *__restrict__ x, const float *__restrict__ y,
                                       float *__restrict__ out, float alpha, unsigned long long n) {
    unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
    unsigned long long n4 = n / 4;
    const float4 *x4 = reinterpret_cast<const float4 *>(x);
    const float4 *y4 = reinterpret_cast<const float4 *>(y);
    float4 *o4 = reinterpret_cast<float4 *>(out);
    for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
        float4 a = __ldg(x4 + i), b = __ldg(y4 + i), r;
        r.x = __fadd_rn(__fmul_rn(alpha, a.x), b.x);
        r.y = __fadd_rn(__fmul_rn(alpha, a.y), b.y);
        r.z = __fadd_rn(__fmul_rn(alpha, a.z), b.z);
        r.w = __fadd_rn(__fmul_rn(alpha, a.w), b.w);
        o4[i] = r;
    }
    for (unsigned long long i = n4 * 4 + (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += stride) {
        out[i] = __fadd_rn(__fmul_rn(alpha, x[i]), y[i]);
    }
}

// ---------------------------------------------------------------------------------------
// Reduce-sum: one float64 partial per 4096-element block, in exactly CpuReference's order
// (depin_reduce_lane, depin_reduce_combine). 8 threads per block (one per lane); a thread
// block of 256 covers 32 reduction blocks.
// The partials are added in block order by the host, so the result is bit-identical to the
// CPU reference whatever the device.
// ---------------------------------------------------------------------------------------
extern "C" __global__ void depin_reduce_partials(const float *__restrict__ x, unsigned long long n,
                                                 double *__restrict__ partials) {
    __shared__ double lanes[256];
    unsigned long long blocks = (n + DEPIN_REDUCE_BLOCK - 1) / DEPIN_REDUCE_BLOCK;
    unsigned long long g = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    unsigned long long blk = g / DEPIN_REDUCE_LANES;
    unsigned int lane = (unsigned int)(g % DEPIN_REDUCE_LANES);
    lanes[threadIdx.x] = blk < blocks ? depin_reduce_lane(x, n, blk, lane) : 0.0;
    __syncthreads();
    if (lane == 0 && blk < blocks) {
        partials[blk] = depin_reduce_combine(&lanes[threadIdx.x]);
    }
}

// ---------------------------------------------------------------------------------------
// Wipe: fill with a byte pattern, then verify on the device. Both are grid-stride loops
// launched with as many blocks as the device holds at once (DeviceContext sizes the grid
// from the occupancy calculator), each thread moving four 16-byte words per iteration.
// ---------------------------------------------------------------------------------------
#define DEPIN_WIPE_UNROLL 4

extern "C" __global__ void depin_fill(unsigned char *__restrict__ p, unsigned long long bytes, unsigned int pattern) {
    unsigned int b = pattern & 0xffu;
    unsigned int w = b * 0x01010101u;
    uint4 v = make_uint4(w, w, w, w);
    unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
    unsigned long long n16 = bytes / 16;
    uint4 *p16 = reinterpret_cast<uint4 *>(p);
    unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    for (; i + (DEPIN_WIPE_UNROLL - 1) * stride < n16; i += DEPIN_WIPE_UNROLL * stride) {
#pragma unroll
        for (int u = 0; u < DEPIN_WIPE_UNROLL; u++) {
            p16[i + u * stride] = v;
        }
    }
    for (; i < n16; i += stride) {
        p16[i] = v;
    }
    for (unsigned long long j = n16 * 16 + (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; j < bytes;
         j += stride) {
        p[j] = (unsigned char)b;
    }
}

// Bytes of the 16-byte word v that differ from the pattern word w (rarely called: only when
// some byte differs).
__device__ __noinline__ unsigned int depin_mismatched_bytes(uint4 v, unsigned int w) {
    unsigned int words[4] = {v.x, v.y, v.z, v.w};
    unsigned int n = 0;
    for (int q = 0; q < 4; q++) {
        for (int k = 0; k < 4; k++) {
            n += ((words[q] >> (8 * k)) & 0xffu) != (w & 0xffu);
        }
    }
    return n;
}

// Byte sum of a 16-byte word: one IDP4A per 32-bit word.
__device__ __forceinline__ unsigned int depin_byte_sum16(uint4 v) {
    unsigned int s = __dp4a(v.x, 0x01010101u, 0u);
    s = __dp4a(v.y, 0x01010101u, s);
    s = __dp4a(v.z, 0x01010101u, s);
    return __dp4a(v.w, 0x01010101u, s);
}

// Reads every byte back: result[0] += bytes that differ from the pattern, result[1] += the
// wrap-around sum of all bytes. With no mismatch, result[1] == bytes * pattern (mod 2^64),
// which the host checks; the two words are the wipe record's check digest. One atomic pair
// per thread block.
extern "C" __global__ void depin_verify(const unsigned char *__restrict__ p, unsigned long long bytes,
                                        unsigned int pattern, unsigned long long *__restrict__ result) {
    __shared__ unsigned long long warpBad[32], warpSum[32];
    unsigned int b = pattern & 0xffu;
    unsigned int w = b * 0x01010101u;
    unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
    unsigned long long n16 = bytes / 16;
    const uint4 *p16 = reinterpret_cast<const uint4 *>(p);
    unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    unsigned long long bad = 0, sum = 0;
    for (; i + (DEPIN_WIPE_UNROLL - 1) * stride < n16; i += DEPIN_WIPE_UNROLL * stride) {
        uint4 v[DEPIN_WIPE_UNROLL];
#pragma unroll
        for (int u = 0; u < DEPIN_WIPE_UNROLL; u++) {
            v[u] = __ldg(p16 + i + u * stride);
        }
#pragma unroll
        for (int u = 0; u < DEPIN_WIPE_UNROLL; u++) {
            if (((v[u].x ^ w) | (v[u].y ^ w) | (v[u].z ^ w) | (v[u].w ^ w)) != 0) {
                bad += depin_mismatched_bytes(v[u], w);
            }
            sum += depin_byte_sum16(v[u]);
        }
    }
    for (; i < n16; i += stride) {
        uint4 v = __ldg(p16 + i);
        if (((v.x ^ w) | (v.y ^ w) | (v.z ^ w) | (v.w ^ w)) != 0) {
            bad += depin_mismatched_bytes(v, w);
        }
        sum += depin_byte_sum16(v);
    }
    for (unsigned long long j = n16 * 16 + (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; j < bytes;
         j += stride) {
        bad += p[j] != b;
        sum += p[j];
    }
    // Warp reduction, then the block's warps through shared memory, then one atomic pair.
    for (int off = 16; off > 0; off >>= 1) {
        bad += __shfl_down_sync(0xffffffffu, bad, off);
        sum += __shfl_down_sync(0xffffffffu, sum, off);
    }
    unsigned int warp = threadIdx.x / 32, warps = (blockDim.x + 31) / 32;
    if ((threadIdx.x & 31) == 0) {
        warpBad[warp] = bad;
        warpSum[warp] = sum;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (unsigned int k = 1; k < warps; k++) {
            bad += warpBad[k];
            sum += warpSum[k];
        }
        atomicAdd(result, bad);
        atomicAdd(result + 1, sum);
    }
}

// ---------------------------------------------------------------------------------------
// Merkle commitment: RFC 6962 over leaves of `leafBytes` (a multiple of 64; 4 KiB in jobs),
// bit-identical to depin-crypto's Merkle. Digests are 8 big-endian words.
// ---------------------------------------------------------------------------------------

// Reduces the `count` (1..FANOUT) digests in h to the root of their level-by-level subtree,
// in place, and writes it to out. Every thread of the block calls it.
__device__ void depin_group_reduce(uint32_t (*h)[8], unsigned int count, unsigned int *__restrict__ out) {
    unsigned int t = threadIdx.x;
    __syncthreads();
    for (unsigned int c = count; c > 1; c = (unsigned int)depin_parent_count(c)) {
        unsigned int parents = (unsigned int)depin_parent_count(c);
        uint32_t r[8];
        if (t < parents) {
            if (depin_is_carried(c, t)) {
#pragma unroll
                for (int q = 0; q < 8; q++) {
                    r[q] = h[2 * t][q];
                }
            } else {
                depin_node_hash(h[2 * t], h[2 * t + 1], r);
            }
        }
        __syncthreads();
        if (t < parents) {
#pragma unroll
            for (int q = 0; q < 8; q++) {
                h[t][q] = r[q];
            }
        }
        __syncthreads();
    }
    if (t < 8) {
        out[t] = h[0][t];
    }
}

// Block b: leaves [FANOUT*b, FANOUT*b + FANOUT) hashed one per thread, SHA-256(0x00 || leaf),
// then reduced to their subtree's root, out[b] (the node 7 levels above the leaves).
extern "C" __global__ void __launch_bounds__(DEPIN_MERKLE_FANOUT)
depin_merkle_leaves(const unsigned char *__restrict__ data, unsigned long long bytes, unsigned int leafBytes,
                    unsigned int *__restrict__ out) {
    __shared__ uint32_t h[DEPIN_MERKLE_FANOUT][8];
    unsigned long long leaves = depin_leaf_count(bytes, leafBytes);
    unsigned long long first = (unsigned long long)blockIdx.x * DEPIN_MERKLE_FANOUT;
    unsigned int count = leaves - first < DEPIN_MERKLE_FANOUT ? (unsigned int)(leaves - first) : DEPIN_MERKLE_FANOUT;
    if (threadIdx.x < count) {
        unsigned long long off = (first + threadIdx.x) * leafBytes;
        unsigned long long len = bytes - off < leafBytes ? bytes - off : leafBytes;
        uint32_t d[8];
        depin_leaf_hash(data + off, len, d);
#pragma unroll
        for (int q = 0; q < 8; q++) {
            h[threadIdx.x][q] = d[q];
        }
    }
    depin_group_reduce(h, count, out + 8ull * blockIdx.x);
}

// Block b: nodes [FANOUT*b, FANOUT*b + FANOUT) of a level of `count` nodes reduced to the
// node 7 levels up, out[b].
extern "C" __global__ void __launch_bounds__(DEPIN_MERKLE_FANOUT)
depin_merkle_nodes(const unsigned int *__restrict__ in, unsigned long long count, unsigned int *__restrict__ out) {
    __shared__ uint32_t h[DEPIN_MERKLE_FANOUT][8];
    unsigned long long first = (unsigned long long)blockIdx.x * DEPIN_MERKLE_FANOUT;
    unsigned int c = count - first < DEPIN_MERKLE_FANOUT ? (unsigned int)(count - first) : DEPIN_MERKLE_FANOUT;
    if (threadIdx.x < c) {
#pragma unroll
        for (int q = 0; q < 8; q++) {
            h[threadIdx.x][q] = in[(first + threadIdx.x) * 8 + q];
        }
    }
    depin_group_reduce(h, c, out + 8ull * blockIdx.x);
}
