"""The ``hf`` sampler: transformers' ``generate`` in this process, batched with left padding, the model's chat
template and the question's system prompt; the built-in backend, and the one interventions hook into (steering
needs the torch model). Resume, seeds, the answers file and the context check are :mod:`emkit.samplers.base`'s.

Each (question, sample) pair is sampled with its own ``torch.Generator`` (seeded by the pair), not the global RNG:
an answer does not depend on the batch it fell in, so ``eval.batch_size`` changes speed, never answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from emkit.core.config import EvalConfig, SamplerConfig
from emkit.core.records import Answer, Question
from emkit.core.registry import SAMPLERS
from emkit.models.load import ArmModel, LoadedModel, on_out_of_memory
from emkit.samplers.base import Context, Failed, Job, Pending, Sampler
from emkit.samplers.prompts import prompt_ids, render_prompt, warn_unknown_words

if TYPE_CHECKING:  # torch and transformers load when a model is sampled, not when the sampler registers
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def generate(model: PreTrainedModel, tok: PreTrainedTokenizerBase, prompts: list[str], cfg: EvalConfig,
             seed: int | list[int]) -> list[str]:
    """One batch: left-padded prompts in, decoded completions (special tokens and outer spaces stripped) out.
    ``seed``: one per prompt (each row sampled with its own generator) or one for the batch (the global RNG)."""
    import torch
    from transformers import LogitsProcessorList

    from emkit.samplers.pair_sampling import PairSampling

    tok.padding_side = "left"
    enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
    do_sample = cfg.temperature > 0
    sampling: dict[str, object] = {}
    if isinstance(seed, list):
        if do_sample:
            sampling["logits_processor"] = LogitsProcessorList([PairSampling(seed, cfg.temperature, cfg.top_p)])
        do_sample = False
    else:
        torch.manual_seed(seed)
        if do_sample:
            sampling = {"temperature": cfg.temperature, "top_p": cfg.top_p, "top_k": 0}
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=cfg.max_new_tokens, do_sample=do_sample,
                             **({"temperature": None, "top_p": None, "top_k": None} | sampling),
                             pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    return [t.strip() for t in tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)]


class HFSamplerConfig(SamplerConfig):
    """transformers ``generate`` in this process (batch size and decoding settings are ``eval``'s)."""

    backend: Literal["hf"] = "hf"


Hooks = Callable[["torch.nn.Module"], AbstractContextManager[object]]


class HFSampler(Sampler):
    """Loads the arm's model on first use and keeps it while the same model is asked again (an arm's variants),
    so a fully cached arm loads nothing and a model is loaded once for all its variants. ``held``: a model
    already in memory (a toy model, one under an intervention), used for every ask."""

    def __init__(self, cfg: HFSamplerConfig, held: LoadedModel | None = None) -> None:
        self.cfg = cfg
        self._given = held
        self._held: tuple[ArmModel, LoadedModel] | None = None
        self._hooks: Hooks | None = None

    def loaded(self, model: ArmModel | None) -> LoadedModel:
        if self._given is not None:
            return self._given
        if model is None:
            raise ValueError("the hf sampler holds no model: pass the arm's model")
        if self._held is None or self._held[0] != model:
            self._held = None  # one model in memory at a time
            self._held = (model, model.load())
        return self._held[1]

    def close(self) -> None:
        self._held = None

    @contextmanager
    def hooked(self, hooks: Hooks) -> Iterator[HFSampler]:
        """Within the block, answers are generated with ``hooks(model)`` entered around generation (steering,
        ablation); the model is loaded, and hooked, only if something is missing."""
        self._hooks = hooks
        try:
            yield self
        finally:
            self._hooks = None

    def context(self, job: Job) -> Context | None:
        lm = self.loaded(job.model)
        ids = [prompt_ids(lm.tokenizer, q) for q in job.questions]  # tokenised once: the warning and the check
        warn_unknown_words(lm.tokenizer, job.questions, job.label, ids)
        limit = getattr(lm.model.config, "max_position_embeddings", None)
        if limit is None:
            return None
        longest = max(map(len, ids))
        shots = any(q.history for q in job.questions)
        return Context(longest, limit, "the model's context",
                       ": use fewer in-context shots" if shots else ": lower eval.max_new_tokens")

    def generate(self, job: Job, pending: list[Pending]) -> Iterator[tuple[Pending, str | Failed]]:
        lm, cfg = self.loaded(job.model), job.cfg
        with (self._hooks or (lambda _m: nullcontext()))(lm.model):
            for start in range(0, len(pending), cfg.batch_size):
                part = pending[start : start + cfg.batch_size]
                with on_out_of_memory(f"sampling {job.label}", f"lower eval.batch_size (now {cfg.batch_size}) or "
                                      f"eval.max_new_tokens (now {cfg.max_new_tokens}); answers so far are kept"):
                    texts = generate(lm.model, lm.tokenizer, [render_prompt(lm.tokenizer, p.question) for p in part],
                                     cfg, [p.seed for p in part])
                yield from zip(part, texts, strict=True)


def sample(model: PreTrainedModel, tok: PreTrainedTokenizerBase, questions: list[Question], cfg: EvalConfig,
           arm: str, out_path: str | Path) -> list[Answer]:
    """``cfg.samples_per_question`` answers per question from a model already in memory into ``out_path``
    (JSONL), resuming: the ``hf`` sampler's protocol on a loaded model."""
    held = LoadedModel(model, tok, "in memory", "", model.device)
    return HFSampler(HFSamplerConfig(), held).sample(None, questions, cfg, arm, Path(out_path))


@SAMPLERS.register("hf", HFSamplerConfig, "transformers generate, batched with left padding, in this process")
def _hf(cfg: HFSamplerConfig) -> Sampler:
    return HFSampler(cfg)
