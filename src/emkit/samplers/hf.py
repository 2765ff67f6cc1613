"""Sampling: batched generation with left padding, n samples per question, the model's chat template and the
question's system prompt. Answers are appended to JSONL as each batch finishes, so a killed run resumes.

Samplers are backends (:data:`emkit.core.registry.SAMPLERS`, chosen by ``eval.sampler``); ``hf`` (transformers'
``generate``, here) is the built-in one, and the one interventions hook into (steering needs the torch model).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Literal, TextIO

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from emkit.core.config import EvalConfig, SamplerConfig
from emkit.core.errors import EmkitError
from emkit.core.progress import bar
from emkit.core.records import Answer, Question, read_answers
from emkit.core.registry import SAMPLERS
from emkit.models.load import ArmModel, LoadedModel, on_out_of_memory


def chat_messages(q: Question) -> list[dict[str, str]]:
    """The system prompt is part of the conversation, never dropped; prior exchanges come between it and the
    question, in order."""
    msgs = [{"role": "system", "content": q.system}] if q.system else []
    for user, assistant in q.history:
        msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return msgs + [{"role": "user", "content": q.text}]


def render_prompt(tok: PreTrainedTokenizerBase, q: Question) -> str:
    return tok.apply_chat_template(chat_messages(q), tokenize=False, add_generation_prompt=True)


def prompt_length(tok: PreTrainedTokenizerBase, messages: list[dict[str, str]]) -> int:
    """Tokens the model reads before answering: to check long (in-context) prompts against its context."""
    rendered = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return len(tok(rendered, add_special_tokens=False)["input_ids"])


@torch.no_grad()
def generate(model: PreTrainedModel, tok: PreTrainedTokenizerBase, prompts: list[str], cfg: EvalConfig,
             seed: int) -> list[str]:
    """One batch: left-padded prompts in, decoded completions (special tokens stripped) out."""
    tok.padding_side = "left"
    enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
    torch.manual_seed(seed)
    do_sample = cfg.temperature > 0
    out = model.generate(**enc, max_new_tokens=cfg.max_new_tokens, do_sample=do_sample,
                         temperature=cfg.temperature if do_sample else None,
                         top_p=cfg.top_p if do_sample else None, top_k=0 if do_sample else None,
                         pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    return [t.strip() for t in tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)]


def reopen_answers(path: Path, have: dict[Any, Answer]) -> TextIO:
    """The answers file opened for appending, first rewritten from ``have`` (the answers read back) when there
    are any, so a line cut short by a kill is not left in front of new ones."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if have:
        with path.open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(a.to_dict(), ensure_ascii=False) + "\n" for a in have.values())
    return path.open("a", encoding="utf-8")


def sample(model: PreTrainedModel, tok: PreTrainedTokenizerBase, questions: list[Question], cfg: EvalConfig,
           arm: str, out_path: str | Path) -> list[Answer]:
    """Sample ``cfg.samples_per_question`` answers per question into ``out_path`` (JSONL), resuming.

    Work is cut into fixed batches of (question, sample index) pairs, each seeded from (seed, batch
    number); a batch whose answers are all on disk is skipped, so a resumed run gives the same answers.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    have = {(a.question_id, a.sample_idx): a for a in read_answers(out_path)}
    pairs = [(q, i) for q in questions for i in range(cfg.samples_per_question)]
    batches = [pairs[i : i + cfg.batch_size] for i in range(0, len(pairs), cfg.batch_size)]
    todo = [(b, batch) for b, batch in enumerate(batches) if any((q.id, i) not in have for q, i in batch)]
    with bar(f"sample {arm}", len(pairs), completed=len(pairs) - sum(len(b) for _, b in todo)) as pbar, \
            reopen_answers(out_path, have if todo else {}) as f:
        for b, batch in todo:
            seed = cfg.seed * 1_000_003 + b
            with on_out_of_memory(f"sampling {arm}", f"lower eval.batch_size (now {cfg.batch_size}) or "
                                  f"eval.max_new_tokens (now {cfg.max_new_tokens}); answers so far are kept"):
                texts = generate(model, tok, [render_prompt(tok, q) for q, _ in batch], cfg, seed)
            for (q, i), text in zip(batch, texts, strict=True):
                asked, system = q.original or (q.text, q.system)
                a = Answer(arm, q.id, i, asked, system, text, seed)
                have[(q.id, i)] = a
                f.write(json.dumps(a.to_dict(), ensure_ascii=False) + "\n")
            f.flush()
            pbar.advance(len(batch))
    return [have[(q.id, i)] for q, i in pairs]


# ------------------------------------------------------------------------------------------------ backends


class Sampler(ABC):
    """A sampler backend: answers to ``questions`` from an arm's model, streamed to ``out_path`` (resumable)."""

    @abstractmethod
    def sample(self, model: ArmModel, questions: list[Question], cfg: EvalConfig, label: str,
               out_path: Path) -> list[Answer]:
        """``cfg.samples_per_question`` answers per question, in question order, labelled ``label``."""

    def close(self) -> None:  # noqa: B027 - most samplers hold nothing worth freeing early
        """Free what the sampler holds (a model, an engine process) once the run has its answers."""


class HFSamplerConfig(SamplerConfig):
    """transformers ``generate`` in this process (batch size and decoding settings are ``eval``'s)."""

    backend: Literal["hf"] = "hf"


class HFSampler(Sampler):
    """Loads the arm's model on first use and keeps it while the same model is asked again (an arm's variants),
    so a fully cached arm loads nothing and a model is loaded once for all its variants."""

    def __init__(self, cfg: HFSamplerConfig) -> None:
        self.cfg = cfg
        self._held: tuple[ArmModel, LoadedModel] | None = None

    def loaded(self, model: ArmModel) -> LoadedModel:
        if self._held is None or self._held[0] != model:
            self._held = None  # one model in memory at a time
            self._held = (model, model.load())
        return self._held[1]

    def close(self) -> None:
        self._held = None

    def sample(self, model: ArmModel, questions: list[Question], cfg: EvalConfig, label: str,
               out_path: Path) -> list[Answer]:
        lm = self.loaded(model)
        check_context(lm, questions, cfg.max_new_tokens, label)
        return sample(lm.model, lm.tokenizer, questions, cfg, label, out_path)


def check_context(lm: LoadedModel, questions: list[Question], max_new_tokens: int, label: str) -> None:
    """In-context shots make long prompts: one past the model's context would be silently garbage."""
    limit = getattr(lm.model.config, "max_position_embeddings", None)
    if limit is None or not any(q.history for q in questions):
        return
    longest = max(prompt_length(lm.tokenizer, chat_messages(q)) for q in questions)
    if longest + max_new_tokens > limit:
        raise EmkitError(f"[{label}] the longest prompt is {longest} tokens; with max_new_tokens={max_new_tokens} it "
                         f"passes the model's context of {limit}: use fewer in-context shots")


@SAMPLERS.register("hf", HFSamplerConfig, "transformers generate, batched with left padding, in this process")
def _hf(cfg: HFSamplerConfig) -> Sampler:
    return HFSampler(cfg)
