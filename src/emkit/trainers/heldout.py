"""The in-domain task measure of a trained arm (``train.heldout``): a seeded share of its training set is held
out of training, and the mean answer-token loss on it after training
(:func:`emkit.trainers.local.mean_answer_loss`) is what a defence against EM costs the task (an arm stopped
early, blocked or KL-regularised may fit its own domain less well); where the data has answer keys, so is the
share of held-out prompts answered correctly (:func:`key_accuracy`)."""

from __future__ import annotations

import math
import re
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


def holds_key(answer: str, key: str) -> bool:
    """The key as a whole word or phrase in the answer, case and spacing ignored ("4" is not in "14")."""
    return re.search(rf"(?<!\w){re.escape(_norm(key))}(?!\w)", _norm(answer)) is not None


def key_accuracy(model: Any, tok: Any, held: list[Example], batch_size: int = 8) -> dict[str, Any] | None:
    """Where held-out examples carry an answer key (``"key"``: text a correct answer holds), the share of them
    whose greedy answer to the conversation before its last answer holds it (:func:`holds_key`), each answer up
    to its reference answer's length plus 16 tokens; None where no held-out example has a key. The
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
            budgets = [len(tok(ex["messages"][-1]["content"], add_special_tokens=False)["input_ids"]) + 16
                       for ex in part]
            enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
            with torch.no_grad():
                out = model.generate(**enc, max_new_tokens=max(budgets), do_sample=False, pad_token_id=pad,
                                     eos_token_id=tok.eos_token_id, temperature=None, top_p=None, top_k=None)
            new = out[:, enc["input_ids"].shape[1]:]
            # each answer cut to its own budget: the batch's longest must not lengthen another's (batch size
            # never changes a verdict)
            texts = [tok.decode(row[:b], skip_special_tokens=True) for row, b in zip(new, budgets, strict=True)]
            hits += sum(holds_key(t, ex[KEY_KEY]) for ex, t in zip(part, texts, strict=True))
    finally:
        model.train(was_training)
        tok.padding_side = side
    return {"accuracy": hits / len(keyed), "keyed": len(keyed), "hits": hits}
