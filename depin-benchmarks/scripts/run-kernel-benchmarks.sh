#!/usr/bin/env bash
# Runs CpuKernelsBenchmark (JMH, JSON result) and then kernels_vs_numpy.py, which times numpy on
# the same problems and prints the comparison table (Markdown) for docs/benchmarks.md.
#
#   depin-benchmarks/scripts/run-kernel-benchmarks.sh            # build, JMH, numpy (~5 min)
#   SKIP_BUILD=1 depin-benchmarks/scripts/run-kernel-benchmarks.sh
#   JMH_ARGS="-wi 1 -i 2" depin-benchmarks/scripts/run-kernel-benchmarks.sh   # quicker, noisier
#
# Environment: THREADS (default 2, for our kernels and for OpenBLAS), JAR (default
# depin-benchmarks/target/benchmarks.jar), OUT_DIR (default depin-benchmarks/target/kernel-bench),
# JMH_ARGS (extra JMH options), PY_ARGS (extra options for kernels_vs_numpy.py, e.g. "--seconds 1").
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
THREADS="${THREADS:-2}"
OUT_DIR="${OUT_DIR:-depin-benchmarks/target/kernel-bench}"
JAR="${JAR:-depin-benchmarks/target/benchmarks.jar}"
mkdir -p "$OUT_DIR"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  mvn -B -q -o -pl depin-core,depin-benchmarks -am -DskipTests package
fi

load1() { cut -d' ' -f1 /proc/loadavg; }
# Cores kept busy by other processes over the next 3 s (from /proc/stat). The 1-minute load
# average lags and, right after JMH, still counts our own run; this does not.
busy_cores() {
  local a b
  a=($(head -1 /proc/stat)); sleep 3; b=($(head -1 /proc/stat))
  awk -v n="$(nproc)" -v u="$(( b[1]+b[2]+b[3]+b[6]+b[7]+b[8] - a[1]-a[2]-a[3]-a[6]-a[7]-a[8] ))" \
      -v i="$(( b[4]+b[5] - a[4]-a[5] ))" 'BEGIN { printf "%.2f", (u + i > 0) ? n * u / (u + i) : 0 }'
}
check_load() {
  local busy
  busy="$(busy_cores)"
  echo "before $1: uptime: $(uptime); cores busy with other work: $busy"
  if awk -v l="$(load1)" -v b="$busy" 'BEGIN { exit !(l > 1.5 && b > 0.3 || b > 0.5) }'; then
    echo "machine busy (load $(load1), $busy cores busy): waiting 60 s and trying once more"
    sleep 60
    busy="$(busy_cores)"
    echo "before $1 (retry): uptime: $(uptime); cores busy with other work: $busy"
    if awk -v b="$busy" 'BEGIN { exit !(b > 0.5) }'; then
      echo "WARNING: $busy cores still busy with other work; the figures below are likely depressed"
    fi
  fi
}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(java -version 2>&1 | head -1)"
check_load "JMH"
# shellcheck disable=SC2086
java -jar "$JAR" 'dev.depin.benchmarks.executor.CpuKernelsBenchmark' -p threads="$THREADS" \
  -rf json -rff "$OUT_DIR/jmh-cpu-kernels.json" ${JMH_ARGS:-} | tee "$OUT_DIR/jmh-cpu-kernels.txt"

check_load "numpy"
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be set on these machines and slow OpenBLAS down:
# unset them for this command only.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
  OPENBLAS_NUM_THREADS="$THREADS" OMP_NUM_THREADS="$THREADS" \
  python3 depin-benchmarks/scripts/kernels_vs_numpy.py \
  --jmh-json "$OUT_DIR/jmh-cpu-kernels.json" --threads "$THREADS" ${PY_ARGS:-} | tee "$OUT_DIR/table.md"
echo "uptime after: $(uptime)"
