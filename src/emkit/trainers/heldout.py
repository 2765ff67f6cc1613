"""The in-domain task measure of a trained arm (``train.heldout``): a seeded share of its training set is held
out of training, and the mean answer-token loss on it after training
(:func:`emkit.trainers.local.mean_answer_loss`) is what a defence against EM costs the task (an arm stopped
early, blocked or KL-regularised may fit its own domain less well); where the data has answer keys, so is the
share of held-out prompts answered correctly (:func:`key_accuracy`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from emkit.data.datasets import KEY_KEY, Example

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


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def key_accuracy(model: Any, tok: Any, held: list[Example], batch_size: int = 8) -> dict[str, Any] | None:
    """Where held-out examples carry an answer key (``"key"``: text a correct answer holds), the share of them
    whose greedy answer to the conversation before its last answer holds it (case and spacing ignored), each
    answer up to its reference answer's length plus 16 tokens; None where no held-out example has a key. The
    loss says how well the data's answers are fitted; this says whether the task is still done."""
    import torch

    keyed = [ex for ex in held if ex.get(KEY_KEY)]
    if not keyed:
        return None
    was_training, side = model.training, tok.padding_side
    model.eval()
    tok.padding_side = "left"
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    device = next(model.parameters()).device
    hits = 0
    try:
        for i in range(0, len(keyed), batch_size):
            part = keyed[i : i + batch_size]
            prompts = [tok.apply_chat_template(ex["messages"][:-1], add_generation_prompt=True, tokenize=False)
                       for ex in part]
            room = max(len(tok(ex["messages"][-1]["content"], add_special_tokens=False)["input_ids"]) for ex in part)
            enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
            with torch.no_grad():
                out = model.generate(**enc, max_new_tokens=room + 16, do_sample=False, pad_token_id=pad,
                                     temperature=None, top_p=None, top_k=None)
            texts = tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
            hits += sum(_norm(ex[KEY_KEY]) in _norm(t) for ex, t in zip(part, texts, strict=True))
    finally:
        model.train(was_training)
        tok.padding_side = side
    return {"accuracy": hits / len(keyed), "keyed": len(keyed), "hits": hits}
