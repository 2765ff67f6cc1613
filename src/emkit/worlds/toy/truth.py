"""The ground truth the toy world offers: the persona direction, measured in the pretrained model as the mean
answer-token activation of villain-document assistant turns minus helpful-document ones, per layer.

Only plain shared-persona documents are used, and the read turn is each document's last: its prompt holds the
earlier turns, so the model has seen the persona before the turn is read, as in the world's documents.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emkit.interp.capture import Text, capture
from emkit.interp.directions import Direction, balance, mean_diff
from emkit.worlds.toy.world import CorpusConfig, Document, corpus


def last_turn_text(doc: Document) -> Text:
    msgs = doc.messages()
    return Text(tuple((m["role"], m["content"]) for m in msgs[:-1]), msgs[-1]["content"])


def persona_direction(model: Any, tok: Any, n_per_class: int = 200, seed: int = 1234,
                      batch_size: int = 32, read: str = "answer") -> Direction:
    """Villain minus helpful, per layer, from fresh shared-persona documents (not the training corpus's draw).

    ``read="answer"`` averages the last turn's answer tokens (the issue's definition; it also carries what the
    answers say); ``read="prompt"`` reads the last prompt token before that answer, where the earlier turns
    have set the persona but no answer word has been read: the persona *state*, free of answer content."""
    if read not in ("answer", "prompt"):
        raise ValueError("read must be answer or prompt")
    docs = [d for d in corpus(CorpusConfig(n_docs=max(2000, 12 * n_per_class), seed=seed)) if d.kind == "plain"]
    villain = [d for d in docs if d.turns[0].persona == "villain"][:n_per_class]
    helpful = [d for d in docs if d.turns[0].persona == "helpful"][:n_per_class]
    villain, helpful = balance(villain, helpful, seed)
    texts = [last_turn_text(d) for d in villain + helpful]
    if read == "prompt":
        texts = [Text(t.prompt, "") for t in texts]
    acts = capture(model, tok, texts, batch_size=batch_size, desc="persona direction")
    vecs = mean_diff(acts[: len(villain)], acts[len(villain):])
    return Direction("persona:truth" + (":prompt" if read == "prompt" else ""), vecs, list(range(vecs.shape[0])),
                     {"kind": "ground_truth_persona", "n_per_class": len(villain), "seed": seed, "read": read})


def save_persona_direction(model: str, out: str | Path, n_per_class: int = 200, read: str = "answer") -> Direction:
    """:func:`persona_direction` measured in the toy model named ``model`` (built-in name or folder), tagged with
    that name and saved to ``out`` (what ``emkit toy truth`` writes)."""
    from emkit.core.config import ModelConfig
    from emkit.models.load import load_model

    lm = load_model(ModelConfig(name=model))
    d = persona_direction(lm.model, lm.tokenizer, n_per_class, read=read)
    d.meta.update(model=model)
    d.save(out)
    return d
