// Host harness for the arithmetic the kernels share with host code (depin_common.cuh),
// built by nvcc from KernelArithmeticTest and checked there against the Java reference
// (dev.depin.crypto.Merkle, MessageDigest, CpuReference). Reads commands from stdin, one per
// line, and answers each with one line:
//   sha <file>        SHA-256 of the file (init/compress/finish), hex
//   leaf <file>       RFC 6962 leaf hash SHA-256(0x00 || file), hex
//   merkle <leafBytes> <file>
//                     RFC 6962 root over leaves of leafBytes, built as the device does
//                     (aligned groups of DEPIN_MERKLE_FANOUT nodes reduced level by level,
//                     7 levels per pass), then checked against the recursive split;
//                     "root <hex>"
//   tiles <m> <n>     whether the SGEMM tile mapping writes every C element exactly once
//   reduce <file>     reduce-sum of the little-endian floats in the file, float bits in hex
#include "depin_common.cuh"

#include <stdio.h>
#include <stdlib.h>
#include <string>
#include <vector>

static std::vector<uint8_t> slurp(const char *path) {
    std::vector<uint8_t> v;
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("error cannot open %s\n", path);
        exit(2);
    }
    uint8_t buf[1 << 16];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, f)) > 0) {
        v.insert(v.end(), buf, buf + r);
    }
    fclose(f);
    return v;
}

static std::string hex(const uint32_t h[8]) {
    uint8_t b[32];
    depin_digest_bytes(h, b);
    char s[65];
    for (int i = 0; i < 32; i++) {
        snprintf(s + 2 * i, 3, "%02x", b[i]);
    }
    return std::string(s, 64);
}

static void sha256(const uint8_t *p, uint64_t len, uint32_t h[8]) {
    depin_sha256_init(h);
    uint64_t full = len / 64;
    for (uint64_t b = 0; b < full; b++) {
        uint32_t w[16];
        for (int t = 0; t < 16; t++) {
            const uint8_t *q = p + 64 * b + 4 * t;
            w[t] = ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) | q[3];
        }
        depin_sha256_compress(h, w);
    }
    uint8_t tail[128];
    uint32_t rem = (uint32_t)(len - full * 64);
    memcpy(tail, p + full * 64, rem);
    depin_sha256_finish(h, tail, rem, len);
}

struct Digest {
    uint32_t w[8];
};

// RFC 6962 as written: MTH(D[0:n]) = node(MTH(D[0:k]), MTH(D[k:n])), k = split(n).
static Digest recursive_root(const std::vector<Digest> &leaves, uint64_t from, uint64_t n) {
    if (n == 1) {
        return leaves[from];
    }
    uint64_t k = depin_split(n);
    Digest l = recursive_root(leaves, from, k), r = recursive_root(leaves, from + k, n - k), out;
    depin_node_hash(l.w, r.w, out.w);
    return out;
}

// One group of the device's depin_group_reduce, sequentially: `count` digests reduced level
// by level (pairs hashed, a last odd node carried up) to one.
static Digest group_reduce(std::vector<Digest> level) {
    for (uint64_t c = level.size(); c > 1; c = depin_parent_count(c)) {
        std::vector<Digest> up(depin_parent_count(c));
        for (uint64_t i = 0; i < up.size(); i++) {
            if (depin_is_carried(c, i)) {
                up[i] = level[2 * i];
            } else {
                depin_node_hash(level[2 * i].w, level[2 * i + 1].w, up[i].w);
            }
        }
        level.swap(up);
    }
    return level[0];
}

// The device's passes: groups of FANOUT consecutive nodes, each reduced to one.
static std::vector<Digest> fanout_pass(const std::vector<Digest> &in) {
    std::vector<Digest> out;
    for (uint64_t first = 0; first < in.size(); first += DEPIN_MERKLE_FANOUT) {
        uint64_t end = first + DEPIN_MERKLE_FANOUT < in.size() ? first + DEPIN_MERKLE_FANOUT : in.size();
        out.push_back(group_reduce(std::vector<Digest>(in.begin() + first, in.begin() + end)));
    }
    return out;
}

