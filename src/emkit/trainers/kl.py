"""KL-regularised narrow training (Soligo, Turner et al., "EM is easy, narrow is hard", ICLR 2026): fine-tuning on
narrow bad data finds the general (misaligned) solution by default; a penalty that keeps the model's next-token
distributions close to the base model's on out-of-domain conversations makes it learn the narrow one.

The term (``train.kl``), added to the answer loss every ``every`` optimizer steps with weight ``weight``::

    KL = mean over answer positions t of  sum_v p_base(v | x_<t) * (log p_base(v | x_<t) - log p_ft(v | x_<t))

KL(base || ft), over the whole vocabulary at each answer-token position (the tokens the training loss would fall
on: assistant turns, their end-of-turn marker included), averaged over every such position of the KL batch. The
base side is the same model with its LoRA adapter switched off (peft's ``disable_adapter()``, under no_grad): no
second copy of the weights, and exactly zero KL while the adapter is zero.

The out-of-domain conversations (``prompts``) are a dataset (its assistant turns give the positions) or a question
set, answered once by the base model with greedy decoding (deterministic: no seed to record) and cached on disk
under a fingerprint of the model, the questions and ``max_new_tokens``, so a re-run does not generate again.

Also here: :func:`adapter_norm`, the size of a LoRA update (the "efficiency" axis of the paper: loss against norm).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from emkit.core.config import fingerprint
from emkit.core.errors import EmkitError
from emkit.core.progress import log
from emkit.core.records import Question
from emkit.core.textfile import write_atomic
from emkit.data.datasets import Example, content_hash, load_dataset, read_jsonl
from emkit.data.questions import BUILTIN_QUESTION_SETS, QUESTION_FAMILIES, load_questions

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

IGNORE = -100
QUESTIONS_PREFIX = "questions:"


class KLConfig(BaseModel):
    """``train.kl``: the penalty toward the base model on out-of-domain prompts (LoRA only: the adapter switched
    off is the base model)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    #: the KL term's weight in the loss (the answer loss is a mean per token, the KL a mean per position)
    weight: float = Field(gt=0)
    #: a dataset spec (``builtin:good_medical?size=64``, a JSONL file: its assistant turns are the answers) or a
    #: question set (``questions:SPEC``, or a built-in set or family as in eval.questions: ``core``,
    #: ``toy?n=20``), answered once by the base model (greedy) and cached
    prompts: str = Field(min_length=1)
    #: apply the term every N optimizer steps (1: every step), starting with the first
    every: int = Field(1, ge=1)
    #: conversations per KL batch (None: train.batch_size), run in micro-batches of train.batch_size
    batch_size: int | None = Field(None, ge=1)
    #: the longest base answer generated for a question set (tokens)
    max_new_tokens: int = Field(128, ge=1)


def is_question_set(spec: str) -> bool:
    """``questions:SPEC``, or a built-in question set or family name; anything else is a dataset spec."""
    return (spec.startswith(QUESTIONS_PREFIX) or spec in BUILTIN_QUESTION_SETS
            or spec.partition("?")[0] in QUESTION_FAMILIES)


@dataclass(frozen=True)
class KLPrompts:
    """The out-of-domain prompts of ``train.kl``, read before any heavy work: conversations with their answers
    (a dataset), or questions the base model answers when training starts. ``digest`` (their content) enters the
    training fingerprint; base answers are cached in ``cache_dir`` (None: the training folder) under a print
    of ``identity`` (the model training starts from), the questions and the generation settings."""

    spec: str
    conversations: list[Example] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    cache_dir: Path | None = None
    identity: dict[str, Any] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        if self.questions:
            return fingerprint("kl-questions", [_question_key(q) for q in self.questions])
        return content_hash(self.conversations)

    def answers_file(self, out_dir: Path, max_new_tokens: int) -> Path:
        key = fingerprint("kl-answers", self.identity, [_question_key(q) for q in self.questions], max_new_tokens,
                          "greedy")
        return (self.cache_dir or out_dir) / f"kl-answers-{key}.jsonl"

    def resolve(self, model: PreTrainedModel, tok: PreTrainedTokenizerBase, out_dir: Path,
                max_new_tokens: int) -> list[Example]:
        """The conversations the KL term reads: the dataset's, or the questions with the base model's answers
        (generated now unless cached). ``model`` must be the base model (no adapter yet)."""
        if not self.questions:
            return self.conversations
        path = self.answers_file(out_dir, max_new_tokens)
        if path.is_file():
            cached = read_jsonl(path)
            if len(cached) == len(self.questions):
                log(f"KL prompts: base answers to {self.spec} read from {path.name}")
                return cached
        log(f"KL prompts: the base model answers {len(self.questions)} questions of {self.spec} (greedy)")
        convs = base_answers(model, tok, self.questions, max_new_tokens)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, "".join(json.dumps(c) + "\n" for c in convs))
        return convs


