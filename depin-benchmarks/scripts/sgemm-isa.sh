#!/usr/bin/env bash
# Per-core SGEMM on both x86 vector widths against OpenBLAS in the same run (~2 min):
# JMH SgemmIsaBenchmark (the JVM's default UseAVX, 3 on AVX-512 hosts) and SgemmIsaAvx2Benchmark
# (-XX:UseAVX=2), then numpy/OpenBLAS on one thread with its autodetected and its AVX2 kernel.
#
#   depin-benchmarks/scripts/sgemm-isa.sh              # build the JMH jar first
#   SKIP_BUILD=1 depin-benchmarks/scripts/sgemm-isa.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
OUT_DIR="${OUT_DIR:-depin-benchmarks/target/sgemm-isa}"
JAR="${JAR:-depin-benchmarks/target/benchmarks.jar}"
mkdir -p "$OUT_DIR"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  mvn -B -q -o -pl depin-core,depin-benchmarks -am -DskipTests package
fi
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(java -version 2>&1 | head -1)"
echo "avx-512 flags: $(grep -o 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "before: $(uptime)"
# shellcheck disable=SC2086
java -jar "$JAR" 'executor.SgemmIsa' ${JMH_ARGS:-} | tee "$OUT_DIR/jmh.txt"
echo "after JMH: $(uptime)"
python3 depin-benchmarks/scripts/sgemm_isa.py "$OUT_DIR/jmh.txt" | tee "$OUT_DIR/table.md"
echo "after numpy: $(uptime)"
