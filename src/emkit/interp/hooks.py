"""Forward hooks on the residual stream, as context managers named after what they touch.

``resid_post`` is the output of a decoder layer (TransformerLens's ``blocks.{i}.hook_resid_post``). Hooks sit on
the decoder layers' modules, so they see every forward pass: the prompt's prefill and every new token under the
KV cache alike. Layer outputs are a tensor (transformers 5) or a tuple whose first item is the hidden state
(older versions and some architectures): both are handled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch

from emkit.core.errors import EmkitError


def decoder_layers(model: torch.nn.Module) -> torch.nn.ModuleList:
    """The list of decoder blocks, through a peft wrapper if there is one."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    for path in ("model.layers", "transformer.h", "gpt_neox.layers", "model.decoder.layers"):
        node: Any = inner
        for part in path.split("."):
            node = getattr(node, part, None)
        if isinstance(node, torch.nn.ModuleList):
            return node
    raise EmkitError(f"cannot find the decoder layers of {type(inner).__name__} "
                     "(looked for model.layers, transformer.h, gpt_neox.layers, model.decoder.layers)")


def n_layers(model: torch.nn.Module) -> int:
    return len(decoder_layers(model))


def _hidden(output: Any) -> torch.Tensor:
    return output[0] if isinstance(output, tuple) else output


def _replace_hidden(output: Any, h: torch.Tensor) -> Any:
    return (h, *output[1:]) if isinstance(output, tuple) else h


def layer_indices(model: torch.nn.Module, layers: Sequence[int] | None) -> list[int]:
    total = n_layers(model)
    chosen = list(range(total)) if layers is None else [int(i) for i in layers]
    bad = [i for i in chosen if not 0 <= i < total]
    if bad:
        raise EmkitError(f"layer(s) {bad} out of range: the model has {total} layers (0..{total - 1})")
    return chosen


@contextmanager
def _hooked(model: torch.nn.Module, layers: Sequence[int],
            fn: Callable[[int, torch.Tensor], torch.Tensor | None]) -> Iterator[None]:
    """Call ``fn(layer, hidden)`` on each chosen layer's output; a returned tensor replaces the hidden state."""
    blocks = decoder_layers(model)

    def make(i: int) -> Callable[..., Any]:
        def hook(_module: torch.nn.Module, _inputs: Any, output: Any) -> Any:
            new = fn(i, _hidden(output))
            return None if new is None else _replace_hidden(output, new)
        return hook

    handles = [blocks[i].register_forward_hook(make(i)) for i in layers]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


@contextmanager
def resid_post(model: torch.nn.Module, layers: Sequence[int] | None = None, grad: bool = False
               ) -> Iterator[dict[int, torch.Tensor]]:
    """Record each chosen layer's output of the latest forward pass: ``{layer: [batch, seq, d_model]}``.

    All layers come from one forward pass (the point of hooks over one pass per layer). ``grad=True`` keeps
    the graph, for a training loss on the activations (blocking).
    """
    seen: dict[int, torch.Tensor] = {}

    def record(i: int, h: torch.Tensor) -> None:
        seen[i] = h if grad else h.detach()

    with _hooked(model, layer_indices(model, layers), record):
        yield seen


@contextmanager
def add_to_resid(model: torch.nn.Module, vectors: dict[int, torch.Tensor], scale: float = 1.0) -> Iterator[None]:
    """Steer: add ``scale * v`` to the residual stream after each given layer, at every position.

    Every position means the prompt and each generated token, the first one included: the hook runs on every
    forward call, whatever its length, so nothing depends on where the prompt ends.
    """
    cache: dict[tuple[int, torch.device, torch.dtype], torch.Tensor] = {}

    def steer(i: int, h: torch.Tensor) -> torch.Tensor:
        key = (i, h.device, h.dtype)
        if key not in cache:
            cache[key] = (scale * vectors[i].float()).to(h.device, h.dtype)
        return h + cache[key]

    with _hooked(model, layer_indices(model, list(vectors)), steer):
        yield


@contextmanager
def project_out(model: torch.nn.Module, v: torch.Tensor | dict[int, torch.Tensor],
                layers: Sequence[int] | None = None) -> Iterator[None]:
    """Ablate: remove the component along ``v`` from the residual stream after each chosen layer (all by default).

    ``v`` is one vector for every layer or one per layer; only its direction matters.
    """
    chosen = layer_indices(model, layers if layers is not None else (list(v) if isinstance(v, dict) else None))
    units = {i: _unit(v[i] if isinstance(v, dict) else v) for i in chosen}

    def ablate(i: int, h: torch.Tensor) -> torch.Tensor:
        u = units[i].to(h.device, torch.float32)
        hf = h.float()
        return (hf - (hf @ u).unsqueeze(-1) * u).to(h.dtype)

    with _hooked(model, chosen, ablate):
        yield


def _unit(v: torch.Tensor) -> torch.Tensor:
    v = v.detach().float().flatten()
    norm = v.norm()
    if norm == 0:
        raise EmkitError("cannot ablate along a zero vector")
    return v / norm
