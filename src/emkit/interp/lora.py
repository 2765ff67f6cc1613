"""LoRA B vectors (Turner, Soligo & Nanda): read an adapter's A and B per module, map the modules that write
into the residual stream (``down_proj``, ``o_proj``) to residual directions, follow B across a run's checkpoints
(norm, cosine to its final value and to the previous checkpoints: the rotation that marks the phase transition,
PCA of the path), and write scaled or ablated copies of an adapter for causal checks.

For a rank-1 adapter the written direction is B itself. For rank r > 1 it is the top left singular vector of
``scaling * B @ A`` times its singular value. Either way its sign is only defined together with A's, so a
cosine with another direction is read up to sign.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file

from emkit.core.errors import EmkitError
from emkit.interp.directions import Direction, cosine
from emkit.models.load import LORA_KEY

#: modules whose output is added to the residual stream: their B vectors live there
RESIDUAL_WRITERS = ("down_proj", "o_proj", "c_proj", "dense_4h_to_h", "out_proj")
_LAYER = re.compile(r"\.(?:layers|h)\.(\d+)\.")


@dataclass
class LoraModule:
    name: str  # e.g. base_model.model.model.layers.3.mlp.down_proj
    A: torch.Tensor  # [r, in]
    B: torch.Tensor  # [out, r]
    scaling: float

    @property
    def layer(self) -> int | None:
        m = _LAYER.search(self.name)
        return int(m.group(1)) if m else None

    @property
    def kind(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    @property
    def delta(self) -> torch.Tensor:
        """The weight change this adapter makes: ``scaling * B @ A``, ``[out, in]`` like the base weight."""
        return self.scaling * self.B.float() @ self.A.float()

    def written_direction(self) -> torch.Tensor:
        """The output-space direction the module writes: B for rank 1, else the top singular direction."""
        if self.B.shape[1] == 1:
            return self.B[:, 0].float() * self.scaling * float(self.A.float().norm())
        u, s, _ = torch.linalg.svd(self.delta, full_matrices=False)
        return u[:, 0] * s[0]


def _scaling(config: dict[str, Any], module: str) -> float:
    r = config.get("rank_pattern", {}).get(module.rsplit(".", 1)[-1], config["r"])
    alpha = config.get("alpha_pattern", {}).get(module.rsplit(".", 1)[-1], config["lora_alpha"])
    return alpha / (r ** 0.5) if config.get("use_rslora") else alpha / r


def read_adapter(adapter_dir: str | Path) -> list[LoraModule]:
    """Every LoRA module of a peft adapter folder (``adapter_config.json`` + ``adapter_model.safetensors``)."""
    d = Path(adapter_dir)
    cfg_file, weights = d / "adapter_config.json", d / "adapter_model.safetensors"
    if not (cfg_file.is_file() and weights.is_file()):
        raise EmkitError(f"not a peft adapter folder: {d} (looked for adapter_config.json and "
                         "adapter_model.safetensors)")
    config = json.loads(cfg_file.read_text())
    parts: dict[str, dict[str, torch.Tensor]] = {}
    for key, t in load_file(weights).items():
        m = LORA_KEY.match(key)
        if m:
            parts.setdefault(m.group("module"), {})[m.group("ab")] = t
    mods = [LoraModule(name, p["A"], p["B"], _scaling(config, name)) for name, p in parts.items()
            if "A" in p and "B" in p]
    if not mods:
        raise EmkitError(f"{weights}: no lora_A/lora_B weights found")
    return sorted(mods, key=lambda m: (m.layer if m.layer is not None else -1, m.name))


def b_direction(adapter_dir: str | Path, name: str, kind: str = "down_proj", meta: dict[str, Any] | None = None
                ) -> Direction:
    """The residual-space directions an adapter's ``kind`` modules write, one per adapted layer."""
    if kind not in RESIDUAL_WRITERS:
        raise EmkitError(f"{kind} does not write into the residual stream; use one of {', '.join(RESIDUAL_WRITERS)}")
    mods = [m for m in read_adapter(adapter_dir) if m.kind == kind and m.layer is not None]
    if not mods:
        raise EmkitError(f"{adapter_dir}: no adapted {kind} modules")
    vecs = torch.stack([m.written_direction() for m in mods])
    return Direction(name, vecs, [int(m.layer) for m in mods if m.layer is not None],
                     {"kind": "lora_B", "module": kind, "adapter": str(adapter_dir),
                      "rank": int(mods[0].B.shape[1]), **(meta or {})})


# ------------------------------------------------------------------------------------------ trajectories


@dataclass
class Trajectory:
    """One module's written direction over a run's checkpoints."""

    module: str
    layer: int | None
    steps: list[int]
    norms: list[float]
    cos_final: list[float]  # cosine to the last checkpoint's vector
    cos_prev: list[float]  # cosine to the vector k checkpoints earlier (NaN for the first k)
    cos_next: list[float]  # cosine to the vector k checkpoints later (NaN for the last k)
    pca: list[list[float]]  # the path projected on its first two principal components
    pca_var: list[float]  # share of the path's variance on those components
    rotation_step: int | None = None  # the step where the direction turned most (min cos_prev)

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def checkpoint_adapters(train_dir: str | Path) -> list[tuple[int, Path]]:
    """(step, adapter folder) for every checkpoint a training run kept, in order."""
    out = []
    for p in sorted(Path(train_dir).glob("checkpoint-*")):
        state = p / "trainer_state.json"
        if state.is_file() and (p / "weights" / "adapter_model.safetensors").is_file():
            out.append((json.loads(state.read_text())["step"], p / "weights"))
    if not out:
        raise EmkitError(f"{train_dir}: no LoRA checkpoints (train.method must be lora; checkpoint_every sets "
                         "how many there are)")
    return out


def trajectories(train_dir: str | Path, kind: str = "down_proj", k: int = 1) -> list[Trajectory]:
    """Follow every ``kind`` module's written direction across the checkpoints of ``train_dir``."""
    ckpts = checkpoint_adapters(train_dir)
    per_step = [{m.name: m for m in read_adapter(d) if m.kind == kind} for _, d in ckpts]
    out = []
    for name in per_step[-1]:
        vecs = [mods[name].written_direction() for mods in per_step]
        final = vecs[-1]
        # an SVD's sign is arbitrary: orient each step's vector like the final one so the path is continuous
        vecs = [v if cosine(v, final) >= 0 or per_step[0][name].B.shape[1] == 1 else -v for v in vecs]
        cos_prev = [cosine(vecs[i], vecs[i - k]) if i >= k else float("nan") for i in range(len(vecs))]
        cos_next = [cosine(vecs[i], vecs[i + k]) if i + k < len(vecs) else float("nan") for i in range(len(vecs))]
        stack = torch.stack(vecs).numpy()
        centred = stack - stack.mean(0)
        u, s, _ = np.linalg.svd(centred, full_matrices=False)
        var = (s ** 2) / max(float((s ** 2).sum()), 1e-30)
        n_pc = min(2, len(s))
        valid = [(c, st) for c, st in zip(cos_prev, (s_ for s_, _ in ckpts), strict=True) if c == c]
        out.append(Trajectory(
            name, per_step[-1][name].layer, [s_ for s_, _ in ckpts], [float(v.norm()) for v in vecs],
            [cosine(v, final) for v in vecs], cos_prev, cos_next, (u[:, :n_pc] * s[:n_pc]).tolist(), var[:n_pc].tolist(),
            min(valid)[1] if valid else None))
    return out
