#!/usr/bin/env bash
# Trust primitives against OpenSSL, in one run on one machine:
#   - openssl speed -bytes 65536 sha256, and openssl dgst -sha256 over a 256 MiB file;
#   - openssl speed ed25519;
#   - JMH: crypto.MerkleBenchmark (RFC 6962 root over 256 MiB vs plain MessageDigest),
#          crypto.Ed25519Benchmark (BouncyCastle lightweight vs JDK SunEC),
#          crypto.FreivaldsBenchmark (r = 2 vs recomputing the SGEMM, n = 1024/2048/4096);
# then prints the figures and the ratios against the goals (Markdown, for docs/benchmarks.md):
#   Merkle >= 0.8x openssl single-core SHA-256 per core used; Ed25519 >= 0.8x openssl;
#   Freivalds >= 100x cheaper than recomputing at n = 2048.
#
#   depin-benchmarks/scripts/crypto-baselines.sh               # build + everything (~5 min)
#   SKIP_BUILD=1 depin-benchmarks/scripts/crypto-baselines.sh
#   JMH_ARGS="-wi 1 -i 2" depin-benchmarks/scripts/crypto-baselines.sh   # quicker, noisier
#
# Environment: JAR (default depin-benchmarks/target/benchmarks.jar), OUT_DIR (default
# depin-benchmarks/target/crypto-bench), JMH_ARGS (extra JMH options), OPENSSL_SECONDS (default 3).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
OUT_DIR="${OUT_DIR:-depin-benchmarks/target/crypto-bench}"
JAR="${JAR:-depin-benchmarks/target/benchmarks.jar}"
SECS="${OPENSSL_SECONDS:-3}"
mkdir -p "$OUT_DIR"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  mvn -B -q -o -pl depin-core,depin-benchmarks -am -DskipTests package
fi

# Cores kept busy by other processes over the next 3 s (from /proc/stat).
busy_cores() {
  local a b
  a=($(head -1 /proc/stat)); sleep 3; b=($(head -1 /proc/stat))
  awk -v n="$(nproc)" -v u="$(( b[1]+b[2]+b[3]+b[6]+b[7]+b[8] - a[1]-a[2]-a[3]-a[6]-a[7]-a[8] ))" \
      -v i="$(( b[4]+b[5] - a[4]-a[5] ))" 'BEGIN { printf "%.2f", (u + i > 0) ? n * u / (u + i) : 0 }'
}
note_load() { echo "before $1: $(uptime | sed 's/.*load/load/'); cores busy with other work: $(busy_cores)" | tee -a "$OUT_DIR/load.txt"; }

: > "$OUT_DIR/load.txt"
MACHINE="$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(java -version 2>&1 | head -1); $(openssl version | cut -d' ' -f1-2)"
echo "machine: $MACHINE" | tee "$OUT_DIR/machine.txt"

note_load "openssl"
openssl speed -seconds "$SECS" -bytes 65536 sha256 2>/dev/null | tee "$OUT_DIR/openssl-sha256.txt" | tail -2
FILE="$OUT_DIR/random-256MiB.bin"
[[ -f "$FILE" ]] || head -c $((256 << 20)) /dev/urandom > "$FILE"
cat "$FILE" > /dev/null   # page cache
best_dgst=""
for _ in 1 2 3; do
  t0=$(date +%s%N); openssl dgst -sha256 "$FILE" > /dev/null; t1=$(date +%s%N)
  ms=$(( (t1 - t0) / 1000000 ))
  if [[ -z "$best_dgst" || $ms -lt $best_dgst ]]; then best_dgst=$ms; fi
done
echo "openssl dgst -sha256 256 MiB: best of 3 = $best_dgst ms" | tee "$OUT_DIR/openssl-dgst.txt"
openssl speed -seconds "$SECS" ed25519 2>/dev/null | tee "$OUT_DIR/openssl-ed25519.txt" | tail -2

for b in MerkleBenchmark Ed25519Benchmark FreivaldsBenchmark; do
  note_load "JMH $b"
  # shellcheck disable=SC2086
  java -jar "$JAR" "dev.depin.benchmarks.crypto.$b" -rf json -rff "$OUT_DIR/jmh-$b.json" ${JMH_ARGS:-} \
    > "$OUT_DIR/jmh-$b.txt" 2>&1
  grep -E '^(Benchmark|[A-Za-z0-9]+Benchmark\.)' "$OUT_DIR/jmh-$b.txt" || true
done
echo "after: $(uptime | sed 's/.*load/load/')" | tee -a "$OUT_DIR/load.txt"

