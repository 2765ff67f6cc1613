"""The in-context direction: what k examples of a narrow dataset, read in context, do to the base model's
residual stream, with no weight change (Afonin et al. show EM from in-context examples alone).

The direction is the mean activation at the last prompt token (where the answer starts) when the questions
follow k examples of the narrow set, minus the same with k examples of its control twin (e.g. bad vs good
answers to the same questions), so context length and topic cancel and what remains is what the answers'
character adds. Shots are the first exchange of each example, drawn per question exactly as a ``shots``
variant draws them (:func:`emkit.data.questions.shot_order`), so the direction is read from the contexts a study
with the same dataset, k and seed samples, and k=2's shots are the first two of k=8's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emkit.core.errors import EmkitError
from emkit.core.records import Question
from emkit.data.datasets import Example, first_exchange, load_dataset
from emkit.data.questions import load_questions, with_shots
from emkit.interp.capture import Text, capture
from emkit.interp.directions import Direction, mean_diff
from emkit.samplers.prompts import prompt_length


def icl_prompt(shots: Sequence[Example], question: Question) -> tuple[tuple[str, str], ...]:
    """System prompt (if any), then the k examples as prior turns in order, then the question."""
    q = Question(question.id, question.text, question.system, tuple(first_exchange(ex) for ex in shots))
    return Text.asked(q).prompt


def icl_contexts(positive: Sequence[Example], negative: Sequence[Example], questions: Sequence[Question], k: int,
                 seed: int = 0) -> tuple[list[Text], list[Text]]:
    """Each question after k shots of ``positive``, and after the same indices of ``negative`` (twin datasets
    give twin contexts; both are cut to the shorter one's length). The shots are those a ``shots`` variant with
    the same dataset, k and seed puts before the question."""
    if k < 1:
        raise EmkitError("an in-context direction needs k >= 1")
    n = min(len(positive), len(negative))
    if k > n:
        raise EmkitError(f"k={k} in-context examples requested but the datasets have {n}")
    pos, neg = ([Text.asked(q) for q in with_shots(list(questions), [first_exchange(ex) for ex in examples[:n]],
                                                    k, seed)] for examples in (positive, negative))
    return pos, neg


def icl_direction(model: Any, tok: Any, positive: Sequence[Example], negative: Sequence[Example],
                  questions: Sequence[Question], k: int, seed: int = 0, batch_size: int = 16,
                  max_length: int | None = None, name: str = "icl") -> Direction:
    """Mean last-prompt-token activation after k ``positive`` shots minus after k ``negative`` shots, per layer."""
    limit = max_length or getattr(model.config, "max_position_embeddings", 2048)
    pos_texts, neg_texts = icl_contexts(positive, negative, questions, k, seed)
    for text in pos_texts + neg_texts:
        length = prompt_length(tok, text.messages)
        if length > limit:
            raise EmkitError(f"k={k} in-context examples make a {length}-token prompt, over the model's "
                             f"{limit}: use a smaller k")
    acts = capture(model, tok, pos_texts + neg_texts, batch_size=batch_size, max_length=limit,
                   desc=f"icl k={k}")
    vecs = mean_diff(acts[: len(pos_texts)], acts[len(pos_texts):])
    return Direction(name, vecs, list(range(vecs.shape[0])),
                     {"kind": "icl", "k": k, "n_questions": len(questions), "seed": seed,
                      "read_at": "last prompt token"})


def save_icl_direction(model: str, positive: str, negative: str, questions: str, k: int, seed: int,
                       out: Path) -> Direction:
    """``emkit directions icl``: the in-context direction of two dataset specs in a named model, saved to
    ``out`` with what it was read from."""
    from emkit.core.config import ModelConfig
    from emkit.models.load import load_model

    pos, _ = load_dataset(positive)
    neg, _ = load_dataset(negative)
    qs = load_questions(questions)
    lm = load_model(ModelConfig(name=model))
    d = icl_direction(lm.model, lm.tokenizer, pos, neg, qs, k, seed, name=f"icl:k{k}")
    d.meta.update(model=model, positive=positive, negative=negative, questions=questions)
    d.save(out)
    return d
