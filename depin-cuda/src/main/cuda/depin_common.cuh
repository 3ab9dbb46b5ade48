// depin: arithmetic shared by the device kernels and host code (the nvcc-built test
// harness). Everything here is __host__ __device__ and free of CUDA runtime calls, so the
// same SHA-256 compression, Merkle index math and tile index math run on both sides.
#ifndef DEPIN_COMMON_CUH
#define DEPIN_COMMON_CUH

#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define DEPIN_HD __host__ __device__ __forceinline__
#else
#define DEPIN_HD inline
#endif

// ---------------------------------------------------------------------------------------
// Tile index math (SGEMM)
// ---------------------------------------------------------------------------------------

// Block tile of C: DEPIN_BM rows x DEPIN_BN columns, DEPIN_BK deep in k per stage.
#define DEPIN_BM 128
#define DEPIN_BN 128
#define DEPIN_BK 8
// Each thread computes a DEPIN_TM x DEPIN_TN register block of C.
#define DEPIN_TM 8
#define DEPIN_TN 8
#define DEPIN_SGEMM_THREADS ((DEPIN_BM / DEPIN_TM) * (DEPIN_BN / DEPIN_TN))

DEPIN_HD uint32_t depin_ceil_div(uint32_t a, uint32_t b) { return (a + b - 1) / b; }

// Grid of an SGEMM launch: x over column tiles, y over row tiles.
DEPIN_HD void depin_sgemm_grid(uint32_t m, uint32_t n, uint32_t *gx, uint32_t *gy) {
    *gx = depin_ceil_div(n, DEPIN_BN);
    *gy = depin_ceil_div(m, DEPIN_BM);
}

// Row of C that register-block row r (0..TM-1) of thread t in block (bx, by) computes.
// Threads form a 16 x 16 grid; thread (ty, tx) owns rows ty*4 + {0..3} and 64 + ty*4 + {0..3},
// so its eight values of A at one depth are two aligned float4 loads from shared memory
// (a warp touches two float4 addresses of A: a broadcast, no bank conflict).
DEPIN_HD uint32_t depin_tile_row(uint32_t by, uint32_t t, uint32_t r) {
    return by * DEPIN_BM + (t / (DEPIN_BN / DEPIN_TN)) * 4 + (r % 4) + (r / 4) * (DEPIN_BM / 2);
}

// Column of C that register-block column c (0..TN-1) of thread t in block (bx, by) computes:
// tx*4 + {0..3} and 64 + tx*4 + {0..3}, two float4 loads of B per depth (a quarter warp reads
// 128 contiguous bytes: conflict-free).
DEPIN_HD uint32_t depin_tile_col(uint32_t bx, uint32_t t, uint32_t c) {
    return bx * DEPIN_BN + (t % (DEPIN_BN / DEPIN_TN)) * 4 + (c % 4) + (c / 4) * (DEPIN_BN / 2);
}

// ---------------------------------------------------------------------------------------
// Merkle tree index math (RFC 6962; leaves of JobSpec.MERKLE_CHUNK_BYTES = 4 KiB in jobs)
// ---------------------------------------------------------------------------------------

// The device reduces aligned groups of DEPIN_MERKLE_FANOUT consecutive nodes of one level to
// the node DEPIN_MERKLE_LOG2 levels up, one thread block per group: leaves and the first 7
// levels in one launch, then 7 levels per launch. A group starts at a multiple of 2^7, so no
// pair of the level-by-level construction straddles two groups, and the last group's carried
// node is the whole tree's: the result is the level-by-level tree's node, i.e. RFC 6962's.
#define DEPIN_MERKLE_LOG2 7u
#define DEPIN_MERKLE_FANOUT (1u << DEPIN_MERKLE_LOG2)

// Leaves of a buffer of `bytes` bytes: one per leaf of `leaf` bytes, the last may be short;
// 0 for 0 bytes.
DEPIN_HD uint64_t depin_leaf_count(uint64_t bytes, uint32_t leaf) {
    return bytes == 0 ? 0 : (bytes + leaf - 1) / leaf;
}