static void merkle(uint32_t leaf, const std::vector<uint8_t> &data) {
    uint64_t leaves = depin_leaf_count(data.size(), leaf);
    if (leaves == 0) {
        uint32_t h[8];
        sha256(nullptr, 0, h);
        printf("root %s\n", hex(h).c_str());
        return;
    }
    std::vector<Digest> level(leaves);
    for (uint64_t i = 0; i < leaves; i++) {
        uint64_t off = i * leaf;
        uint64_t len = data.size() - off < leaf ? data.size() - off : leaf;
        depin_leaf_hash(data.data() + off, len, level[i].w);
    }
    Digest expect = recursive_root(level, 0, leaves);
    while (level.size() > 1) {
        level = fanout_pass(level);
    }
    if (memcmp(expect.w, level[0].w, 32) != 0) {
        printf("error grouped root %s differs from recursive root %s\n", hex(level[0].w).c_str(),
               hex(expect.w).c_str());
        return;
    }
    printf("root %s\n", hex(level[0].w).c_str());
}

static void tiles(uint32_t m, uint32_t n) {
    uint32_t gx, gy;
    depin_sgemm_grid(m, n, &gx, &gy);
    std::vector<uint8_t> hits((size_t)m * n, 0);
    for (uint32_t by = 0; by < gy; by++) {
        for (uint32_t bx = 0; bx < gx; bx++) {
            for (uint32_t t = 0; t < DEPIN_SGEMM_THREADS; t++) {
                for (uint32_t i = 0; i < DEPIN_TM; i++) {
                    for (uint32_t j = 0; j < DEPIN_TN; j++) {
                        uint32_t r = depin_tile_row(by, t, i), c = depin_tile_col(bx, t, j);
                        if (r < m && c < n) {
                            hits[(size_t)r * n + c]++;
                        }
                    }
                }
            }
        }
    }
    for (size_t e = 0; e < hits.size(); e++) {
        if (hits[e] != 1) {
            printf("error C[%zu][%zu] written %d times\n", e / n, e % n, hits[e]);
            return;
        }
    }
    printf("ok %u %u\n", gx, gy);
}

static void reduce(const std::vector<uint8_t> &bytes) {
    uint64_t n = bytes.size() / 4;
    std::vector<float> x(n);
    memcpy(x.data(), bytes.data(), n * 4);
    uint64_t blocks = (n + DEPIN_REDUCE_BLOCK - 1) / DEPIN_REDUCE_BLOCK;
    double total = 0.0;
    for (uint64_t b = 0; b < blocks; b++) {
        double l[8];
        for (uint32_t lane = 0; lane < 8; lane++) {
            l[lane] = depin_reduce_lane(x.data(), n, b, lane);
        }
        total += depin_reduce_combine(l);
    }
    float f = (float)total;
    uint32_t bits;
    memcpy(&bits, &f, 4);
    printf("sum %08x\n", bits);
}

int main() {
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        char cmd[16], arg[4000];
        unsigned m, n;
        if (sscanf(line, "tiles %u %u", &m, &n) == 2) {
            tiles(m, n);
        } else if (sscanf(line, "merkle %u %3999s", &m, arg) == 2) {
            if (m == 0) {
                printf("error leaf size 0\n");
            } else {
                merkle(m, slurp(arg));
            }
        } else if (sscanf(line, "%15s %3999s", cmd, arg) == 2) {
            std::vector<uint8_t> d = slurp(arg);
            std::string c(cmd);
            if (c == "sha") {
                uint32_t h[8];
                sha256(d.data(), d.size(), h);
                printf("sha %s\n", hex(h).c_str());
            } else if (c == "leaf") {
                uint32_t h[8];
                depin_leaf_hash(d.data(), d.size(), h);
                printf("leaf %s\n", hex(h).c_str());
            } else if (c == "reduce") {
                reduce(d);
            } else {
                printf("error unknown command %s\n", cmd);
            }
        } else {
            printf("error cannot parse: %s", line);
        }
        fflush(stdout);
    }
    return 0;
}
