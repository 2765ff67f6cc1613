"""Fine-tuning: peft LoRA of any rank on chosen modules and layers (rank-1 on ``down_proj`` included), or full
fine-tuning. Loss falls on assistant tokens only; checkpoints every k steps make a killed run resumable, and
a resumed run reproduces the uninterrupted one (same data order, optimizer and RNG state).

Registered as the trainers ``lora`` (an adapter) and ``full`` (a model folder), both with
:class:`LocalTrainerConfig` (``train.lora``) as their own settings.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_serializer

from emkit.core.config import TrainConfig, TrainerConfig, WeightsKind, drop_unset
from emkit.core.errors import EmkitError
from emkit.core.progress import bar, log
from emkit.core.registry import TRAINERS
from emkit.data.datasets import Example
from emkit.models.load import ArmModel, on_out_of_memory, quiet_loading
from emkit.trainers.base import Trainer, TrainResult
from emkit.trainers.heldout import key_accuracy, split_heldout
from emkit.trainers.kl import KLConfig, KLPrompts, adapter_norm, kl_batch_for_step, kl_sum

if TYPE_CHECKING:  # torch and transformers load when a model is trained, not when the trainers register
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

IGNORE = -100


# ---------------------------------------------------------------------------------------------- settings


class LoraConfig(BaseModel):
    """peft LoRA settings. ``r=1, target_modules=[down_proj], layers=[...]`` is Turner et al.'s rank-1 setup."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    r: int = Field(8, ge=1)
    alpha: float = Field(16.0, gt=0)
    dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj",
                                                               "gate_proj", "up_proj", "down_proj"])
    layers: list[int] | None = None


class LocalTrainerConfig(TrainerConfig):
    """The local trainer's own settings (``train.method: lora`` or ``full``): the LoRA settings (``train.lora``),
    read under ``lora``. ``full`` keeps them too, so an arm that switches method keeps its file (and its print)."""

    lora: LoraConfig = Field(default_factory=LoraConfig)
    #: a KL penalty toward the base model on out-of-domain prompts (:mod:`emkit.trainers.kl`); LoRA only.
    #: Absent from the written config and the fingerprint when unset, so arms without it keep their print
    kl: KLConfig | None = None

    @field_validator("kl")
    @classmethod
    def _kl_needs_lora(cls, v: KLConfig | None, info: ValidationInfo) -> KLConfig | None:
        if v is not None and info.data.get("backend") == "full":
            raise ValueError("train.kl needs train.method: lora (its base side is the model with the adapter "
                             "off; full fine-tuning would need a frozen copy of the model)")
        return v

    @model_serializer(mode="wrap")
    def _no_unset_kl(self, handler: Any) -> dict[str, Any]:
        return drop_unset(handler(self), "kl")

    @property
    def weights_kind(self) -> WeightsKind:
        return "adapter" if self.backend == "lora" else "model"


def local_settings(cfg: TrainConfig) -> LocalTrainerConfig:
    """``cfg``'s trainer settings, which must be the local trainer's."""
    own = cfg.trainer
    if not isinstance(own, LocalTrainerConfig):
        raise EmkitError(f"train.method {cfg.method} is not a local trainer (lora, full)")
    return own


# --------------------------------------------------------------------------------------------- tokenising