// Nodes of the level above a level of `count` nodes. The tree is built level by level:
// node i of the level above hashes nodes 2i and 2i+1, and a last node without a partner is
// carried up unchanged. For RFC 6962's split (left subtree = largest power of two < n) this
// yields the same root: the carried node is exactly the right subtree's lone spine.
DEPIN_HD uint64_t depin_parent_count(uint64_t count) { return (count + 1) / 2; }

// Whether node i of the level above `count` nodes is carried up (no right partner).
DEPIN_HD int depin_is_carried(uint64_t count, uint64_t i) { return 2 * i + 1 >= count; }

// Largest power of two strictly smaller than n (n >= 2): RFC 6962's split point.
DEPIN_HD uint64_t depin_split(uint64_t n) {
    uint64_t k = 1;
    while ((k << 1) < n) {
        k <<= 1;
    }
    return k;
}

// ---------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-4)
// ---------------------------------------------------------------------------------------

#ifdef __CUDA_ARCH__
#define DEPIN_CONST __constant__
#else
#define DEPIN_CONST static const
#endif

DEPIN_CONST uint32_t DEPIN_K256[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u};

DEPIN_HD uint32_t depin_rotr(uint32_t x, uint32_t n) { return (x >> n) | (x << (32 - n)); }

DEPIN_HD void depin_sha256_init(uint32_t h[8]) {
    h[0] = 0x6a09e667u; h[1] = 0xbb67ae85u; h[2] = 0x3c6ef372u; h[3] = 0xa54ff53au;
    h[4] = 0x510e527fu; h[5] = 0x9b05688cu; h[6] = 0x1f83d9abu; h[7] = 0x5be0cd19u;
}

// One compression of a 64-byte block given as 16 big-endian words. w is clobbered.
DEPIN_HD void depin_sha256_compress(uint32_t h[8], uint32_t w[16]) {
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int i = 0; i < 64; i++) {
        uint32_t wi;
        if (i < 16) {
            wi = w[i];
        } else {
            uint32_t w15 = w[(i + 1) & 15], w2 = w[(i + 14) & 15];
            uint32_t s0 = depin_rotr(w15, 7) ^ depin_rotr(w15, 18) ^ (w15 >> 3);
            uint32_t s1 = depin_rotr(w2, 17) ^ depin_rotr(w2, 19) ^ (w2 >> 10);
            wi = w[i & 15] + s0 + w[(i + 9) & 15] + s1;
            w[i & 15] = wi;
        }
        uint32_t S1 = depin_rotr(e, 6) ^ depin_rotr(e, 11) ^ depin_rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + S1 + ch + DEPIN_K256[i] + wi;
        uint32_t S0 = depin_rotr(a, 2) ^ depin_rotr(a, 13) ^ depin_rotr(a, 22);
        uint32_t mj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + mj;
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

// The 64 bytes p[0..64) as 16 little-endian words. On the device p must be 16-byte aligned.
DEPIN_HD void depin_load64(const uint8_t *p, uint32_t d[16]) {
#ifdef __CUDA_ARCH__
    const uint4 *q = reinterpret_cast<const uint4 *>(p);
#pragma unroll
    for (int i = 0; i < 4; i++) {
        uint4 v = __ldg(q + i);
        d[4 * i] = v.x;
        d[4 * i + 1] = v.y;
        d[4 * i + 2] = v.z;
        d[4 * i + 3] = v.w;
    }
#else
    for (int i = 0; i < 16; i++) {
        d[i] = (uint32_t)p[4 * i] | ((uint32_t)p[4 * i + 1] << 8) | ((uint32_t)p[4 * i + 2] << 16)
               | ((uint32_t)p[4 * i + 3] << 24);
    }
#endif
}

// A big-endian message word whose first byte is byte 3 of `prev` and whose other three are
// bytes 0, 1, 2 of `cur` (little-endian words of the data): the data shifted by the one-byte
// RFC 6962 prefix. One PRMT on the device.
DEPIN_HD uint32_t depin_shifted_word(uint32_t cur, uint32_t prev) {
#ifdef __CUDA_ARCH__
    return __byte_perm(cur, prev, 0x7012);
#else
    return (prev & 0xff000000u) | ((cur & 0xffu) << 16) | (cur & 0xff00u) | ((cur >> 16) & 0xffu);
#endif
}

// Pads and compresses the tail of a message: `rem` (0..63) bytes in tail[0..rem), message
// length `total` bytes. tail must have room for 128 bytes.
DEPIN_HD void depin_sha256_finish(uint32_t h[8], uint8_t tail[128], uint32_t rem, uint64_t total) {
    tail[rem] = 0x80;
    uint32_t end = rem + 1 + 8 <= 64 ? 64 : 128;
    for (uint32_t i = rem + 1; i < end - 8; i++) {
        tail[i] = 0;
    }
    uint64_t bits = total * 8;
    for (int i = 0; i < 8; i++) {
        tail[end - 1 - i] = (uint8_t)(bits >> (8 * i));
    }
    for (uint32_t blk = 0; blk < end; blk += 64) {
        uint32_t w[16];
        for (int t = 0; t < 16; t++) {
            const uint8_t *q = tail + blk + 4 * t;
            w[t] = ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) | q[3];
        }
        depin_sha256_compress(h, w);
    }
}

