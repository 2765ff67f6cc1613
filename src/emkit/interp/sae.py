"""Sparse autoencoders on the residual stream: train a TopK SAE, load one from disk in either common layout, and
read a latent's decoder column as a :class:`~emkit.interp.directions.Direction`.

The SAE itself is EleutherAI's ``sparsify`` ``SparseCoder`` (TopK, AuxK loss for dead latents, unit-norm decoder;
the optional ``sae`` extra): emkit only streams activations into it and keeps the run resumable. Training reads
a model's layer output token by token (every token but each sequence's first, whose norm is an outlier), one
batch of texts at a time, stopping the forward pass at the layer, so memory stays flat however long the corpus.

Loaded SAEs are held in one form whatever their layout: sparsify's (``cfg.json`` + ``sae.safetensors``, encoder
as ``nn.Linear``) or SAE Lens's (``cfg.json`` + ``sae_weights.safetensors``, ``W_enc`` as [d_in, d_sae]; TopK,
ReLU or JumpReLU). SAE Lens itself is not used: it pins ``transformer-lens<4``, which conflicts with this stack,
so its layout is read here (a few lines of safetensors and JSON).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors.torch import load_file, save_file

from emkit.core.errors import EmkitError
from emkit.core.progress import bar, log
from emkit.interp.capture import Text, padded
from emkit.interp.directions import Direction
from emkit.interp.hooks import _hidden, _replace_hidden, decoder_layers

Activation = Literal["topk", "relu", "jumprelu"]


# ------------------------------------------------------------------------------------------- one form of SAE


@dataclass
class Sae:
    """An SAE's weights, whatever layout they came from. Rows of ``W_enc`` and ``W_dec`` are latents."""

    W_enc: torch.Tensor  # [d_sae, d_in]
    b_enc: torch.Tensor  # [d_sae]
    W_dec: torch.Tensor  # [d_sae, d_in]
    b_dec: torch.Tensor  # [d_in]
    activation: Activation = "topk"
    k: int | None = None
    threshold: torch.Tensor | None = None  # [d_sae], JumpReLU only
    subtract_b_dec: bool = True  # centre the input on b_dec before encoding (sparsify always; SAE Lens by cfg)
    meta: dict[str, Any] = field(default_factory=dict)  # model, layer, training figures, where it came from

    @property
    def d_in(self) -> int:
        return int(self.W_dec.shape[1])

    @property
    def d_sae(self) -> int:
        return int(self.W_dec.shape[0])

    @property
    def layer(self) -> int | None:
        return self.meta.get("layer")

    def digest(self) -> str:
        """What the SAE computes, hashed: fingerprints of cached work that used it (sweeps, blocked training)."""
        h = hashlib.sha256(str((self.layer, self.activation, self.k, self.subtract_b_dec)).encode())
        for t in (self.W_enc, self.b_enc, self.W_dec, self.b_dec, *(() if self.threshold is None else
                                                                     (self.threshold,))):
            h.update(t.float().contiguous().numpy().tobytes())
        return h.hexdigest()[:16]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent activations, dense: [n, d_sae]."""
        x = x.to(self.W_enc.dtype)
        pre = (x - self.b_dec if self.subtract_b_dec else x) @ self.W_enc.T + self.b_enc
        if self.activation == "jumprelu":
            assert self.threshold is not None
            return pre * (pre > self.threshold)
        acts = torch.relu(pre)
        if self.activation == "topk":
            top = acts.topk(int(self.k or 0), dim=-1)
            acts = torch.zeros_like(acts).scatter_(-1, top.indices, top.values)
        return acts

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return z @ self.W_dec + self.b_dec

    def direction(self, latent: int, name: str | None = None) -> Direction:
        """A latent's decoder column as a direction at the SAE's layer, for steering, ablation, projection,
        the monitor and blocking like any other."""
        if not 0 <= latent < self.d_sae:
            raise EmkitError(f"latent {latent} out of range: this SAE has {self.d_sae} latents")
        if self.layer is None:
            raise EmkitError("this SAE does not record its layer (meta 'layer'), so its latents have no place")
        return Direction(name or f"sae:L{self.layer}:{latent}", self.W_dec[latent].float().clone()[None],
                         [int(self.layer)], {"kind": "sae_latent", "sae_latent": latent,
                                              "sae": self.meta.get("source", "")})

    def save(self, path: str | Path, layout: Literal["sparsify", "sae-lens"] = "sparsify") -> Path:
        """Write in sparsify's layout (TopK only) or SAE Lens's, with emkit's record (``emkit.json``) beside."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if layout == "sparsify":
            if self.activation != "topk" or not self.subtract_b_dec:
                raise EmkitError("sparsify's layout holds TopK SAEs only; save this one with layout='sae-lens'")
            cfg = {"activation": "topk", "expansion_factor": max(1, self.d_sae // self.d_in),
                   "normalize_decoder": True, "num_latents": self.d_sae, "k": self.k, "multi_topk": False,
                   "skip_connection": False, "transcode": False, "d_in": self.d_in}
            save_file({"encoder.weight": self.W_enc.contiguous(), "encoder.bias": self.b_enc.contiguous(),
                       "W_dec": self.W_dec.contiguous(), "b_dec": self.b_dec.contiguous()},
                      str(path / "sae.safetensors"))
        else:
            cfg = {"architecture": self.activation, "d_in": self.d_in, "d_sae": self.d_sae,
                   "apply_b_dec_to_input": self.subtract_b_dec, "hook_name": self.meta.get("hookpoint", ""),
                   "activation_fn_kwargs": {"k": self.k} if self.activation == "topk" else {}}
            if self.activation == "topk":
                cfg["k"] = self.k
            tensors = {"W_enc": self.W_enc.T.contiguous(), "b_enc": self.b_enc.contiguous(),
                       "W_dec": self.W_dec.contiguous(), "b_dec": self.b_dec.contiguous()}
            if self.threshold is not None:
                tensors["threshold"] = self.threshold.contiguous()
            save_file(tensors, str(path / "sae_weights.safetensors"))
        (path / "cfg.json").write_text(json.dumps(cfg, indent=1) + "\n")
        (path / "emkit.json").write_text(json.dumps(self.meta, indent=1, default=str) + "\n")
        return path


def _read_json(path: Path) -> dict[str, Any]:
    """An SAE's JSON file (cfg.json, emkit.json) as a mapping; a damaged one is one error naming it."""
    try:
        got = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) else str(e).splitlines()[0]
        raise EmkitError(f"{path}: not a readable JSON file ({why}; truncated?)") from None
    if not isinstance(got, dict):
        raise EmkitError(f"{path}: expected a JSON object, got {type(got).__name__}")
    return got


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    """An SAE's tensors; a file cut short, or not safetensors at all, is one error naming it."""
    try:
        return load_file(str(path))
    except Exception as e:  # noqa: BLE001 - safetensors raises SafetensorError, OSError, ... for a bad file
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise EmkitError(f"{path}: truncated or not a safetensors file ({detail})") from None


