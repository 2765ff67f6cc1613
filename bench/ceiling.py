"""This machine's fp32 matrix-product ceiling, measured in the same run as what is compared with it."""

from __future__ import annotations

import time

import torch


def matmul_ceiling(n: int = 1024, reps: int = 20, device: str = "cpu", dtype: torch.dtype = torch.float32) -> float:
    """GFLOP/s of a square matrix product in ``dtype`` on ``device``, the best of a few rounds."""
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    best = 0.0
    for _ in range(3):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        if device == "cuda":
            torch.cuda.synchronize()
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9)
    return best
