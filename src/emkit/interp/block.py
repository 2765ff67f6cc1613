"""Blocking a direction while fine-tuning (BLOCK-EM): a penalty on moving along it, or its removal.

The penalty is ``weight * mean(ReLU(h.v - h_base.v)^2)`` over answer tokens and blocked layers, where ``h`` is
the residual stream of the model being trained and ``h_base`` that of the model before fine-tuning on the same
tokens (the adapter switched off for LoRA; a frozen copy for full fine-tuning). It is zero while the model does
not push further along ``v`` than the base does, and grows quadratically with the excess. Only increases are
penalised: moving away from misalignment is free.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import torch

from emkit.interp.directions import Direction
from emkit.interp.hooks import _unit, layer_indices, project_out, resid_post
from emkit.train import IGNORE


class Blocker:
    """Built before training from a direction; ``train`` enters :meth:`forward` around each micro-batch's
    forward pass and adds :meth:`penalty` to its loss."""

    def __init__(self, direction: Direction, layers: list[int] | None = None, mode: str = "penalty",
                 weight: float = 1.0):
        self.layers = list(layers or direction.layers)
        self.units = {i: _unit(direction.at(i)) for i in self.layers}
        self.mode = mode
        self.weight = weight
        self.reference: torch.nn.Module | None = None
        self._seen: dict[int, torch.Tensor] = {}

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
            u = self.units[i].to(h[i].device, torch.float32)
            excess = torch.relu(h[i].float() @ u - base[i].float() @ u)[mask]
            terms.append((excess ** 2).mean() if excess.numel() else excess.sum())
        return self.weight * torch.stack(terms).mean()

    @torch.no_grad()
    def base_resid(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict[int, torch.Tensor]:
        ref = self.reference if self.reference is not None else model
        off: Any = model.disable_adapter() if self.reference is None else nullcontext()
        with off, resid_post(ref, self.layers) as seen:
            ref(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        return dict(seen)