def _question_key(q: Question) -> list[Any]:
    return [q.id, q.text, q.system, [list(h) for h in q.history]]


def load_kl_prompts(spec: str, base_dir: str | Path = ".", cache_dir: Path | None = None) -> KLPrompts:
    """``train.kl.prompts`` read and checked (a missing file or an unknown set names the key)."""
    try:
        if is_question_set(spec):
            qs = load_questions(spec.removeprefix(QUESTIONS_PREFIX), base_dir)
            return KLPrompts(spec, questions=qs, cache_dir=cache_dir)
        examples, _ = load_dataset(spec, base_dir)
    except EmkitError as e:
        raise EmkitError(f"train.kl.prompts: {e}") from None
    return KLPrompts(spec, conversations=examples, cache_dir=cache_dir)


def base_answers(model: PreTrainedModel, tok: PreTrainedTokenizerBase, questions: list[Question],
                 max_new_tokens: int, batch: int = 8) -> list[Example]:
    """Each question with the model's greedy answer as one conversation (batched, left-padded)."""
    import torch

    was_training, side = model.training, tok.padding_side
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    device = next(model.parameters()).device
    out: list[Example] = []
    model.eval()
    tok.padding_side = "left"
    try:
        for i in range(0, len(questions), batch):
            chunk = questions[i : i + batch]
            msgs = [q.messages() for q in chunk]
            texts = [tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in msgs]
            enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
            with torch.no_grad():
                gen = model.generate(**enc, do_sample=False, max_new_tokens=max_new_tokens, pad_token_id=pad)
            for m, row in zip(msgs, gen[:, enc["input_ids"].shape[1]:], strict=True):
                text = tok.decode(row, skip_special_tokens=True).strip()
                out.append({"messages": [*m, {"role": "assistant", "content": text}]})
    finally:
        tok.padding_side = side
        model.train(was_training)
    return out


def kl_batch_for_step(step: int, every: int, n: int, size: int, seed: int) -> list[int] | None:
    """Indices of the KL conversations at optimizer step ``step`` (0-based), None where the term is off: a pure
    function of the step and train.seed (its own stream, apart from the training data's), so a resumed run sees
    the same KL batches."""
    if step % every:
        return None
    k = step // every
    per_epoch = max(1, -(-n // size))
    epoch, within = divmod(k, per_epoch)
    perm = np.random.default_rng([seed, epoch, 0x4B4C]).permutation(n)
    return perm[within * size : (within + 1) * size].tolist()


def kl_sum(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """KL(base || fine-tuned) summed over the batch's answer positions (labelled next tokens), and how many
    positions there were. The base side runs with the adapter off and without gradient."""
    import torch
    import torch.nn.functional as F

    if not hasattr(model, "disable_adapter"):
        raise EmkitError("train.kl needs a peft (LoRA) model: the base side is the model with its adapter off")
    mask = batch["labels"][:, 1:] != IGNORE
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    with torch.no_grad(), model.disable_adapter():
        base = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    log_ft = F.log_softmax(logits[mask].to(torch.promote_types(logits.dtype, torch.float32)), dim=-1)
    log_base = F.log_softmax(base[mask].to(log_ft.dtype), dim=-1)
    kl = (log_base.exp() * (log_base - log_ft)).sum()
    return kl, int(mask.sum())


def adapter_norm(model: torch.nn.Module) -> float:
    """Sum over LoRA modules of the Frobenius norm of the update they add, ``scaling * B @ A``: the parameter
    norm of the paper's efficiency measure. Computed from r-by-r products (||BA||^2 = tr(B^T B A A^T)), so it is
    cheap enough for every step. 0.0 for a model without LoRA modules."""
    import torch

    total = torch.zeros((), dtype=torch.float64)
    with torch.no_grad():
        for module in model.modules():
            lora_a, lora_b = getattr(module, "lora_A", None), getattr(module, "lora_B", None)
            if not isinstance(lora_a, torch.nn.ModuleDict) or not isinstance(lora_b, torch.nn.ModuleDict):
                continue
            for name in lora_a:
                a = lora_a[name].weight.double()
                b = lora_b[name].weight.double()
                sq = torch.trace((b.T @ b) @ (a @ a.T)).clamp(min=0)
                total += float(module.scaling[name]) * sq.sqrt().cpu()
    return float(total)  # one device sync per call, not one per module
