#!/usr/bin/env bash
# depin GPU check: every CUDA test and benchmark, and the whole verified job end to end, in
# one run, on a machine with an NVIDIA GPU and no JDK, Maven or network.
#
#   depin-cuda/scripts/gpu-check.sh prepare   # here, with a JDK 17 and Maven: builds the bundle
#                                             # depin-cuda/target/gpu-check (a jlink runtime and
#                                             # a lean class path, <= 56 MiB), then runs both
#                                             # programs from it on the CPU to prove it complete
#   depin-cuda/scripts/gpu-check.sh [OUT]     # there: runs it; tables on stdout, JSON and logs
#                                             # in OUT (default: the current folder)
#
# With the device tool: carry "depin-cuda/target/gpu-check" and run, from the repository root,
#   depin-cuda/scripts/gpu-check.sh "$OUT"
# It needs a CUDA 13 driver (>= 580) for the PTX fallback; the fatbin's SASS covers sm_80..sm_90.
# What it runs, each under its own time limit so that one hang cannot eat the others' time:
#   1. scripts/gpu-baselines.py: cuBLAS FP32 (TF32 off) and a device-to-device copy through
#      PyTorch, the same card, the same run (60 s);
#   2. dev.depin.cuda.GpuCheck: the CUDA test suites (counts found/passed/failed/skipped/
#      aborted), then the kernel table beside those baselines and the device trust work of a
#      verified SGEMM n = 8192 (210 s);
#   3. dev.depin.benchmarks.grpc.EndToEnd (depin-benchmarks): a DirectoryServer, a
#      ProviderServer on the CUDA executor and a buyer DepinClient on GrpcNetwork in one JVM
#      over loopback mTLS; SGEMM n = 1024/4096/8192 one job at a time with Freivalds (cold, inputs
#      held on the node) and with the inputs held and the output left on the node (nothing
#      back, spot-checked), a SAXPY batch and an SGEMM batch, and a chain of 10 SGEMM n = 4096
#      cold, kept and left on the node; the kernel/wall table, the phases, the bytes each way
#      and the process's CPU use (200 s; --settle-seconds 0: no uncounted rounds before the
#      measured jobs, to stay within the time, where 16 cores leave the JIT room; it prints the
#      JIT's share of the measured wall). Skipped, saying so, if the bundle was built without it.
# The exit status is 0 only if every step passed.
set -uo pipefail
module="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$module/.." && pwd)"
bundle="$module/target/gpu-check"
MAX_MIB=56
E2E_MAIN=dev.depin.benchmarks.grpc.EndToEnd
# The modules the class path needs, checked by the dry runs in 'prepare' (jdeps also names
# java.desktop, for Jackson's optional java.beans support, 12 MiB that nothing here uses).
MODULES="java.base,java.logging,java.management,jdk.management,java.naming,java.sql,jdk.crypto.ec,jdk.unsupported"

has_class() {  # has_class JAR CLASS: whether the jar holds the class (python3's zipfile: no unzip needed)
  python3 -c 'import sys, zipfile
sys.exit(0 if sys.argv[2].replace(".", "/") + ".class" in zipfile.ZipFile(sys.argv[1]).namelist() else 1)' "$1" "$2" \
    2>/dev/null
}

mvn_build() {
  # Offline first (no network on some machines, and it is faster); a fresh ~/.m2 lacks the
  # dependency plugin and some artifacts, so try once more online.
  local args=(-B -q -pl depin-cuda,depin-benchmarks -am package -DskipTests -Dmaven.javadoc.skip=true
    -Dmaven.source.skip=true)
  if ! mvn -o "${args[@]}"; then
    echo "offline build failed; trying online" >&2
    mvn "${args[@]}" || return 1
  fi
  local cp=(dependency:build-classpath -Dmdep.outputFile=target/gpu-check-classpath.txt)
  for m in depin-cuda depin-benchmarks; do
    local scope=runtime
    [[ "$m" == depin-cuda ]] && scope=test
    if ! mvn -o -B -q -pl "$m" "${cp[@]}" -Dmdep.includeScope="$scope"; then
      mvn -B -q -pl "$m" "${cp[@]}" -Dmdep.includeScope="$scope" || return 1
    fi
  done
}