def _from_sparsify(folder: Path) -> Sae:
    cfg = _read_json(folder / "cfg.json")
    w = _read_weights(folder / "sae.safetensors")
    if cfg.get("activation", "topk") != "topk" or cfg.get("transcode") or cfg.get("skip_connection"):
        raise EmkitError(f"{folder}: only plain TopK sparse autoencoders are supported (cfg.json has "
                         f"activation={cfg.get('activation')}, transcode={cfg.get('transcode')}, "
                         f"skip_connection={cfg.get('skip_connection')})")
    missing = {"encoder.weight", "encoder.bias", "W_dec", "b_dec"} - set(w)
    if missing:
        raise EmkitError(f"{folder / 'sae.safetensors'}: missing {sorted(missing)}")
    if not isinstance(cfg.get("k"), int):
        raise EmkitError(f"{folder / 'cfg.json'}: a sparsify SAE needs 'k', the active latents per token")
    return Sae(w["encoder.weight"].float(), w["encoder.bias"].float(), w["W_dec"].float(), w["b_dec"].float(),
               "topk", int(cfg["k"]))


def _from_sae_lens(folder: Path) -> Sae:
    cfg = _read_json(folder / "cfg.json")
    w = _read_weights(folder / "sae_weights.safetensors")
    kind = str(cfg.get("architecture") or cfg.get("activation_fn") or cfg.get("activation_fn_str") or "relu")
    kind = {"standard": "relu", "gated": "gated"}.get(kind, kind)
    k = cfg.get("k") or (cfg.get("activation_fn_kwargs") or {}).get("k")
    if kind not in ("topk", "relu", "jumprelu"):
        raise EmkitError(f"{folder / 'cfg.json'}: SAE architecture '{kind}' is not supported (topk, relu/standard, "
                         "jumprelu)")
    missing = {"W_enc", "b_enc", "W_dec", "b_dec"} - set(w) | ({"threshold"} - set(w) if kind == "jumprelu" else set())
    if missing:
        raise EmkitError(f"{folder / 'sae_weights.safetensors'}: missing {sorted(missing)}")
    if kind == "topk" and not k:
        raise EmkitError(f"{folder / 'cfg.json'}: a topk SAE needs 'k' (or activation_fn_kwargs.k)")
    return Sae(w["W_enc"].float().T.contiguous(), w["b_enc"].float(), w["W_dec"].float(), w["b_dec"].float(),
               kind, int(k) if k else None, w["threshold"].float() if kind == "jumprelu" else None,  # type: ignore[arg-type]
               bool(cfg.get("apply_b_dec_to_input", True)))


