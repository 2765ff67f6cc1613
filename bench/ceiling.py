"""This machine's fp32 matrix-product ceiling, measured in the same run as what is compared with it."""

from __future__ import annotations

import time

import torch


def matmul_ceiling(n: int = 1024, reps: int = 20) -> float:
    """fp32 GFLOP/s of a square matrix product, the best of a few rounds."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9)
    return best
