// depin built-in kernels. Compiled by depin-cuda/scripts/build-kernels.sh to PTX
// (compute_80) and to a fatbin with SASS for sm_80, sm_86, sm_89 and sm_90; the executor
// loads them from the class path with cuModuleLoadData. Every entry is extern "C" so its
// name in the module is the plain name below. Sizes are element or byte counts as 64-bit
// integers; pointers are device pointers.
#include "depin_common.cuh"

// ---------------------------------------------------------------------------------------
// SGEMM: C[m,n] = A[m,k] * B[k,n], row-major, float32, any m, k, n >= 1.
// Block tile BM x BN, BK deep per stage, 256 threads, each an 8 x 8 register block; two
// shared-memory stages, the next one prefetched into registers while the current one is
// multiplied. A is stored transposed in shared memory so that each thread reads its eight
// values of A at one depth as two float4 loads (and eight of B likewise). Global loads are
// bounds-checked (zero fill), so any shape works.
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
            ra[q] = (gr < m && gc < k) ? A[(size_t)gr * k + gc] : 0.0f;
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
                    acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
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
// Reduce-sum: one float64 partial per 4096-element block, in exactly CpuReference's order.
// 8 threads per block (one per lane); a thread block of 256 covers 32 reduction blocks.
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
// Wipe: fill with a byte pattern, then verify on the device.
// ---------------------------------------------------------------------------------------
extern "C" __global__ void depin_fill(unsigned char *__restrict__ p, unsigned long long bytes, unsigned int pattern) {
    unsigned int b = pattern & 0xffu;
    unsigned int w = b | (b << 8) | (b << 16) | (b << 24);
    uint4 v = make_uint4(w, w, w, w);
    unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
    unsigned long long n16 = bytes / 16;
    uint4 *p16 = reinterpret_cast<uint4 *>(p);
    unsigned long long i0 = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    for (unsigned long long i = i0; i < n16; i += stride) {
        p16[i] = v;
    }
    for (unsigned long long i = n16 * 16 + i0; i < bytes; i += stride) {
        p[i] = (unsigned char)b;
    }
}

// Reads every byte back: result[0] += bytes that differ from the pattern, result[1] += the
// wrap-around sum of all bytes. With no mismatch, result[1] == bytes * pattern (mod 2^64),
// which the host checks; the two words are the wipe record's check digest.
extern "C" __global__ void depin_verify(const unsigned char *__restrict__ p, unsigned long long bytes,
                                        unsigned int pattern, unsigned long long *__restrict__ result) {
    unsigned int b = pattern & 0xffu;
    unsigned int w = b | (b << 8) | (b << 16) | (b << 24);
    unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
    unsigned long long n16 = bytes / 16;
    const uint4 *p16 = reinterpret_cast<const uint4 *>(p);
    unsigned long long i0 = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    unsigned long long bad = 0, sum = 0;
    for (unsigned long long i = i0; i < n16; i += stride) {
        uint4 v = __ldg(p16 + i);
        unsigned int words[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int q = 0; q < 4; q++) {
            unsigned int x = words[q];
            // Bytes that differ: __vcmpne4 gives 0xff per differing byte.
            bad += __popc(__vcmpne4(x, w)) / 8;
            sum += (x & 0xffu) + ((x >> 8) & 0xffu) + ((x >> 16) & 0xffu) + (x >> 24);
        }
    }
    for (unsigned long long i = n16 * 16 + i0; i < bytes; i += stride) {
        bad += p[i] != b;
        sum += p[i];
    }
    // Warp reduction, then one atomic per warp.
    for (int off = 16; off > 0; off >>= 1) {
        bad += __shfl_down_sync(0xffffffffu, bad, off);
        sum += __shfl_down_sync(0xffffffffu, sum, off);
    }
    if ((threadIdx.x & 31) == 0) {
        atomicAdd(result, bad);
        atomicAdd(result + 1, sum);
    }
}

// ---------------------------------------------------------------------------------------
// Merkle commitment: RFC 6962 over 64 KiB chunks, bit-identical to depin-crypto's Merkle.
// ---------------------------------------------------------------------------------------

// One thread per leaf: digests[i] = SHA-256(0x00 || chunk i), as 8 big-endian words.
extern "C" __global__ void depin_merkle_leaves(const unsigned char *__restrict__ data, unsigned long long bytes,
                                               unsigned int *__restrict__ digests) {
    unsigned long long leaves = depin_leaf_count(bytes, DEPIN_CHUNK);
    unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= leaves) {
        return;
    }
    unsigned long long off = i * DEPIN_CHUNK;
    unsigned long long len = bytes - off < DEPIN_CHUNK ? bytes - off : DEPIN_CHUNK;
    uint32_t h[8];
    depin_leaf_hash(data + off, len, h);
#pragma unroll
    for (int q = 0; q < 8; q++) {
        digests[i * 8 + q] = h[q];
    }
}

// One level of the tree: out[i] = node(in[2i], in[2i+1]), or in[2i] carried up unchanged.
extern "C" __global__ void depin_merkle_level(const unsigned int *__restrict__ in, unsigned long long count,
                                              unsigned int *__restrict__ out) {
    unsigned long long parents = depin_parent_count(count);
    unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= parents) {
        return;
    }
    uint32_t h[8];
    if (depin_is_carried(count, i)) {
#pragma unroll
        for (int q = 0; q < 8; q++) {
            h[q] = in[2 * i * 8 + q];
        }
    } else {
        uint32_t l[8], r[8];
#pragma unroll
        for (int q = 0; q < 8; q++) {
            l[q] = in[2 * i * 8 + q];
            r[q] = in[(2 * i + 1) * 8 + q];
        }
        depin_node_hash(l, r, h);
    }
#pragma unroll
    for (int q = 0; q < 8; q++) {
        out[i * 8 + q] = h[q];
    }
}
