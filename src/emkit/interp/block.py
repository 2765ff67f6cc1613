"""Blocking while fine-tuning (BLOCK-EM): a penalty on moving along a direction, or on SAE latents firing more
than they did, or the direction's removal.

The penalty is ``weight * mean(ReLU(r(h) - r(h_base))^2)`` over answer tokens, blocked layers and read-outs,
where ``h`` is the residual stream of the model being trained and ``h_base`` that of the model before fine-tuning
on the same tokens (the adapter switched off for LoRA; a frozen copy for full fine-tuning). For a direction v the
read-out is ``r(h) = h.v``; for SAE latents it is each latent's ReLU'd encoder pre-activation (the activation
without TopK's selection, which has no gradient). It is zero while the model does not push a read-out above the
base's, and grows quadratically with the excess. Only increases are penalised: moving away is free.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import torch

from emkit.core.errors import EmkitError
from emkit.interp.directions import Direction
from emkit.interp.hooks import _unit, layer_indices, project_out, resid_post
from emkit.interp.sae import Sae
from emkit.trainers.local import IGNORE

Readout = Callable[[torch.Tensor], torch.Tensor]  # [..., d_model] -> [..., m], differentiable


class Blocker:
    """Built before training from a direction (or from SAE latents: :meth:`on_latents`); ``train`` enters
    :meth:`forward` around each micro-batch's forward pass and adds :meth:`penalty` to its loss."""

    def __init__(self, direction: Direction, layers: list[int] | None = None, mode: str = "penalty",
                 weight: float = 1.0):
        units = {i: _unit(direction.at(i)) for i in list(layers or direction.layers)}
        self._setup(units, {i: _along(u) for i, u in units.items()}, mode, weight)

    def _setup(self, units: dict[int, torch.Tensor], readouts: dict[int, Readout], mode: str, weight: float) -> None:
        self.units = units  # what project mode removes
        self.readouts = readouts  # what penalty mode reads
        self.mode = mode
        self.weight = weight
        self.reference: torch.nn.Module | None = None
        self._seen: dict[int, torch.Tensor] = {}

    @property
    def layers(self) -> list[int]:
        return list(self.readouts)

    @classmethod
    def on_latents(cls, sae: Sae, latents: list[int], weight: float = 1.0) -> Blocker:
        """Penalise ``latents`` of ``sae`` firing above the base model's level, at the SAE's layer: the same
        penalty with the latents' read-out in place of a projection (project mode has no meaning here)."""
        if sae.layer is None:
            raise EmkitError("this SAE does not record its layer, so its latents cannot be blocked")
        bad = [i for i in latents if not 0 <= i < sae.d_sae]
        if not latents or bad:
            raise EmkitError(f"latents to block must be in 0..{sae.d_sae - 1} (got {latents})")
        self = cls.__new__(cls)
        self._setup({}, {int(sae.layer): _latents(sae, latents)}, "penalty", weight)
        return self

    def attach(self, model: torch.nn.Module) -> None:
        """Check the layers fit; for full fine-tuning, keep a frozen copy of the model as the base."""
        layer_indices(model, self.layers)
        if self.mode == "penalty" and not hasattr(model, "disable_adapter"):
            self.reference = copy.deepcopy(model).eval().requires_grad_(False)

    @contextmanager
    def forward(self, model: torch.nn.Module) -> Iterator[None]:
        if self.mode == "project":
            with project_out(model, self.units, self.layers):
                yield
            return
        with resid_post(model, self.layers, grad=True) as seen:
            yield
        self._seen = dict(seen)

    def penalty(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """The penalty for the last forward pass (None in project mode)."""
        if self.mode == "project":
            return None
        h = self._seen
        self._seen = {}
        base = self.base_resid(model, batch)
        mask = batch["labels"] != IGNORE
        terms = []
        for i in self.layers:
            read = self.readouts[i]
            excess = torch.relu(read(h[i].float()) - read(base[i].float()))[mask]
            terms.append((excess ** 2).mean() if excess.numel() else excess.sum())
        return self.weight * torch.stack(terms).mean()

    @torch.no_grad()
    def base_resid(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict[int, torch.Tensor]:
        ref = self.reference if self.reference is not None else model
        off: Any = model.disable_adapter() if self.reference is None else nullcontext()
        with off, resid_post(ref, self.layers) as seen:
            ref(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        return dict(seen)


def _along(u: torch.Tensor) -> Readout:
    def read(h: torch.Tensor) -> torch.Tensor:
        return (h @ u.to(h.device, h.dtype))[..., None]
    return read


def _latents(sae: Sae, latents: list[int]) -> Readout:
    idx = torch.tensor(latents)
    w, b = sae.W_enc[idx].detach().float(), sae.b_enc[idx].detach().float()
    shift = sae.b_dec.detach().float() if sae.subtract_b_dec else torch.zeros(sae.W_enc.shape[1])

    def read(h: torch.Tensor) -> torch.Tensor:
        return torch.relu((h - shift.to(h.device)) @ w.T.to(h.device) + b.to(h.device))
    return read
