"""The in-domain task measure of a trained arm (``train.heldout``): a seeded share of its training set is held
out of training, and the mean answer-token loss on it after training
(:func:`emkit.trainers.local.mean_answer_loss`) is what a defence against EM costs the task (an arm stopped
early, blocked or KL-regularised may fit its own domain less well)."""

from __future__ import annotations

import math

import numpy as np

from emkit.data.datasets import Example

#: the held-out split's own stream: the same train.seed orders the training batches, which must not follow it
_SPLIT_STREAM = 7_001


def heldout_indices(n: int, share: float, seed: int) -> list[int]:
    """Indices (sorted) of the examples held out of an ``n``-example training set: ``ceil(share * n)`` of them,
    at least one and never all, drawn by ``seed``; the same arguments always give the same split."""
    if n < 2:
        raise ValueError(f"train.heldout needs at least 2 training examples (got {n})")
    k = min(n - 1, max(1, math.ceil(share * n)))
    return sorted(np.random.default_rng([seed, _SPLIT_STREAM]).permutation(n)[:k].tolist())


def split_heldout(examples: list[Example], share: float, seed: int) -> tuple[list[Example], list[Example]]:
    """(training examples, held-out examples), disjoint, each in the dataset's order."""
    held = set(heldout_indices(len(examples), share, seed))
    return ([ex for i, ex in enumerate(examples) if i not in held],
            [ex for i, ex in enumerate(examples) if i in held])