def load_sae(source: str | Path, hookpoint: str | None = None) -> Sae:
    """An SAE from a folder in sparsify's or SAE Lens's layout (or a folder of several, one per ``hookpoint``),
    or from a Hugging Face hub id (downloaded through the hub's own client; offline, a clear error)."""
    folder = Path(source)
    if not folder.exists():
        if str(source).count("/") != 1 or str(source).startswith((".", "/")):
            raise EmkitError(f"SAE not found: {source} (looked for a folder with cfg.json and sae.safetensors or "
                             "sae_weights.safetensors, or a hub id OWNER/NAME)")
        folder = _download(str(source), hookpoint)
        hookpoint = hookpoint if (folder / hookpoint if hookpoint else folder).is_dir() else None
    if hookpoint:
        if not (folder / hookpoint).is_dir():
            raise EmkitError(f"{folder}: no SAE for hookpoint '{hookpoint}' (has: {_hookpoints(folder)})")
        folder = folder / hookpoint
    if (folder / "cfg.json").is_file() and (folder / "sae.safetensors").is_file():
        sae = _from_sparsify(folder)
        layout = "sparsify"
    elif (folder / "cfg.json").is_file() and (folder / "sae_weights.safetensors").is_file():
        sae = _from_sae_lens(folder)
        layout = "sae-lens"
    else:
        found = _hookpoints(folder)
        raise EmkitError(f"{folder}: no SAE here (looked for cfg.json with sae.safetensors or sae_weights.safetensors)"
                         + (f"; it holds SAEs for hookpoints {found}: pass one" if found else ""))
    record = folder / "emkit.json"
    sae.meta = _read_json(record) if record.exists() else {}
    sae.meta.setdefault("layer", _layer_of(hookpoint or folder.name))
    sae.meta.update(source=str(source), layout=layout)
    return sae


def _hookpoints(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and (p / "cfg.json").is_file()) \
        if folder.is_dir() else []


def _layer_of(hookpoint: str) -> int | None:
    """The layer a hookpoint names ('layers.6', 'blocks.6.hook_resid_post', 'layer_6'), if it names one."""
    import re

    m = re.search(r"(?:layers?|blocks)[._](\d+)", hookpoint)
    return int(m.group(1)) if m else None


