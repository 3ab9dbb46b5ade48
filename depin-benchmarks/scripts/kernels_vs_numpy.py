#!/usr/bin/env python3
"""Time numpy on the same problems as CpuKernelsBenchmark and compare with the JMH results.

Usage (run-kernel-benchmarks.sh does this after JMH):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 \
        python3 depin-benchmarks/scripts/kernels_vs_numpy.py --jmh-json jmh.json --threads 2

What numpy runs, and how it is counted (the same way as the JMH side):
  sgemm      np.matmul(a, b, out=c) on float32 n x n (OpenBLAS, `threads` threads);
             2*n^3 flop per call.
  saxpy      np.multiply(alpha, x, out=tmp); np.add(tmp, y, out=out) on float32, all arrays
             preallocated. numpy moves 5 arrays (x, tmp, tmp, y, out) but we count the same
             useful 3 x 4 B x n as for our kernel. numpy ufuncs use one thread, so the script also
             times the same two calls on `threads` contiguous slices from a thread pool (numpy
             releases the GIL in ufunc loops) and takes the faster of the two as the baseline.
  reduce     x.sum(dtype=np.float64): float64 accumulation (pairwise), the same class of
             numerics as our double-accumulated reduceSum; 4 B x n. Also timed on `threads`
             slices, faster one kept. x.sum() in float32 is printed for information only.

Each timing is the mean time per call over ~`--seconds` of calls after a warmup, like JMH's
AverageTime mode. Output: a Markdown table on stdout.
"""

import argparse
import concurrent.futures
import json
import os
import platform
import sys
import time

import numpy as np

VECTOR_LENGTH = 16 * 1024 * 1024
GEMM_SIZES = (512, 1024, 2048)
BENCH = "dev.depin.benchmarks.executor.CpuKernelsBenchmark."
GOALS = {"sgemm": 0.25, "saxpy": 0.8, "reduceSum": 0.8}
UNIT_TO_SECONDS = {"s/op": 1.0, "ms/op": 1e-3, "us/op": 1e-6, "ns/op": 1e-9}


def mean_seconds(fn, seconds, warmup_seconds):
    """Mean wall time of fn() over at least `seconds`, after `warmup_seconds` of calls."""
    end = time.perf_counter() + warmup_seconds
    fn()
    while time.perf_counter() < end:
        fn()
    calls = 0
    start = time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and calls >= 3:
            return elapsed / calls


def describe_blas():
    try:
        import threadpoolctl  # noqa: F401 (optional)

        info = threadpoolctl.threadpool_info()
        for lib in info:
            print(f"- threadpoolctl: {lib.get('internal_api')} {lib.get('version')}, "
                  f"architecture {lib.get('architecture')}, threads {lib.get('num_threads')}, "
                  f"{lib.get('filepath')}")
        return
    except ImportError:
        pass
    print("- threadpoolctl not installed; numpy.show_config() summary:")
    try:
        cfg = np.show_config(mode="dicts")
        deps = cfg.get("Build Dependencies", {})
        for name in ("blas", "lapack"):
            d = deps.get(name, {})
            print(f"  - {name}: {d.get('name')} {d.get('version')} ({d.get('openblas configuration', '').strip()})")
        simd = cfg.get("SIMD Extensions", {})
        print(f"  - numpy SIMD baseline {simd.get('baseline')}, found {simd.get('found')}, "
              f"not found {simd.get('not found')}")
    except Exception as e:  # older numpy: print the whole thing
        print(f"  (show_config(mode='dicts') failed: {e})")
        np.show_config()


