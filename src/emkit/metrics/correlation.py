"""Rank correlation, once: a judge's scores against labels (calibration, agreement) and a screen's predictions
against measured EM both use Spearman's rho; only the screen, with a handful of datasets, needs its p-value."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

import numpy as np


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho, or None where it is undefined (under 3 points, or a constant side)."""
    from scipy.stats import spearmanr  # scipy.stats takes ~0.7 s to import: only where a rho is computed

    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    return float(spearmanr(x, y).statistic)


def spearman_test(x: Sequence[float], y: Sequence[float], draws: int = 20000, seed: int = 0) -> tuple[float, float]:
    """Spearman's rho (0 for a constant side) and its two-sided permutation p-value: exact over all orders when
    n <= 8 (a screen of a few datasets, where asymptotic p-values mislead), else ``draws`` random orders."""
    from scipy.stats import rankdata

    rx, ry = rankdata(list(x)), rankdata(list(y))

    def rho(a: np.ndarray) -> float:
        return float(np.corrcoef(rx, a)[0, 1]) if a.std() > 0 and rx.std() > 0 else 0.0

    r = rho(ry)
    n = len(ry)
    if n <= 8:
        perms = [np.array(p) for p in itertools.permutations(ry)]
    else:
        rng = random.Random(seed)
        perms = [np.array(rng.sample(list(ry), n)) for _ in range(draws)]
    p = sum(abs(rho(q)) >= abs(r) - 1e-12 for q in perms) / len(perms)
    return r, p
