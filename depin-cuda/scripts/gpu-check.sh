#!/usr/bin/env bash
# depin GPU check: every CUDA test and benchmark in one run, one table, one JSON file.
#
#   depin-cuda/scripts/gpu-check.sh prepare   # here, with a JDK and Maven: builds
#                                             # depin-cuda/target/gpu-check (jlink runtime +
#                                             # lean class path, <= 48 MiB)
#   depin-cuda/scripts/gpu-check.sh [OUT]     # there, on the GPU machine (no JDK, no network):
#                                             # runs it; table on stdout, OUT/gpu-check.json
#
# With the device tool: carry "depin-cuda/target/gpu-check" and run
#   depin-cuda/scripts/gpu-check.sh "$OUT"
# It needs a CUDA 13 driver (>= 580) for the PTX fallback; the SASS covers sm_80..sm_90.
# Baselines (cuBLAS FP32 with TF32 off, a device-to-device copy) come from PyTorch on the
# same card in the same run (scripts/gpu-baselines.py).
set -euo pipefail
module="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$module/.." && pwd)"
bundle="$module/target/gpu-check"

if [[ "${1:-}" == "prepare" ]]; then
  cd "$root"
  mvn -B -o -q -pl depin-cuda -am package dependency:build-classpath -DskipTests -Dmaven.javadoc.skip=true \
    -Dmaven.source.skip=true -Dmdep.includeScope=test -Dmdep.outputFile=target/gpu-check-classpath.txt
  rm -rf "$bundle"
  mkdir -p "$bundle/lib"
  cp depin-cuda/target/depin-cuda-*[0-9T].jar "$bundle/lib/"
  (cd depin-cuda/target/test-classes && jar cf "$bundle/lib/depin-cuda-gpu-tests.jar" .)
  { tr ':' '\n' < depin-cuda/target/gpu-check-classpath.txt; echo; } | while read -r jar; do
    case "$jar" in
      */classes|*/test-classes) ;;  # reactor folders: their jars are copied above or below
      *) [[ -f "$jar" ]] && cp "$jar" "$bundle/lib/" ;;
    esac
  done
  cp depin-core/target/depin-core-*-tests.jar depin-core/target/depin-core-*[0-9T].jar depin-crypto/target/depin-crypto-*[0-9T].jar "$bundle/lib/"
  rm -f "$bundle"/lib/*-sources.jar "$bundle"/lib/*-javadoc.jar
  # JCuda's natives jar also carries the PTX compiler (24 MB) and NVRTC, which the executor
  # never loads: keep the driver and runtime libraries only.
  natives="$(ls "$bundle"/lib/jcuda-natives-*.jar)"
  tmp="$(mktemp -d)"
  (cd "$tmp" && jar xf "$natives" && rm -f lib/libJNvPTXCompiler-* lib/libJNvrtc-* && jar cf "$natives" .)
  rm -rf "$tmp"
  # The modules the class path needs (jdeps also names java.desktop for Jackson's optional
  # java.beans support, 12 MiB the check never uses).
  modules="java.base,java.logging,java.sql,jdk.unsupported,jdk.crypto.ec"
  jlink --add-modules "$modules" --compress=2 --strip-debug --no-header-files --no-man-pages --output "$bundle/jre"
  # Packed, the runtime travels in 22 MB instead of 38; the run unpacks it into a temp folder.
  tar czf "$bundle/jre.tgz" -C "$bundle" jre
  rm -rf "$bundle/jre"
  cp "$module/scripts/gpu-baselines.py" "$bundle/"
  size=$(du -sm "$bundle" | cut -f1)
  echo "prepared $bundle: ${size} MiB (packed runtime $(du -sm "$bundle/jre.tgz" | cut -f1) MiB, class path $(du -sm "$bundle/lib" | cut -f1) MiB)"
  if (( size > 48 )); then echo "the bundle exceeds 48 MiB: trim the class path" >&2; exit 1; fi
  exit 0
fi

out="${1:-$PWD}"
mkdir -p "$out"
[[ -f "$bundle/jre.tgz" ]] || { echo "no prepared bundle in $bundle: run '$0 prepare' on a machine with a JDK" >&2; exit 2; }
runtime="$(mktemp -d "${TMPDIR:-/tmp}/depin-jre.XXXXXX")"
trap 'rm -rf "$runtime"' EXIT
tar xzf "$bundle/jre.tgz" -C "$runtime"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not available"
python3 "$bundle/gpu-baselines.py" "$out/baselines.json" || echo '{}' > "$out/baselines.json"
"$runtime/jre/bin/java" -Xmx8g -cp "$bundle/lib/*" dev.depin.cuda.GpuCheck "$out/baselines.json" "$out/gpu-check.json"
