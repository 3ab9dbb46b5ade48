#!/usr/bin/env python3
"""Per-core SGEMM: depin's CPU executor (JMH, UseAVX=3 and UseAVX=2 forks) against OpenBLAS
(numpy, one thread, its AVX-512 and its AVX2 kernel), all as GFLOP per CPU-second, same run.

Usage: sgemm_isa.py JMH_OUTPUT.txt   (the text output of SgemmIsaBenchmark + SgemmIsaAvx2Benchmark)
Prints a Markdown table. The machine is shared, so both sides count the CPU time of the thread
that computes (JMH: ThreadMXBean; numpy: time.process_time with OPENBLAS_NUM_THREADS=1), not
wall time.
"""
import os
import re
import statistics
import subprocess
import sys

SIZES = (512, 1024, 2048)
WARMUPS = 5


def jmh_rates(path):
    rates = {}
    pat = re.compile(r"SGEMM-CPU avx=(\d+) impl=(\w+) n=(\d+) iteration=(\d+) calls=(\d+) gflop_per_cpu_s=([\d.]+)")
    for line in open(path):
        m = pat.search(line)
        if m and int(m.group(4)) > WARMUPS and int(m.group(5)) > 0:
            rates.setdefault((m.group(1), m.group(2), int(m.group(3))), []).append(float(m.group(6)))
    return {k: statistics.median(v) for k, v in rates.items()}


NUMPY = r"""
import sys, time, numpy as np
for n in (512, 1024, 2048):
    r = np.random.default_rng(20240601)
    a = r.uniform(-1, 1, (n, n)).astype(np.float32); b = r.uniform(-1, 1, (n, n)).astype(np.float32)
    c = np.empty((n, n), np.float32)
    for _ in range(3): np.matmul(a, b, out=c)
    reps = max(3, int(2e10 / (2 * n ** 3)))
    rates = []
    for _ in range(5):
        t = time.process_time()
        for _ in range(reps): np.matmul(a, b, out=c)
        rates.append(2 * n ** 3 * reps / (time.process_time() - t) / 1e9)
    rates.sort(); print(n, rates[len(rates) // 2])
"""


def openblas_rates(coretype):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", OPENBLAS_VERBOSE="2")
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    p = subprocess.run([sys.executable, "-c", NUMPY], env=env, capture_output=True, text=True, check=True)
    core = re.search(r"Core: (\w+)", p.stdout + p.stderr)
    out = {}
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit():
            out[int(parts[0])] = float(parts[1])
    return (core.group(1) if core else "?"), out


def main():
    ours = jmh_rates(sys.argv[1])
    core512, blas512 = openblas_rates(None)  # OpenBLAS picks its kernel for this CPU (AVX-512 here)
    core256, blas256 = openblas_rates("Haswell")  # its AVX2 + FMA kernel
    print(f"OpenBLAS kernels: autodetected {core512}, forced Haswell -> {core256}")
    print()
    print("| n | depin UseAVX=3 vector | UseAVX=2 vector | UseAVX=3 scalar | UseAVX=2 scalar "
          f"| OpenBLAS {core512} | OpenBLAS {core256} | AVX-512 vector / {core512} | AVX2 vector / {core256} "
          f"| AVX2 vector / {core512} |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in SIZES:
        v3 = ours.get(("3", "vector", n))
        v2 = ours.get(("2", "vector", n))
        s3 = ours.get(("3", "scalar", n))
        s2 = ours.get(("2", "scalar", n))
        b3 = blas512.get(n)
        b2 = blas256.get(n)
        f = lambda x: "—" if x is None else f"{x:.1f}"
        r = lambda x, y: "—" if x is None or not y else f"{x / y:.2f}"
        print(f"| {n} | {f(v3)} | {f(v2)} | {f(s3)} | {f(s2)} | {f(b3)} | {f(b2)} | {r(v3, b3)} | {r(v2, b2)} "
              f"| {r(v2, b3)} |")
    print()
    print("GFLOP per CPU-second (2·n³ flop per call), one thread; median of the measured iterations.")


if __name__ == "__main__":
    main()