// Little-endian word of data[i..i+4), bytes at or past `len` read as 0 (one by one).
DEPIN_HD uint32_t depin_load_partial(const uint8_t *data, uint64_t len, uint64_t i) {
    uint32_t d = 0;
    for (int q = 0; q < 4; q++) {
        if (i + q < len) {
            d |= (uint32_t)data[i + q] << (8 * q);
        }
    }
    return d;
}

// RFC 6962 leaf hash SHA-256(0x00 || data[0..len)). Message block j is the byte before
// data[64j] (the 0x00 prefix for j = 0) and data[64j..64j+63). On the device `data` must be
// 16-byte aligned (a leaf starts at a multiple of the leaf size, a multiple of 64, in a
// device allocation). Everything stays in registers (no local-memory tail buffer).
DEPIN_HD void depin_leaf_hash(const uint8_t *data, uint64_t len, uint32_t h[8]) {
    depin_sha256_init(h);
    uint64_t total = len + 1;            // message = 0x00 prefix, then the data
    uint64_t full = total / 64;          // whole 64-byte message blocks
    uint32_t prev = 0;                   // byte 3 = the message byte before data[64j]
    uint32_t d[16], w[16];
    for (uint64_t blk = 0; blk < full; blk++) {
        if (64 * blk + 64 <= len) {
            depin_load64(data + 64 * blk, d);
        } else {  // the last whole block ends exactly at the data's end: 63 bytes, one by one
            for (int t = 0; t < 16; t++) {
                d[t] = depin_load_partial(data, len, 64 * blk + 4 * (uint64_t)t);
            }
        }
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
        for (int t = 0; t < 16; t++) {
            w[t] = depin_shifted_word(d[t], t == 0 ? prev : d[t - 1]);
        }
        prev = d[15];
        depin_sha256_compress(h, w);
    }
    // The tail: rem (0..63) message bytes, then 0x80, zeros and the bit length (FIPS 180-4 5.1.1).
    uint32_t rem = (uint32_t)(total - full * 64);
    uint64_t base = 64 * full;
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int t = 0; t < 16; t++) {
        d[t] = depin_load_partial(data, len, base + 4 * (uint64_t)t);
        uint32_t v = depin_shifted_word(d[t], t == 0 ? prev : d[t - 1]);
        int keep = (int)rem - 4 * t;  // message bytes of this word that are data (big-endian order)
        uint32_t mask = keep >= 4 ? 0xffffffffu : keep <= 0 ? 0u : ~(0xffffffffu >> (8 * keep));
        v &= mask;
        if (keep >= 0 && keep < 4) {
            v |= 0x80u << (24 - 8 * keep);
        }
        w[t] = v;
    }
    uint64_t bits = total * 8;
    if (rem < 56) {
        w[14] = (uint32_t)(bits >> 32);
        w[15] = (uint32_t)bits;
        depin_sha256_compress(h, w);
    } else {
        depin_sha256_compress(h, w);
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
        for (int t = 0; t < 14; t++) {
            w[t] = 0;
        }
        w[14] = (uint32_t)(bits >> 32);
        w[15] = (uint32_t)bits;
        depin_sha256_compress(h, w);
    }
}