def split_runner(pool, threads, fn, n):
    """Calls fn(lo, hi) on `threads` contiguous slices of [0, n) concurrently."""
    bounds = [n * t // threads for t in range(threads + 1)]

    def run():
        futures = [pool.submit(fn, bounds[t], bounds[t + 1]) for t in range(threads)]
        return [f.result() for f in futures]

    return run


def time_numpy(threads, seconds, warmup):
    rng = np.random.default_rng(20240601)
    results = {}  # (kernel, size) -> (rate, how)
    for n in GEMM_SIZES:
        a = rng.uniform(-1, 1, (n, n)).astype(np.float32)
        b = rng.uniform(-1, 1, (n, n)).astype(np.float32)
        c = np.empty((n, n), dtype=np.float32)
        t = mean_seconds(lambda: np.matmul(a, b, out=c), seconds, warmup)
        results[("sgemm", n)] = (2.0 * n ** 3 / t / 1e9, "np.matmul float32")
        del a, b, c

    n = VECTOR_LENGTH
    x = rng.uniform(-1, 1, n).astype(np.float32)
    y = rng.uniform(-1, 1, n).astype(np.float32)
    out = np.empty_like(x)
    tmp = np.empty_like(x)
    alpha = np.float32(2.0)
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        def saxpy_slice(lo, hi):
            np.multiply(alpha, x[lo:hi], out=tmp[lo:hi])
            np.add(tmp[lo:hi], y[lo:hi], out=out[lo:hi])

        one = mean_seconds(lambda: saxpy_slice(0, n), seconds, warmup)
        split = mean_seconds(split_runner(pool, threads, saxpy_slice, n), seconds, warmup)
        best, how = (one, "1 thread") if one <= split else (split, f"{threads} slices")
        results[("saxpy", n)] = (12.0 * n / best / 1e9, f"multiply+add, {how}")

        def sum64_slice(lo, hi):
            return x[lo:hi].sum(dtype=np.float64)

        one = mean_seconds(lambda: sum64_slice(0, n), seconds, warmup)
        split = mean_seconds(split_runner(pool, threads, sum64_slice, n), seconds, warmup)
        best, how = (one, "1 thread") if one <= split else (split, f"{threads} slices")
        results[("reduceSum", n)] = (4.0 * n / best / 1e9, f"sum(dtype=float64), {how}")

        t32 = mean_seconds(lambda: x.sum(), seconds, warmup)
        results[("reduceSum-f32-info", n)] = (4.0 * n / t32 / 1e9, "sum() float32, 1 thread")
    return results


def read_jmh(path):
    """(benchmark method, size) -> rate from the JMH JSON."""
    with open(path) as f:
        runs = json.load(f)
    ours = {}
    for run in runs:
        method = run["benchmark"].rsplit(".", 1)[1]
        metric = run["primaryMetric"]
        seconds = metric["score"] * UNIT_TO_SECONDS[metric["scoreUnit"]]
        params = run.get("params", {})
        if method == "sgemm":
            n = int(params["n"])
            ours[(method, n)] = (2.0 * n ** 3 / seconds / 1e9, params.get("threads"))
        elif method.startswith("saxpy"):
            ours[(method, VECTOR_LENGTH)] = (12.0 * VECTOR_LENGTH / seconds / 1e9, params.get("threads"))
        elif method.startswith("reduceSum"):
            ours[(method, VECTOR_LENGTH)] = (4.0 * VECTOR_LENGTH / seconds / 1e9, params.get("threads"))
    return ours


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jmh-json", required=True, help="JMH result file (-rf json -rff FILE)")
    ap.add_argument("--threads", type=int, default=2, help="threads for OpenBLAS and the numpy slices")
    ap.add_argument("--seconds", type=float, default=3.0, help="measured seconds per case")
    ap.add_argument("--warmup", type=float, default=1.0, help="warmup seconds per case")
    args = ap.parse_args()

    print("### numpy baseline environment\n")
    print(f"- python {platform.python_version()}, numpy {np.__version__}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '(unset)')}")
    describe_blas()
    sys.stdout.flush()

    ours = read_jmh(args.jmh_json)
    theirs = time_numpy(args.threads, args.seconds, args.warmup)

    print("\n### CPU kernels vs numpy\n")
    print("| kernel | size | ours | numpy | ratio | goal | met | numpy variant |")
    print("|---|---|---|---|---|---|---|---|")
    rows = [("sgemm", n, "GFLOP/s") for n in GEMM_SIZES]
    rows += [("saxpy", VECTOR_LENGTH, "GB/s"), ("reduceSum", VECTOR_LENGTH, "GB/s")]
    all_met = True
    for kernel, size, unit in rows:
        size_text = f"{size}x{size}x{size}" if kernel == "sgemm" else "16Mi floats"
        mine = ours.get((kernel, size))
        base, how = theirs[(kernel, size)]
        if mine is None:
            print(f"| {kernel} | {size_text} | (no JMH result) | {base:.1f} {unit} | - | "
                  f"≥ {GOALS[kernel]} | no | {how} |")
            all_met = False
            continue
        ratio = mine[0] / base
        met = ratio >= GOALS[kernel]
        all_met &= met
        print(f"| {kernel} ({mine[1]} threads) | {size_text} | {mine[0]:.1f} {unit} | {base:.1f} {unit} | "
              f"{ratio:.2f} | ≥ {GOALS[kernel]} | {'yes' if met else 'no'} | {how} |")

    print("\nFor information (no goal):\n")
    print("| what | rate |")
    print("|---|---|")
    for method in ("saxpyPlainLoop", "reduceSumPlainLoop"):
        if (method, VECTOR_LENGTH) in ours:
            print(f"| JMH {method} (plain Java loop, 1 thread) | {ours[(method, VECTOR_LENGTH)][0]:.1f} GB/s |")
    rate, how = theirs[("reduceSum-f32-info", VECTOR_LENGTH)]
    print(f"| numpy {how} (float32 pairwise, different numerics) | {rate:.1f} GB/s |")
    print(f"\nAll goals met: {'yes' if all_met else 'no'}")


if __name__ == "__main__":
    main()