if [[ "${1:-}" == "prepare" ]]; then
  set -e
  cd "$root"
  command -v jlink >/dev/null || { echo "jlink not found: prepare needs a JDK 17" >&2; exit 2; }
  mvn_build
  rm -rf "$bundle"
  mkdir -p "$bundle/lib"
  cp depin-cuda/target/depin-cuda-*[0-9T].jar "$bundle/lib/"
  (cd depin-cuda/target/test-classes && jar cf "$bundle/lib/depin-cuda-gpu-tests.jar" .)
  cp depin-benchmarks/target/depin-benchmarks-*[0-9T].jar "$bundle/lib/"
  { tr ':' '\n' < depin-cuda/target/gpu-check-classpath.txt; echo;
    tr ':' '\n' < depin-benchmarks/target/gpu-check-classpath.txt; echo; } | sort -u | while read -r jar; do
    case "$(basename "$jar")" in
      ""|classes|test-classes) ;;                       # reactor folders: their jars are copied below
      # The database and benchmark-harness jars the two programs never load, and what only they
      # pull in (embedded-postgres alone is 60 MB of PostgreSQL binaries).
      embedded-postgres-*|postgresql-*|sqlite-jdbc-*|jmh-*|jopt-simple-*|commons-math3-*|HdrHistogram-*) ;;
      commons-compress-*|commons-io-*|commons-lang3-*|commons-codec-*|xz-*) ;;
      # The Prometheus registry (only the JMH MetricsOverheadBenchmark and the CLI's /metrics use it)
      # and Google's common protos (com.google.rpc etc.: no depin class and no gRPC call path the
      # two programs take loads them; the dry run below runs both programs without them).
      micrometer-registry-prometheus-*|prometheus-metrics-*|proto-google-common-protos-*) ;;
      depin-*) ;;                                       # sibling modules: copied from target/ below
      *) [[ -f "$jar" ]] && cp "$jar" "$bundle/lib/" ;;
    esac
  done
  for m in depin-core depin-crypto depin-grpc; do
    cp "$m"/target/"$m"-*[0-9T].jar "$bundle/lib/"
  done
  cp depin-core/target/depin-core-*-tests.jar "$bundle/lib/"
  rm -f "$bundle"/lib/*-sources.jar "$bundle"/lib/*-javadoc.jar
  # JCuda's natives jar also carries the PTX compiler (24 MB) and NVRTC, which the executor
  # never loads: keep the driver and runtime libraries only.
  natives="$(ls "$bundle"/lib/jcuda-natives-*.jar)"
  tmp="$(mktemp -d)"
  (cd "$tmp" && jar xf "$natives" && rm -f lib/libJNvPTXCompiler-* lib/libJNvrtc-* && jar cf "$natives" .)
  rm -rf "$tmp"
  jlink --add-modules "$MODULES" --compress=2 --strip-debug --no-header-files --no-man-pages --output "$bundle/jre"
  cp "$module/scripts/gpu-baselines.py" "$bundle/"
  git -C "$root" rev-parse HEAD > "$bundle/COMMIT" 2>/dev/null || echo unknown > "$bundle/COMMIT"
  git -C "$root" status --porcelain | head -20 > "$bundle/UNCOMMITTED" 2>/dev/null || true
  # Dry runs with the bundle's own runtime and class path, on the CPU: a missing class or
  # module shows here, not on the GPU machine.
  dry="$(mktemp -d)"
  echo "dry run: GpuCheck without a GPU (the suites skip, saying why)"
  "$bundle/jre/bin/java" -Djava.io.tmpdir="$dry" -cp "$bundle/lib/*" dev.depin.cuda.GpuCheck /dev/null \
    "$dry/gpu-check.json" > "$dry/gpu-check.log" 2>&1 || { tail -40 "$dry/gpu-check.log"; exit 1; }
  grep -E "tests: found" "$dry/gpu-check.log"
  if has_class "$(ls "$bundle"/lib/depin-benchmarks-*.jar)" "$E2E_MAIN"; then
    echo "dry run: $E2E_MAIN on the CPU executor, tiny sizes"
    "$bundle/jre/bin/java" -Xmx2g -Djava.io.tmpdir="$dry" -cp "$bundle/lib/*" "$E2E_MAIN" --executor cpu \
      --sizes 64 --reps 1 --saxpy-jobs 4 --sgemm-batch-jobs 0 --chain-steps 2 --chain-size 64 --settle-seconds 1 \
      --json "$dry/end-to-end.json" \
      > "$dry/end-to-end.log" 2>&1 || { tail -40 "$dry/end-to-end.log"; exit 1; }
    tail -3 "$dry/end-to-end.log"
  else
    echo "NOTE: $E2E_MAIN is not in depin-benchmarks yet: the GPU run will skip the end-to-end step"
  fi
  rm -rf "$dry"
  # Packed, the runtime travels in about 23 MB instead of 40; the run unpacks it into a temp folder.
  tar czf "$bundle/jre.tgz" -C "$bundle" jre
  rm -rf "$bundle/jre"
  size=$(du -sm "$bundle" | cut -f1)
  echo "prepared $bundle: ${size} MiB (packed runtime $(du -sm "$bundle/jre.tgz" | cut -f1) MiB, class path" \
    "$(du -sm "$bundle/lib" | cut -f1) MiB, $(ls "$bundle/lib" | wc -l) jars), commit $(cat "$bundle/COMMIT")"
  if (( size > MAX_MIB )); then echo "the bundle exceeds $MAX_MIB MiB: trim the class path" >&2; exit 1; fi
  exit 0
fi

out="${1:-$PWD}"
mkdir -p "$out"
[[ -f "$bundle/jre.tgz" ]] || { echo "no prepared bundle in $bundle: run '$0 prepare' on a machine with a JDK" >&2; exit 2; }
runtime="$(mktemp -d "${TMPDIR:-/tmp}/depin-jre.XXXXXX")"
trap 'rm -rf "$runtime"' EXIT
tar xzf "$bundle/jre.tgz" -C "$runtime"
java="$runtime/jre/bin/java"
started=$(date +%s)
echo "depin GPU check, bundle commit $(cat "$bundle/COMMIT" 2>/dev/null || echo unknown)"
[[ -s "$bundle/UNCOMMITTED" ]] && { echo "built with uncommitted changes:"; cat "$bundle/UNCOMMITTED"; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null \
  || echo "nvidia-smi: not available"
echo "host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"

status=0
step() {  # step NAME SECONDS LOG command...
  local name="$1" secs="$2" log="$3"
  shift 3
  local t0=$(date +%s)
  echo
  echo "=== $name (limit ${secs} s)"
  timeout --kill-after=10 "$secs" "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  echo "=== $name: exit $rc after $(( $(date +%s) - t0 )) s$( (( rc == 124 || rc == 137 )) && echo ' (TIMED OUT)')"
  (( rc == 0 )) || status=1
}

step "baselines (PyTorch: cuBLAS, device copy)" 60 "$out/baselines.log" \
  python3 "$bundle/gpu-baselines.py" "$out/baselines.json"
[[ -s "$out/baselines.json" ]] || echo '{}' > "$out/baselines.json"
step "GpuCheck (tests, kernel table, trust work)" 210 "$out/gpu-check.log" \
  "$java" -Xmx8g -Djava.io.tmpdir="$runtime" -cp "$bundle/lib/*" dev.depin.cuda.GpuCheck \
  "$out/baselines.json" "$out/gpu-check.json"
if has_class "$(ls "$bundle"/lib/depin-benchmarks-*.jar 2>/dev/null | head -1)" "$E2E_MAIN"; then
  step "end to end over loopback mTLS ($E2E_MAIN)" 200 "$out/end-to-end.log" \
    "$java" -Xmx24g -Djava.io.tmpdir="$runtime" -cp "$bundle/lib/*" "$E2E_MAIN" --executor cuda \
    --sizes 1024,4096,8192 --chain-steps 10 --chain-size 4096 --settle-seconds 0 --json "$out/end-to-end.json"
else
  echo
  echo "=== end to end: SKIPPED ($E2E_MAIN is not in this bundle's depin-benchmarks)"
  status=1
fi
echo
echo "depin GPU check done in $(( $(date +%s) - started )) s, exit $status; JSON and logs in $out"
exit $status