// RFC 6962 node hash SHA-256(0x01 || left || right), digests as 8 big-endian words.
DEPIN_HD void depin_node_hash(const uint32_t left[8], const uint32_t right[8], uint32_t h[8]) {
    depin_sha256_init(h);
    // Message: 65 bytes. Block 0 = 0x01, left (32 bytes), right[0..31) (31 bytes).
    uint32_t w[16];
    uint32_t carry = 0x01;
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int t = 0; t < 16; t++) {
        uint32_t v = t < 8 ? left[t] : right[t - 8];  // big-endian words of left || right
        w[t] = (carry << 24) | (v >> 8);
        carry = v & 0xffu;
    }
    depin_sha256_compress(h, w);
    // Block 1: the last byte of right, 0x80, zeros, the length 65 * 8 = 520 bits.
    w[0] = (carry << 24) | 0x00800000u;
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int t = 1; t < 15; t++) {
        w[t] = 0;
    }
    w[15] = 65 * 8;
    depin_sha256_compress(h, w);
}

// Digest words to 32 bytes, big-endian (the usual SHA-256 byte order).
DEPIN_HD void depin_digest_bytes(const uint32_t h[8], uint8_t out[32]) {
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

// ---------------------------------------------------------------------------------------
// Reduction order (reduce-sum), identical to dev.depin.kernel.CpuReference.reduceSum
// ---------------------------------------------------------------------------------------

#define DEPIN_REDUCE_BLOCK 4096u
#define DEPIN_REDUCE_LANES 8u

// a + b in binary64, round to nearest even: the one rounding the reference makes (Java's
// double addition); written out so that no compiler flag can change it.
DEPIN_HD double depin_dadd(double a, double b) {
#ifdef __CUDA_ARCH__
    return __dadd_rn(a, b);
#else
    return a + b;
#endif
}

// x[i] through the read-only cache on the device.
DEPIN_HD float depin_load_f32(const float *x, uint64_t i) {
#ifdef __CUDA_ARCH__
    return __ldg(x + i);
#else
    return x[i];
#endif
}

// Partial of block `blk` of x[0..n): 8 float64 lanes, lane l adds x[s+l], x[s+l+8], ...
// over whole groups of eight, the remainder goes to lane 0, lanes combined pairwise. Each
// addition is IEEE 754 binary64 round-to-nearest (__dadd_rn on the device), in index order;
// the loads are issued 16 at a time ahead of their additions (memory parallelism only).
DEPIN_HD double depin_reduce_lane(const float *x, uint64_t n, uint64_t blk, uint32_t lane) {
    uint64_t s = blk * DEPIN_REDUCE_BLOCK;
    uint64_t e = s + DEPIN_REDUCE_BLOCK < n ? s + DEPIN_REDUCE_BLOCK : n;
    uint64_t whole = s + ((e - s) / DEPIN_REDUCE_LANES) * DEPIN_REDUCE_LANES;
    double acc = 0.0;
    uint64_t i = s + lane;
    for (; i + 15 * DEPIN_REDUCE_LANES < whole; i += 16 * DEPIN_REDUCE_LANES) {
        float v[16];
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
        for (int q = 0; q < 16; q++) {
            v[q] = depin_load_f32(x, i + q * DEPIN_REDUCE_LANES);
        }
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
        for (int q = 0; q < 16; q++) {
            acc = depin_dadd(acc, (double)v[q]);
        }
    }
    for (; i < whole; i += DEPIN_REDUCE_LANES) {
        acc = depin_dadd(acc, (double)depin_load_f32(x, i));
    }
    if (lane == 0) {
        for (uint64_t j = whole; j < e; j++) {
            acc = depin_dadd(acc, (double)depin_load_f32(x, j));
        }
    }
    return acc;
}

DEPIN_HD double depin_reduce_combine(const double l[8]) {
    return depin_dadd(depin_dadd(depin_dadd(l[0], l[1]), depin_dadd(l[2], l[3])),
                      depin_dadd(depin_dadd(l[4], l[5]), depin_dadd(l[6], l[7])));
}

#endif  // DEPIN_COMMON_CUH