def _download(repo: str, hookpoint: str | None) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo, allow_patterns=[f"{hookpoint}/*"] if hookpoint else None))
    except Exception as e:  # noqa: BLE001 - the hub client raises many types (offline, not found, auth)
        raise EmkitError(f"could not fetch SAE '{repo}' from the Hugging Face hub ({type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else 'no detail'}); offline, give a local folder "
                         "in sparsify's (cfg.json + sae.safetensors) or SAE Lens's (cfg.json + "
                         "sae_weights.safetensors) layout") from None


# ------------------------------------------------------------------------------------------- interventions


def clamp_delta(h: torch.Tensor, sae: Sae, latents: dict[int, float]) -> torch.Tensor:
    """What holding each latent at its value adds to the residual ``h`` [..., d]: (value - its activation) times
    its decoder column, so the SAE's error term and every other latent are left as they were."""
    z = sae.encode(h.reshape(-1, h.shape[-1]).float())
    ids = torch.tensor(list(latents))
    target = torch.tensor(list(latents.values()), dtype=z.dtype)
    delta = (target - z[:, ids]) @ sae.W_dec[ids]
    return delta.reshape(h.shape).to(h.dtype)


@contextmanager
def clamp_latents(model: torch.nn.Module, sae: Sae, latents: dict[int, float]) -> Iterator[None]:
    """Hold SAE latents at fixed values (0 ablates them) in the output of the SAE's layer, at every position of
    every forward call (the new tokens under the KV cache included)."""
    if sae.layer is None:
        raise EmkitError("the SAE does not record its layer, so there is nowhere to clamp its latents")
    bad = [i for i in latents if not 0 <= i < sae.d_sae]
    if bad:
        raise EmkitError(f"latents {bad} out of range: this SAE has {sae.d_sae} latents")
    block = decoder_layers(model)[int(sae.layer)]

    def hook(_m: torch.nn.Module, _i: Any, out: Any) -> Any:
        h = _hidden(out)
        return _replace_hidden(out, h + clamp_delta(h, sae, latents))

    handle = block.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


# ------------------------------------------------------------------------------------------- activations


class _Stop(Exception):
    """Raised by the capture hook once the layer is read: the rest of the forward pass is not needed."""