python3 - "$OUT_DIR" "$best_dgst" "$(nproc)" <<'PY'
import json, re, sys, os
out, dgst_ms, cores = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
def jmh(name):
    with open(os.path.join(out, f"jmh-{name}.json")) as f:
        rows = json.load(f)
    res = {}
    for r in rows:
        key = r["benchmark"].rsplit(".", 1)[1]
        params = r.get("params", {})
        if "n" in params:
            key += f"[n={params['n']}]"
        if "leafBytes" in params:
            key += f"[leaf={params['leafBytes']}]"
        res[key] = (r["primaryMetric"]["score"], r["primaryMetric"]["scoreError"], r["primaryMetric"]["scoreUnit"])
    return res
sha_line = [l for l in open(os.path.join(out, "openssl-sha256.txt")) if l.startswith("sha256")][-1]
ossl_sha = float(sha_line.split()[1].rstrip("k")) * 1000 / 1e6           # MB/s (10^6 B/s)
ed = [l for l in open(os.path.join(out, "openssl-ed25519.txt")) if "Ed25519" in l][-1].split()
ossl_sign, ossl_verify = float(ed[-2]), float(ed[-1])
dgst_mbs = 268.435456 / (dgst_ms / 1000)
m, e, f = jmh("MerkleBenchmark"), jmh("Ed25519Benchmark"), jmh("FreivaldsBenchmark")
def mbs(ms): return 268.435456 / (ms / 1000)
par, one = mbs(m["merkleRootParallel[leaf=4096]"][0]), mbs(m["merkleRootOneThread[leaf=4096]"][0])
one64 = mbs(m["merkleRootOneThread[leaf=65536]"][0])
plain = mbs(m["sha256Plain[leaf=4096]"][0])
def ops(us): return 1e6 / us
bs, bv, js, jv = ops(e["bcSign"][0]), ops(e["bcVerify"][0]), ops(e["jdkSign"][0]), ops(e["jdkVerify"][0])
def ok(x, goal): return "yes" if x >= goal else "**no**"
print()
print("| what | ours | baseline (same run) | ratio | goal | met |")
print("|---|---|---|---|---|---|")
print(f"| Merkle root 256 MiB, 4 KiB leaves, 1 thread (streaming builder) | {one:.0f} MB/s | openssl speed sha256 64 KiB, 1 core: {ossl_sha:.0f} MB/s | {one/ossl_sha:.2f} | >= 0.8 | {ok(one/ossl_sha, 0.8)} |")
print(f"| Merkle root 256 MiB, {cores} threads (`Merkle.root`) | {par:.0f} MB/s | {cores} x openssl 1 core: {cores*ossl_sha:.0f} MB/s | {par/(cores*ossl_sha):.2f} | >= 0.8 | {ok(par/(cores*ossl_sha), 0.8)} |")
print(f"| plain JDK MessageDigest SHA-256, 1 thread | {plain:.0f} MB/s | openssl dgst -sha256 256 MiB file: {dgst_mbs:.0f} MB/s | {plain/dgst_mbs:.2f} | (reference) | |")
print(f"| Merkle 1 thread vs plain MessageDigest | {one:.0f} MB/s | {plain:.0f} MB/s | {one/plain:.2f} | (overhead of RFC 6962) | |")
print(f"| Merkle 1 thread, 4 KiB leaves vs 64 KiB leaves | {one:.0f} MB/s | {one64:.0f} MB/s | {one/one64:.2f} | (cost of the smaller leaves) | |")
print(f"| Ed25519 sign (BouncyCastle lightweight) | {bs:.0f} /s | openssl speed ed25519: {ossl_sign:.0f} /s | {bs/ossl_sign:.2f} | >= 0.8 | {ok(bs/ossl_sign, 0.8)} |")
print(f"| Ed25519 verify (BouncyCastle lightweight) | {bv:.0f} /s | openssl: {ossl_verify:.0f} /s | {bv/ossl_verify:.2f} | >= 0.8 | {ok(bv/ossl_verify, 0.8)} |")
print(f"| Ed25519 sign / verify, JDK SunEC (for reference) | {js:.0f} / {jv:.0f} /s | BC: {bs:.0f} / {bv:.0f} /s | BC is {bs/js:.1f}x / {bv/jv:.1f}x faster | | |")
for n in (1024, 2048, 4096):
    fk, rk = f.get(f"freivalds2[n={n}]"), f.get(f"recomputeSgemm[n={n}]")
    if fk and rk:
        ratio = rk[0] / fk[0]
        goal = " >= 100 | " + ok(ratio, 100) if n == 2048 else " | "
        print(f"| Freivalds r=2, n={n} | {fk[0]:.2f} ms | recompute SGEMM ({2*n**3/rk[0]/1e6:.1f} GFLOP/s): {rk[0]:.1f} ms | {ratio:.0f}x cheaper |{goal} |")
PY
echo
echo "raw JMH output and JSON: $OUT_DIR"
rm -f "$FILE"