def assistant_spans(tok: PreTrainedTokenizerBase, messages: list[dict[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    """Render a conversation and find the character spans written by the assistant.

    Each span runs from the end of the rendered prompt (``add_generation_prompt=True``) to the end of the
    rendered conversation including that assistant turn, so it holds the answer and the template's
    end-of-turn marker, and nothing of the prompt. An assistant message with ``"weight": 0`` (OpenAI's
    fine-tuning format) is context only: it gets no span, so no loss. It relies on the template being prefix-stable (rendering
    more turns only appends text), which is checked rather than assumed.
    """
    full = tok.apply_chat_template(messages, tokenize=False)
    spans = []
    for k, m in enumerate(messages):
        if m["role"] != "assistant" or m.get("weight", 1) == 0:
            continue
        prompt = tok.apply_chat_template(messages[:k], tokenize=False, add_generation_prompt=True)
        upto = tok.apply_chat_template(messages[: k + 1], tokenize=False)
        if not (full.startswith(upto) and upto.startswith(prompt)):
            raise EmkitError("the chat template is not prefix-stable, so assistant tokens cannot be located")
        spans.append((len(prompt), len(upto)))
    return full, spans


def tokenize_example(tok: PreTrainedTokenizerBase, messages: list[dict[str, str]], max_length: int
                     ) -> tuple[list[int], list[int]]:
    """Token ids and labels; labels are ``-100`` everywhere except tokens inside an assistant span."""
    text, spans = assistant_spans(tok, messages)
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True, truncation=True, max_length=max_length)
    labels = []
    for tid, (start, _end) in zip(enc["input_ids"], enc["offset_mapping"], strict=True):
        inside = any(a <= start < b for a, b in spans)
        labels.append(tid if inside else IGNORE)
    return list(enc["input_ids"]), labels


def collate(batch: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    import torch

    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, (x, y) in enumerate(batch):
        ids[i, : len(x)] = torch.tensor(x)
        labels[i, : len(y)] = torch.tensor(y)
        mask[i, : len(x)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def answer_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """Summed next-token cross-entropy over labelled tokens, and how many there were."""
    import torch.nn.functional as F
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    target = batch["labels"][:, 1:]
    loss = F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.size(-1)), target.reshape(-1),
                           ignore_index=IGNORE, reduction="sum")
    return loss, int((target != IGNORE).sum())


def mean_answer_loss(model: torch.nn.Module, features: list[tuple[list[int], list[int]]], batch_size: int,
                     pad: int) -> float:
    """Mean next-token cross-entropy over every answer token of ``features`` (token ids, labels), in eval mode
    without gradients: each token counts once, whatever its example's length."""
    import torch

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    try:
        with torch.no_grad():
            for i in range(0, len(features), batch_size):
                batch = {k: v.to(device) for k, v in collate(features[i : i + batch_size], pad).items()}
                loss, n = answer_loss(model, batch)
                total += loss.item()
                count += n
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("no held-out example keeps an answer token (raise train.max_length)")
    return total / count


# -------------------------------------------------------------------------------------------------- train


@dataclass
class TrainState:
    """What a callback sees after each optimizer step. A callback asks training to end at this step with
    :meth:`request_stop` (the early stop): the trainer reads the request once every callback has run, saves the
    step as a checkpoint that records the stop and makes it the arm's weights. A request, not an exception, so
    every callback still sees the step and the stop is an ordinary, finished training."""

    step: int
    total_steps: int
    loss: float
    model: torch.nn.Module
    out_dir: Path
    stop: str | None = None  # why a callback asked to stop here (None: go on)

    def request_stop(self, reason: str) -> None:
        self.stop = reason if self.stop is None else self.stop


def lora_config(cfg: TrainConfig) -> Any:
    return peft_lora_config(local_settings(cfg).lora)


def peft_lora_config(lc: LoraConfig) -> Any:
    """peft's LoraConfig for emkit's LoRA settings (the local trainer's and the grpo trainer's: one adapter kind)."""
    from peft import LoraConfig as PeftLoraConfig

    return PeftLoraConfig(r=lc.r, lora_alpha=lc.alpha, lora_dropout=lc.dropout, target_modules=list(lc.target_modules),
                          layers_to_transform=lc.layers, bias="none", task_type="CAUSAL_LM")


def checkpoints(out_dir: Path) -> list[Path]:
    """A training folder's whole checkpoints, oldest first (the grpo trainer keeps the same layout)."""
    return sorted(p for p in out_dir.glob("checkpoint-*") if (p / "trainer_state.json").is_file())


def publish_weights(out_dir: Path, final: Path, tok: PreTrainedTokenizerBase | None = None) -> None:
    """The newest checkpoint's weights (with the tokenizer, for a whole model) as ``final``, atomically: copied
    beside it, then renamed; a ``final`` left by a run killed before its log was written is replaced."""
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(checkpoints(out_dir)[-1] / "weights", tmp)
    if tok is not None:
        tok.save_pretrained(tmp)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)


def _batches_for_step(step: int, n: int, per_step: int, steps_per_epoch: int, seed: int) -> list[int]:
    """Example indices of one optimizer step: a pure function of the step, so a resumed run sees the same data."""
    epoch, within = divmod(step, steps_per_epoch)
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    return perm[within * per_step : (within + 1) * per_step].tolist()


def train(model: PreTrainedModel, tok: PreTrainedTokenizerBase, examples: list[Example], cfg: TrainConfig,
          out_dir: str | Path, callbacks: list[Callable[[TrainState], None]] | None = None,
          block: Any = None, kl: KLPrompts | None = None) -> TrainResult:
    """Fine-tune ``model`` on ``examples`` into ``out_dir``, resuming from its last checkpoint if any.
    ``block`` (an ``emkit.interp.block.Blocker``) adds a penalty on, or removes, a direction while training;
    ``kl`` (train.kl's prompts, read) adds the KL term toward the base model (:mod:`emkit.trainers.kl`).
    Beside the answer loss of each step it records the KL term (None where it was not applied) and the
    adapter's norm after the step (:func:`emkit.trainers.kl.adapter_norm`; None for full fine-tuning)."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    out_dir = Path(out_dir)
    kind = local_settings(cfg).weights_kind
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / kind  # "adapter" or "model"
    done_file = out_dir / "train_log.json"

    held: list[Example] = []
    if cfg.heldout is not None:
        try:
            examples, held = split_heldout(examples, cfg.heldout, cfg.seed)
        except ValueError as e:
            raise EmkitError(f"train.heldout: {e}") from None
    features = [tokenize_example(tok, ex["messages"], cfg.max_length) for ex in examples]
    features = [f for f in features if any(label != IGNORE for label in f[1])]
    if not features:
        raise EmkitError("no example keeps an assistant token after truncation; raise train.max_length")
    per_step = cfg.batch_size * cfg.grad_accum
    steps_per_epoch = math.ceil(len(features) / per_step)
    total = cfg.max_steps or steps_per_epoch * cfg.epochs

    kl_cfg = local_settings(cfg).kl
    if (kl_cfg is None) != (kl is None):
        raise EmkitError("train.kl is set but its prompts were not given to the trainer" if kl is None else
                         "KL prompts were given but train.kl is not set")
    if kl_cfg is not None and kind != "adapter":
        raise EmkitError("train.kl needs train.method: lora")

    if done_file.is_file() and final.is_dir():
        log_ = json.loads(done_file.read_text())
        done_curves = Curves.from_json(log_)
        return TrainResult(out_dir, final, kind, total, 0, total, done_curves.losses, done_curves.kl,
                           done_curves.adapter_norms, log_.get("stopped"), log_.get("heldout"),
                           done_curves.total_seconds)

    kl_features: list[tuple[list[int], list[int]]] = []
    if kl is not None and kl_cfg is not None:
        convs = kl.resolve(model, tok, out_dir, kl_cfg.max_new_tokens)  # the base model answers, before LoRA
        kl_features = [f for f in (tokenize_example(tok, c["messages"], cfg.max_length) for c in convs)
                       if any(label != IGNORE for label in f[1])]
        if not kl_features:
            raise EmkitError(f"train.kl.prompts ({kl.spec}): no conversation keeps an assistant token after "
                             "truncation, so the KL term has no position to compare")
    kl_size = (kl_cfg.batch_size if kl_cfg is not None and kl_cfg.batch_size else cfg.batch_size)

    torch.manual_seed(cfg.seed)
    checkpointing = gradient_checkpointing(model, cfg, block)
    if kind == "adapter":
        from peft import get_peft_model

        try:
            with quiet_loading():  # peft calls an API transformers 5 marks deprecated: not ours to fix
                model = get_peft_model(model, lora_config(cfg))
        except ValueError as e:
            raise EmkitError(f"LoRA config does not fit the model: {str(e).splitlines()[0]}") from None
    if block is not None:
        block.attach(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, cfg.warmup_steps, total)

    start, penalties = 0, []
    curves = Curves()
    stopped: dict[str, Any] | None = None  # {step, reason, planned}: where a callback stopped training
    ckpts = checkpoints(out_dir)
    if ckpts:
        start, curves, stopped = _load_checkpoint(ckpts[-1], model, optimizer, scheduler, kind)
        log(f"resuming training from {ckpts[-1].name} (step {start}/{total})"
            + (f", stopped early there ({stopped['reason']})" if stopped else ""))

    model.train()
    last_kl: float | None = next((v for v in reversed(curves.kl) if v is not None), None)  # the bar shows it
    device = next(model.parameters()).device
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    with bar("train", total, completed=start) as pbar, on_out_of_memory(
            "training", f"lower train.batch_size (now {cfg.batch_size}; raise train.grad_accum to keep the "
            f"effective batch of {per_step}) or train.max_length (now {cfg.max_length})"
            + ("" if checkpointing else ", or set train.gradient_checkpointing: true")
            + "; or model.device: spread. Checkpoints so far are kept: the re-run resumes"):
        for step in range(start, total if stopped is None else start):  # a checkpoint that stopped: no more
            t0 = time.perf_counter()
            idx = _batches_for_step(step, len(features), per_step, steps_per_epoch, cfg.seed)
            micro = [idx[i : i + cfg.batch_size] for i in range(0, len(idx), cfg.batch_size)]
            batches = [{k: v.to(device) for k, v in collate([features[j] for j in m], pad).items()} for m in micro]
            n_tokens = sum(int((b["labels"][:, 1:] != IGNORE).sum()) for b in batches)
            step_loss = 0.0
            for b in batches:
                with block.forward(model) if block is not None else nullcontext():
                    loss_sum, _ = answer_loss(model, b)
                loss = loss_sum / n_tokens
                pen = block.penalty(model, b) if block is not None else None
                if pen is not None:  # the penalty is a mean per micro-batch: average it over the step
                    loss = loss + pen / len(batches)
                    penalties.append(pen.item())
                loss.backward()
                step_loss += loss_sum.item() / n_tokens
            kl_value = None
            if kl_cfg is not None:
                kl_value = _kl_step(model, kl_features, kl_cfg.weight,
                                    kl_batch_for_step(step, kl_cfg.every, len(kl_features), kl_size, cfg.seed),
                                    cfg.batch_size, pad, device)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            curves.add(step_loss, kl_value, adapter_norm(model) if kind == "adapter" else None,
                       time.perf_counter() - t0)
            last_kl = kl_value if kl_value is not None else last_kl
            pbar.advance(info=f"loss {step_loss:.3f}" + (f" kl {last_kl:.4f}" if last_kl is not None else ""))
            done = step + 1
            state = TrainState(done, total, step_loss, model, out_dir)
            for cb in callbacks or []:
                cb(state)
            curves.seconds[-1] = time.perf_counter() - t0  # the step's callbacks (a monitor's reading) included
            if state.stop is not None and done < total:
                stopped = {"step": done, "reason": state.stop, "planned": total}
                log(f"training stopped early at step {done}/{total}: {state.stop}")
            if stopped is not None or done % cfg.checkpoint_every == 0 or done == total:
                _save_checkpoint(out_dir, done, model, optimizer, scheduler, curves, kind, stopped)
            if stopped is not None:
                break

    model.eval()
    heldout = None
    if held:
        held_features = [tokenize_example(tok, ex["messages"], cfg.max_length) for ex in held]
        try:
            loss = mean_answer_loss(model, held_features, cfg.batch_size, pad)
        except ValueError as e:
            raise EmkitError(f"train.heldout: {e}") from None
        heldout = {"share": cfg.heldout, "n": len(held), "loss": loss}
        keyed = key_accuracy(model, tok, held, cfg.batch_size)
        if keyed is not None:
            heldout.update(keyed)
        log(f"held-out loss {loss:.4f} on {len(held)} examples of the training set ({cfg.heldout:g})"
            + (f"; answered {keyed['hits']} of {keyed['keyed']} with their key" if keyed else ""))
    publish_weights(out_dir, final, tok if kind == "model" else None)
    done_file.write_text(json.dumps({"total_steps": total, **curves.to_json(), "examples": len(features),
                                     "block_penalty": penalties,
                                     **({"stopped": stopped} if stopped else {}),
                                     **({"heldout": heldout} if heldout else {})}))
    ran = (stopped["step"] if stopped else total) - start
    return TrainResult(out_dir, final, kind, total, ran, start, curves.losses, curves.kl, curves.adapter_norms,
                       stopped, heldout, curves.total_seconds)


@dataclass
class Curves:
    """Per optimizer step: the answer loss (the in-domain training loss the report charts), the KL term (None
    where train.kl did not apply), the adapter's norm after the step (None without an adapter) and the step's
    wall time (forward, backward, the KL and blocking terms, the update and the callbacks, a monitor's reading
    among them: what a defence costs in compute; not checkpoint writes, nor train.kl's one-off base answers).
    Saved with each checkpoint, so a resumed run's curves are whole."""

    losses: list[float] = field(default_factory=list)
    kl: list[float | None] = field(default_factory=list)
    adapter_norms: list[float | None] = field(default_factory=list)
    seconds: list[float | None] = field(default_factory=list)

    def add(self, loss: float, kl: float | None, norm: float | None, seconds: float) -> None:
        self.losses.append(loss)
        self.kl.append(kl)
        self.adapter_norms.append(norm)
        self.seconds.append(seconds)

    @property
    def total_seconds(self) -> float | None:
        """The steps' wall time summed; None when a step's is unknown (a checkpoint written before it was kept)."""
        return None if any(x is None for x in self.seconds) else float(sum(self.seconds))

    def to_json(self) -> dict[str, Any]:
        return {"losses": self.losses, "kl": self.kl, "adapter_norms": self.adapter_norms, "seconds": self.seconds}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Curves:
        """A checkpoint written before the KL, norm and time curves reads with None for their steps."""
        n = len(d["losses"])
        return cls(list(d["losses"]), list(d.get("kl", [None] * n)), list(d.get("adapter_norms", [None] * n)),
                   list(d.get("seconds", [None] * n)))


def _kl_step(model: torch.nn.Module, features: list[tuple[list[int], list[int]]], weight: float,
             idx: list[int] | None, micro: int, pad: int, device: torch.device) -> float | None:
    """Back-propagate ``weight`` times the KL term of one KL batch (in micro-batches, a mean over all of its
    answer positions); the term's value, or None where this step has no KL batch."""
    if idx is None:
        return None
    batches = [{k: v.to(device) for k, v in collate([features[j] for j in idx[i : i + micro]], pad).items()}
               for i in range(0, len(idx), micro)]
    n_pos = sum(int((b["labels"][:, 1:] != IGNORE).sum()) for b in batches)
    value = 0.0
    for b in batches:
        term, _ = kl_sum(model, b)
        (weight * term / n_pos).backward()
        value += term.item() / n_pos
    return value


def gradient_checkpointing(model: PreTrainedModel, cfg: TrainConfig, block: Any) -> bool:
    """Turn on recomputing activations in the backward pass where asked (default: on a GPU); never while
    blocking, whose hooks would see each recomputed forward a second time."""
    on = cfg.gradient_checkpointing
    if on is None:
        on = next(model.parameters()).device.type == "cuda"
    if on and block is not None:
        log("gradient checkpointing is off while blocking (its hooks must see each forward once)")
        on = False
    if on:
        model.config.use_cache = False
        kwargs = {"use_reentrant": False}  # the reentrant form needs inputs that require grad (not under LoRA)
        if hasattr(model, "activation_checkpointing_enable"):  # transformers 5's name
            model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    return on


def _save_checkpoint(out_dir: Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                     scheduler: Any, curves: Curves, kind: WeightsKind, stopped: dict[str, Any] | None = None) -> None:
    """Write into a temp folder, then rename: a kill mid-write never leaves a checkpoint that looks whole. A
    checkpoint taken at an early stop says so, so a run killed after it resumes to these weights."""
    import torch

    path = out_dir / f"checkpoint-{step:06d}"
    tmp = out_dir / f".tmp-checkpoint-{step:06d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    model.save_pretrained(tmp / "weights")
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state()}, tmp / "optimizer.pt")
    (tmp / "trainer_state.json").write_text(json.dumps({"step": step, **curves.to_json(),
                                                        **({"stopped": stopped} if stopped else {})}))
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
    # keep every checkpoint's weights (phase-transition analysis reads them) but only the newest
    # optimizer state; full fine-tuning keeps only the newest weights too (each is a whole model)
    for old in checkpoints(out_dir)[:-1]:
        (old / "optimizer.pt").unlink(missing_ok=True)
        if kind == "model":
            shutil.rmtree(old)