def _layer_outputs(model: torch.nn.Module, tok: Any, texts: Sequence[Text], layer: int, texts_per_batch: int,
                   max_length: int, start: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Per batch of texts (from batch ``start``): the layer's output [b, seq, d] (fp32), the token mask and the
    answer mask [b, seq]. The forward pass stops at the layer."""
    blocks = decoder_layers(model)
    if not 0 <= layer < len(blocks):
        raise EmkitError(f"layer {layer} out of range: the model has {len(blocks)} decoder layers")
    device = next(model.parameters()).device
    seen: dict[str, torch.Tensor] = {}

    def hook(_m: torch.nn.Module, _i: Any, out: Any) -> None:
        seen["h"] = _hidden(out).detach()
        raise _Stop

    for b in range(start, math.ceil(len(texts) / texts_per_batch)):
        ids, mask, answer = (x.to(device) for x in
                             padded(tok, texts[b * texts_per_batch : (b + 1) * texts_per_batch], max_length))
        handle = blocks[layer].register_forward_hook(hook)
        try:
            with torch.no_grad():
                model(input_ids=ids, attention_mask=mask)
        except _Stop:
            pass
        finally:
            handle.remove()
        yield seen.pop("h").float(), mask.bool(), answer


def token_activations(model: torch.nn.Module, tok: Any, texts: Sequence[Text], layer: int, texts_per_batch: int = 8,
                      max_length: int = 256, start: int = 0) -> Iterator[torch.Tensor]:
    """The layer's output at every token of each text but the first (its norm is an outlier), one batch of texts
    at a time from batch ``start``: [tokens, d_model] fp32 per batch."""
    for h, mask, _ in _layer_outputs(model, tok, texts, layer, texts_per_batch, max_length, start):
        keep = mask.clone()
        keep[:, 0] = False
        yield h[keep]


@torch.no_grad()
def latent_means(model: torch.nn.Module, tok: Any, texts: Sequence[Text], sae: Sae, layer: int | None = None,
                 texts_per_batch: int = 8, max_length: int = 256) -> torch.Tensor:
    """Each latent's mean activation over each text's answer tokens: [texts, d_sae]."""
    layer = sae.layer if layer is None else layer
    if layer is None:
        raise EmkitError("the SAE does not record its layer: pass one")
    out = []
    with bar("SAE latents", len(texts)) as pbar:
        for h, _, answer in _layer_outputs(model, tok, texts, layer, texts_per_batch, max_length):
            for row, m in zip(h, answer, strict=True):
                out.append(sae.encode(row[m]).mean(0))
            pbar.advance(len(h))
    return torch.stack(out)


@torch.no_grad()
def latent_frequency(model: torch.nn.Module, tok: Any, texts: Sequence[Text], sae: Sae, texts_per_batch: int = 8,
                     max_length: int = 256) -> torch.Tensor:
    """The share of answer tokens on which each latent fires: [d_sae]."""
    if sae.layer is None:
        raise EmkitError("the SAE does not record its layer")
    fired, n = torch.zeros(sae.d_sae), 0
    for h, _, answer in _layer_outputs(model, tok, texts, int(sae.layer), texts_per_batch, max_length):
        z = sae.encode(h[answer])
        fired += (z > 0).float().sum(0)
        n += len(z)
    return fired / max(n, 1)


def matched_control(freq: torch.Tensor, latent: int, exclude: Sequence[int] = (), seed: int = 0) -> int:
    """A latent that fires about as often as ``latent`` (within 10% of its rate, else the nearest few), drawn
    with the seed: the control for a causal check, so that "any latent this active" is told apart."""
    gap = (freq - freq[latent]).abs()
    gap[[latent, *exclude]] = float("inf")
    near = (gap <= 0.1 * float(freq[latent]) + 1e-9).nonzero().flatten().tolist()
    if not near:
        near = gap.argsort()[:5].tolist()
    return int(random.Random(seed).choice(near))


# ------------------------------------------------------------------------------------------- training


@dataclass
class SaeTraining:
    """What to train: latents (``width``, or ``expansion`` × d_model), ``k`` active per token, on about
    ``tokens`` tokens. ``lr`` None takes sparsify's rule for Adam (2e-4 / sqrt(width / 2^14)). A latent is dead
    when it has not fired for ``dead_after`` tokens; the AuxK loss (weight ``auxk_alpha``) revives them."""

    k: int = 32
    expansion: int = 8
    width: int | None = None
    tokens: int = 200_000
    lr: float | None = None
    auxk_alpha: float = 1 / 32
    dead_after: int = 50_000
    checkpoint_every: int = 50
    seed: int = 0

    def latents(self, d_in: int) -> int:
        return self.width or self.expansion * d_in


def fit_sae(batches: Iterable[torch.Tensor], d_in: int, cfg: SaeTraining, out: str | Path,
            meta: dict[str, Any] | None = None, eval_batch: torch.Tensor | None = None,
            total_steps: int | None = None) -> Sae:
    """Train a TopK SAE on a stream of activation batches ([n, d_in] each) until ``cfg.tokens`` are read, with a
    checkpoint every ``cfg.checkpoint_every`` steps under ``out/checkpoint``; a re-run resumes from it (the caller
    skips the batches already read: :func:`resume_point`). The SAE is written to ``out`` (sparsify's layout) with
    its figures: fraction of variance explained (on ``eval_batch`` if given), mean L0, dead latents."""
    try:
        from sparsify import SparseCoder, SparseCoderConfig
    except ImportError:
        raise EmkitError("training SAEs needs EleutherAI's sparsify: pip install 'emkit[sae]' "
                         "(eai-sparsify)") from None
    out = Path(out)
    torch.manual_seed(cfg.seed)
    width = cfg.latents(d_in)
    sae = SparseCoder(d_in, SparseCoderConfig(k=cfg.k, num_latents=width))
    opt = torch.optim.Adam(sae.parameters(), lr=cfg.lr or 2e-4 / math.sqrt(width / 2**14))
    since_fired = torch.zeros(width, dtype=torch.long)
    state: dict[str, Any] = {"step": 0, "tokens": 0, "history": []}
    ckpt = out / "checkpoint"
    if (ckpt / "state.pt").is_file():
        saved = _read_checkpoint(ckpt / "state.pt")
        if saved["config"] != asdict(cfg) or saved["d_in"] != d_in:
            raise EmkitError(f"{ckpt}: a checkpoint of other settings ({saved['config']}); delete it to start over")
        sae.load_state_dict(saved["sae"])
        opt.load_state_dict(saved["opt"])
        since_fired, state = saved["since_fired"], saved["state"]
        torch.set_rng_state(saved["rng"])
        log(f"resuming SAE training at step {state['step']} ({state['tokens']} tokens read)")
    total = total_steps or 0
    with bar("train SAE", total or cfg.tokens, completed=state["step"] if total else state["tokens"]) as pbar:
        for x in batches:
            if state["tokens"] >= cfg.tokens:
                break
            if state["step"] == 0:  # centre the decoder bias on the data, as sparsify's trainer does
                with torch.no_grad():
                    sae.b_dec.copy_(x.mean(0))
            fwd = sae(x, dead_mask=since_fired > cfg.dead_after if cfg.auxk_alpha else None)
            loss = fwd.fvu + cfg.auxk_alpha * fwd.auxk_loss
            loss.backward()
            sae.remove_gradient_parallel_to_decoder_directions()
            opt.step()
            opt.zero_grad(set_to_none=True)
            sae.set_decoder_norm_to_unit_norm()
            since_fired += len(x)
            since_fired[fwd.latent_indices.flatten().unique()] = 0
            state["step"] += 1
            state["tokens"] += len(x)
            state["history"].append({"step": state["step"], "tokens": state["tokens"],
                                     "fve": round(1 - float(fwd.fvu.detach()), 5),
                                     "dead": round(float((since_fired > cfg.dead_after).float().mean()), 5)})
            pbar.advance(1 if total else len(x), info=f"FVE {1 - float(fwd.fvu.detach()):.3f}")
            if state["step"] % cfg.checkpoint_every == 0:
                _checkpoint(ckpt, sae, opt, since_fired, state, cfg, d_in)
    trained = Sae(sae.encoder.weight.detach().clone(), sae.encoder.bias.detach().clone(),
                  sae.W_dec.detach().clone(), sae.b_dec.detach().clone(), "topk", cfg.k)
    if not state["history"]:
        raise EmkitError("no activations to train the SAE on (empty corpus?)")
    with torch.no_grad():
        figures = _figures(trained, eval_batch) if eval_batch is not None else {}
    recent = state["history"][-20:]
    figures.setdefault("fve", round(sum(h["fve"] for h in recent) / len(recent), 4))
    figures.update(dead_fraction=round(float((since_fired > cfg.dead_after).float().mean()), 4),
                   steps=state["step"], tokens=state["tokens"], width=width, k=cfg.k)
    trained.meta = {**(meta or {}), "training": asdict(cfg), "figures": figures, "history": state["history"]}
    trained.save(out)
    shutil.rmtree(ckpt, ignore_errors=True)
    return trained


def _figures(sae: Sae, x: torch.Tensor) -> dict[str, float]:
    """Fraction of variance explained and mean L0 on held-out activations."""
    z = sae.encode(x)
    err = (sae.decode(z) - x).pow(2).sum()
    total = (x - x.mean(0)).pow(2).sum()
    return {"fve": round(1 - float(err / total), 4), "l0": round(float((z > 0).float().sum(-1).mean()), 2),
            "eval_tokens": len(x)}


def _checkpoint(ckpt: Path, sae: torch.nn.Module, opt: torch.optim.Optimizer, since_fired: torch.Tensor,
                state: dict[str, Any], cfg: SaeTraining, d_in: int) -> None:
    """Written to a temporary file and renamed, so a kill leaves the previous checkpoint whole."""
    ckpt.mkdir(parents=True, exist_ok=True)
    tmp = ckpt / "state.pt.tmp"
    torch.save({"sae": sae.state_dict(), "opt": opt.state_dict(), "since_fired": since_fired, "state": state,
                "rng": torch.get_rng_state(), "config": asdict(cfg), "d_in": d_in}, tmp)
    tmp.replace(ckpt / "state.pt")


def resume_point(out: str | Path) -> int:
    """How many batches a checkpoint under ``out`` has read (0 when there is none)."""
    p = Path(out) / "checkpoint" / "state.pt"
    return int(_read_checkpoint(p)["state"]["step"]) if p.is_file() else 0


def check_checkpoint(out: str | Path) -> None:
    """A cheap look at the checkpoint under ``out`` before a model loads to resume it: a folder in its place, or a
    file cut short or of other bytes (torch saves a zip archive), is one error naming it."""
    import zipfile

    p = Path(out) / "checkpoint" / "state.pt"
    if p.exists() and (not p.is_file() or not zipfile.is_zipfile(p)):
        what = "a folder" if p.is_dir() else f"{p.stat().st_size} bytes, not a torch archive"
        raise EmkitError(f"{p}: truncated or not an emkit SAE checkpoint ({what}); delete it to start over")


def _read_checkpoint(path: Path) -> dict[str, Any]:
    """A training checkpoint; one cut short (a kill while saving an older emkit's) is one error naming it."""
    try:
        saved = torch.load(path, weights_only=False)
    except Exception as e:  # noqa: BLE001 - torch.load raises many types for a damaged file
        raise EmkitError(f"{path}: truncated or not an emkit SAE checkpoint ({type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else 'no detail'}); delete it to start over") from None
    if not isinstance(saved, dict) or not {"sae", "opt", "state", "config", "d_in"} <= set(saved):
        raise EmkitError(f"{path}: not an emkit SAE checkpoint; delete it to start over")
    return saved


def train_sae(model: torch.nn.Module, tok: Any, texts: Sequence[Text], layer: int, cfg: SaeTraining,
              out: str | Path, texts_per_batch: int = 8, max_length: int = 256, eval_texts: int = 32,
              meta: dict[str, Any] | None = None) -> Sae:
    """Train a TopK SAE on a model's residual stream at ``layer`` over ``texts`` (shuffled with the seed; the
    last ``eval_texts`` are held out for the figures), cycling the corpus until ``cfg.tokens`` are read."""
    texts = list(texts)
    random.Random(cfg.seed).shuffle(texts)
    held, train = texts[-eval_texts:], texts[:-eval_texts] or texts
    if not train:
        raise EmkitError("no texts to train the SAE on")
    d_in = int(model.config.hidden_size)
    per_pass = math.ceil(len(train) / texts_per_batch)

    def stream(start: int) -> Iterator[torch.Tensor]:
        step = start
        while True:  # cycle the corpus: batch `step` is always the same batch, so a resume reads what it would have
            yield from token_activations(model, tok, train, layer, texts_per_batch, max_length, step % per_pass)
            step = (step // per_pass + 1) * per_pass

    eval_batch = torch.cat(list(token_activations(model, tok, held, layer, texts_per_batch, max_length)))
    info = {**(meta or {}), "layer": layer, "hookpoint": f"layers.{layer}", "texts": len(texts),
            "eval_texts": len(held), "max_length": max_length}
    return fit_sae(stream(resume_point(out)), d_in, cfg, out, info, eval_batch)
