"""Interventions on a model's residual stream: add a direction (steering), project it out (ablation), or the
same with a random direction of equal norm (the control that tells "adding anything this big" from this
direction). :mod:`emkit.analyses.interventions` samples and judges a run's arm under each."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import torch

from emkit.interp.directions import Direction, random_like
from emkit.interp.hooks import add_to_resid, project_out

if TYPE_CHECKING:
    from emkit.interp.sae import Sae


@dataclass(frozen=True)
class Intervention:
    """One condition: nothing, add ``scale * v`` (or a same-norm random vector) at layers, or project v out."""

    kind: Literal["none", "steer", "random", "ablate", "ablate_random", "lora_scale", "clamp"]
    layers: tuple[int, ...] = ()
    scale: float = 0.0  # for clamp: the value the latent is held at
    #: ablate with this one layer's vector at every layer (Soligo et al.), instead of each layer's own
    source_layer: int | None = None
    #: an SAE latent: clamp holds it at ``scale``; steer adds ``scale`` times its decoder column
    latent: int | None = None
    #: a control latent (matched in how often it fires), for the label
    control: bool = False

    @property
    def label(self) -> str:
        where = "all layers" if len(self.layers) > 3 else "L" + ",".join(map(str, self.layers))
        if self.kind == "none":
            return "none"
        if self.kind == "lora_scale":  # a weight edit, not a hook: the arm's adapter with B multiplied
            return f"LoRA B x{self.scale:g}"
        if self.latent is not None:
            who = f"{'control ' if self.control else ''}latent {self.latent}"
            return f"clamp {who} to {self.scale:g}" if self.kind == "clamp" else f"steer {who} x{self.scale:g}"
        if self.kind in ("ablate", "ablate_random"):
            src = f" (v from L{self.source_layer})" if self.source_layer is not None else ""
            return f"{self.kind.replace('_', ' ')} {where}{src}"
        return f"{self.kind} {where} x{self.scale:g}"


def steering_grid(layers: Sequence[int], scales: Sequence[float], random_control: bool = True
                  ) -> list[Intervention]:
    """The sweep: each scale with the direction and (if asked) with its random control; scale 0 once."""
    out = [Intervention("none")]
    for s in scales:
        if s == 0:
            continue
        out.append(Intervention("steer", tuple(layers), float(s)))
        if random_control:
            out.append(Intervention("random", tuple(layers), float(s)))
    return out


@contextmanager
def intervene(model: torch.nn.Module, iv: Intervention, direction: Direction, seed: int = 0,
              sae: Sae | None = None) -> Iterator[None]:
    """Apply one intervention to ``model`` for the duration of the block (``lora_scale`` is applied by loading
    a scaled adapter, see :func:`sweep`; here it is a no-op). Interventions on an SAE latent need the ``sae``."""
    if iv.kind in ("none", "lora_scale"):
        with nullcontext():
            yield
        return
    if iv.latent is not None:
        from emkit.interp.sae import clamp_latents

        if sae is None:
            raise ValueError(f"'{iv.label}' needs the SAE")
        if iv.kind == "clamp":
            with clamp_latents(model, sae, {iv.latent: iv.scale}):
                yield
            return
        with add_to_resid(model, sae.direction(iv.latent).as_dict(), iv.scale):
            yield
        return
    if iv.kind in ("ablate", "ablate_random"):
        if iv.source_layer is not None:
            v = direction.at(iv.source_layer)
            if iv.kind == "ablate_random":
                v = random_like(v, seed=seed * 1009 + iv.source_layer)
            vecs = {i: v for i in iv.layers}
        else:
            vecs = {i: direction.at(i) if iv.kind == "ablate" else random_like(direction.at(i), seed=seed * 1009 + i)
                    for i in iv.layers}
        with project_out(model, vecs):
            yield
        return
    vecs = {i: direction.at(i) for i in iv.layers}
    if iv.kind == "random":
        vecs = {i: random_like(v, seed=seed * 1009 + i) for i, v in vecs.items()}
    with add_to_resid(model, vecs, iv.scale):
        yield
