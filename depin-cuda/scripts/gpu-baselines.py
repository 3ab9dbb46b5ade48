#!/usr/bin/env python3
"""Baselines for the GPU check, measured on the same card in the same run as depin's kernels:
cuBLAS FP32 SGEMM through torch.matmul with TF32 off (n = 4096, 8192), and the bandwidth of a
device-to-device copy (bytes read + bytes written per second). Writes them as flat JSON.
Without PyTorch or a GPU it writes {"error": ...} and exits 0, so the check still runs."""
import json
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "baselines.json"
result = {}
try:
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError("torch sees no CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    dev = torch.device("cuda")
    result["device"] = torch.cuda.get_device_name(0)
    result["torch"] = torch.__version__

    def best_ms(fn, runs=5):
        fn()
        torch.cuda.synchronize()
        best = float("inf")
        for _ in range(runs):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            fn()
            e.record()
            torch.cuda.synchronize()
            best = min(best, s.elapsed_time(e))
        return best

    for n in (4096, 8192):
        a = torch.rand(n, n, device=dev, dtype=torch.float32)
        b = torch.rand(n, n, device=dev, dtype=torch.float32)
        c = torch.empty(n, n, device=dev, dtype=torch.float32)
        ms = best_ms(lambda: torch.matmul(a, b, out=c), runs=3 if n == 8192 else 5)
        result["cublas_fp32_gflops_%d" % n] = 2.0 * n ** 3 / (ms * 1e6)
        del a, b, c
    n = 1 << 26  # floats, as the check's SAXPY and reduce-sum
    x = torch.rand(n, device=dev, dtype=torch.float32)
    y = torch.empty_like(x)
    ms = best_ms(lambda: y.copy_(x), runs=10)
    result["d2d_copy_gbs"] = 2.0 * 4 * n / (ms * 1e6)
except Exception as e:  # no torch, no GPU: the table says n/a
    result["error"] = repr(e)
with open(out, "w") as f:
    json.dump(result, f)
print("baselines:", json.dumps(result))