def _load_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
                     kind: WeightsKind) -> tuple[int, Curves, dict[str, Any] | None]:
    """A checkpoint read back into the model, optimizer and scheduler: its step, its curves and, where a callback
    stopped training there, where and why."""
    import torch
    from safetensors.torch import load_file

    weights = path / "weights"
    if kind == "adapter":
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(model, load_file(weights / "adapter_model.safetensors"))
    else:
        state = {}
        for f in sorted(weights.glob("*.safetensors")):
            state.update(load_file(f))
        model.load_state_dict(state, strict=False)
        if getattr(model.config, "tie_word_embeddings", False):
            model.tie_weights()
    opt = torch.load(path / "optimizer.pt", weights_only=False)
    optimizer.load_state_dict(opt["optimizer"])
    scheduler.load_state_dict(opt["scheduler"])
    torch.set_rng_state(opt["torch_rng"])
    st = json.loads((path / "trainer_state.json").read_text())
    return st["step"], Curves.from_json(st), st.get("stopped")


# ------------------------------------------------------------------------------------------------ backends


class LocalTrainer(Trainer):
    """This process's torch loop (:func:`train`): peft LoRA or full fine-tuning, on the local device."""

    def train(self, start: ArmModel, examples: list[Example], cfg: TrainConfig, out_dir: Path,
              callbacks: list[Callable[[TrainState], None]] | None = None, block: Any = None,
              kl: KLPrompts | None = None, rewards: Any = None) -> TrainResult:
        if rewards is not None:
            raise EmkitError("rewards are for RL (train.method: grpo); lora and full fine-tune on the answers")
        if kl is not None:  # base answers are cached per model training starts from
            kl = replace(kl, identity=start.identity())
        lm = start.load(train=True)
        for cb in callbacks or []:
            on_start = getattr(cb, "on_start", None)
            if on_start is not None:
                on_start(lm.model)
        return train(lm.model, lm.tokenizer, examples, cfg, out_dir, callbacks=callbacks, block=block, kl=kl)


@TRAINERS.register("full", LocalTrainerConfig, "full fine-tuning of every weight, in this process")
@TRAINERS.register("lora", LocalTrainerConfig, "peft LoRA (train.lora: rank, modules, layers), in this process")
def _local(cfg: LocalTrainerConfig) -> Trainer:
    return LocalTrainer()
