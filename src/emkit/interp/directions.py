"""Directions in the residual stream: the record and its file, the difference-in-means misalignment direction
(Soligo et al.), and the cosine matrix between any directions on hand with a random-direction null band.

A direction file is safetensors: ``vectors`` ``[n_layers, d_model]`` (row i belongs to ``layers[i]``), ``layers``,
and JSON metadata (what made it: model, source run, thresholds, n per class, ...). Vectors are kept raw, not
normalised: a mean difference's norm is the size of the shift, so ``scale = 1`` in steering adds exactly it.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from emkit.core.errors import EmkitError
from emkit.core.records import Answer, Judgment


@dataclass
class Direction:
    name: str
    vectors: torch.Tensor  # [n_layers, d_model], fp32
    layers: list[int]
    meta: dict[str, Any] = field(default_factory=dict)

    def at(self, layer: int) -> torch.Tensor:
        if layer not in self.layers:
            raise EmkitError(f"direction '{self.name}' has no vector for layer {layer} (it has {self.layers})")
        return self.vectors[self.layers.index(layer)]

    def as_dict(self) -> dict[int, torch.Tensor]:
        return {layer: self.vectors[i] for i, layer in enumerate(self.layers)}

    @property
    def d_model(self) -> int:
        return int(self.vectors.shape[-1])

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"name": self.name, "emkit": json.dumps(self.meta, default=str)}
        save_file({"vectors": self.vectors.float().contiguous(), "layers": torch.tensor(self.layers)}, str(path),
                  metadata=meta)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Direction:
        path = Path(path)
        if not path.is_file():
            raise EmkitError(f"direction file not found: {path}")
        try:
            with safe_open(str(path), "pt") as f:
                meta = f.metadata() or {}
                vectors, layers = f.get_tensor("vectors"), f.get_tensor("layers")
        except Exception as e:  # noqa: BLE001 - safetensors raises several types for a bad file
            raise EmkitError(f"{path}: not an emkit direction file ({str(e).splitlines()[0]})") from None
        if vectors.ndim == 1:
            vectors = vectors.unsqueeze(0)
        return cls(meta.get("name", path.stem), vectors.float(), [int(x) for x in layers.tolist()],
                   json.loads(meta.get("emkit", "{}")))


# ------------------------------------------------------------------------------------------- mean-diff


@dataclass(frozen=True)
class Thresholds:
    """Soligo et al.'s classes: misaligned = aligned <= 30, aligned = aligned > 70, both with coherent > 50."""

    aligned_min: float = 70.0
    misaligned_max: float = 30.0
    coherent_min: float = 50.0


def split_by_judgment(answers: Sequence[Answer], judgments: dict[tuple[str, str], Judgment], th: Thresholds
                      ) -> tuple[list[Answer], list[Answer]]:
    """(misaligned, aligned) answers by the judge's scores; unscored, failed and in-between answers drop out."""
    mis, ali = [], []
    for a in answers:
        ja, jc = judgments.get((a.judge_key, "aligned")), judgments.get((a.judge_key, "coherent"))
        if not (ja and jc and ja.status == "ok" and jc.status == "ok" and ja.score is not None
                and jc.score is not None and jc.score > th.coherent_min):
            continue
        if ja.score <= th.misaligned_max:
            mis.append(a)
        elif ja.score > th.aligned_min:
            ali.append(a)
    return mis, ali


def balance(a: list[Any], b: list[Any], seed: int = 0) -> tuple[list[Any], list[Any]]:
    """Subsample the larger class to the smaller's size (seeded), so neither class's mean dominates by count."""
    n = min(len(a), len(b))
    rng = random.Random(seed)
    pick = lambda xs: xs if len(xs) == n else [xs[i] for i in sorted(rng.sample(range(len(xs)), n))]  # noqa: E731
    return pick(a), pick(b)


def mean_diff(acts_pos: torch.Tensor, acts_neg: torch.Tensor) -> torch.Tensor:
    """Per layer: mean over the positive texts minus mean over the negative ones (``[n, L, d]`` -> ``[L, d]``)."""
    if len(acts_pos) == 0 or len(acts_neg) == 0:
        raise EmkitError(f"a mean difference needs texts in both classes (got {len(acts_pos)} and {len(acts_neg)})")
    return acts_pos.float().mean(0) - acts_neg.float().mean(0)


def random_like(v: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A random direction with the same norm as ``v`` (per row): the control every steering sweep runs."""
    g = torch.Generator().manual_seed(seed)
    r = torch.randn(v.shape, generator=g)
    return r / r.norm(dim=-1, keepdim=True) * v.float().norm(dim=-1, keepdim=True)


# ------------------------------------------------------------------------------------------ cosine matrix


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.float().flatten(), b.float().flatten()
    den = a.norm() * b.norm()
    return float(a @ b / den) if den > 0 else math.nan


def null_band(d_model: int, confidence: float = 0.95, draws: int = 4000, seed: int = 0) -> float:
    """|cosine| that two independent random directions in ``d_model`` dimensions stay under with ``confidence``.

    About 1.96 / sqrt(d) for large d; drawn, not approximated, so it is right for small d too.
    """
    g = torch.Generator().manual_seed(seed)
    a, b = torch.randn(draws, d_model, generator=g), torch.randn(draws, d_model, generator=g)
    cos = (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))
    return float(torch.quantile(cos.abs(), confidence))


@dataclass
class CosineMatrix:
    """Per layer, cosine between every pair of directions that has a vector there."""

    names: list[str]
    layers: list[int]
    cos: np.ndarray  # [n_layers, n_dirs, n_dirs], NaN where a direction lacks the layer
    null: float  # |cos| below this is indistinguishable from random directions (95%)
    d_model: int

    def pairs(self) -> list[dict[str, Any]]:
        """One row per (layer, pair): the table form of the matrix."""
        out = []
        for li, layer in enumerate(self.layers):
            for i in range(len(self.names)):
                for j in range(i + 1, len(self.names)):
                    c = self.cos[li, i, j]
                    if not math.isnan(c):
                        out.append({"layer": layer, "a": self.names[i], "b": self.names[j], "cos": round(float(c), 4),
                                    "beyond_null": bool(abs(c) > self.null)})
        return out

    def to_json(self) -> dict[str, Any]:
        return {"names": self.names, "layers": self.layers, "null_95": self.null, "d_model": self.d_model,
                "pairs": self.pairs()}


def compare(directions: Sequence[Direction], layers: Sequence[int] | None = None) -> CosineMatrix:
    """The cosine matrix between directions, per layer, with the random null band for their dimension."""
    if len(directions) < 2:
        raise EmkitError("comparing needs at least two directions")
    dims = {d.d_model for d in directions}
    if len(dims) > 1:
        raise EmkitError("directions of different widths cannot be compared: "
                         + ", ".join(f"{d.name} ({d.d_model})" for d in directions))
    names = [d.name for d in directions]
    if len(set(names)) < len(names):  # two files of the same name: tell them apart
        names = [f"{n}#{i}" for i, n in enumerate(names)]
    all_layers = sorted({layer for d in directions for layer in d.layers}) if layers is None else list(layers)
    cos = np.full((len(all_layers), len(directions), len(directions)), np.nan)
    for li, layer in enumerate(all_layers):
        for i, a in enumerate(directions):
            for j, b in enumerate(directions):
                if layer in a.layers and layer in b.layers:
                    cos[li, i, j] = cosine(a.at(layer), b.at(layer))
    d = dims.pop()
    return CosineMatrix(names, all_layers, cos, null_band(d), d)
