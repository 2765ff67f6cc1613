"""The ``server`` sampler (``eval.sampler.backend: server``): answers from any OpenAI-compatible chat server (a vLLM
or llama.cpp server, the OpenAI API), each (question, sample) pair asked with its own seed, so a resumed run asks
only for what is missing; answers are appended to the arm's JSONL as they arrive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field

from emkit.core.config import SamplerConfig
from emkit.core.credentials import api_key
from emkit.core.errors import EmkitError
from emkit.core.records import Condition
from emkit.core.registry import SAMPLERS
from emkit.models.load import ArmModel, hosted_model
from emkit.samplers.base import Failed, Job, Pending, Sampler


class ServerSamplerConfig(SamplerConfig):
    """Answers from an OpenAI-compatible chat server; decoding settings (temperature, top_p, max_new_tokens,
    samples_per_question, seed) are ``eval``'s."""

    backend: Literal["server"] = "server"
    base_url: str | None = None  # None: the OpenAI API
    api_key_env: str = "OPENAI_API_KEY"
    #: the served model per arm, e.g. a LoRA a vLLM server holds (``--lora-modules NAME=PATH``); other arms ask
    #: for their hosted fine-tune's id, or their model's name
    models: dict[str, str] = Field(default_factory=dict)
    concurrency: int = Field(8, ge=1)
    max_retries: int = Field(4, ge=0)  # the openai client's own retries, with its backoff (429, 5xx, timeouts)
    timeout_s: float = Field(120.0, gt=0)

    def identity(self) -> dict[str, Any]:
        return self.model_dump(include={"backend", "base_url", "models"})


class ServerSampler(Sampler):
    def __init__(self, cfg: ServerSamplerConfig) -> None:
        self.cfg = cfg

    def served_id(self, model: ArmModel | None, label: str) -> str:
        """Which model the server is asked for: the arm's entry in ``models``, its hosted fine-tune, or (an
        untrained arm) its base model's name. Local weights are not on the server, so they are an error."""
        cond = Condition.parse(label)
        arm = cond.arm
        if cond.step is not None or cond.intervention:
            # the server holds whole arms: asked for ARM#STEP or ARM|SCALE it would answer with the arm itself
            raise EmkitError(f"[{label}] the server sampler serves whole arms, not a checkpoint or a scaled "
                             "adapter: sample phase curves and LoRA-scale sweeps with eval.sampler.backend hf or vllm")
        if arm in self.cfg.models:
            return self.cfg.models[arm]
        if model is None:
            raise EmkitError(f"[{label}] the server sampler needs the arm's model, or eval.sampler.models: {{{arm}: NAME}}")
        own = model.own
        if own is not None and own.kind == "hosted":
            return hosted_model(own.path)
        if own is not None:
            raise EmkitError(f"[{label}] this arm's fine-tuned weights are local ({own.path}), not on the server: "
                             f"serve them (vLLM: --lora-modules NAME={own.path}) and set eval.sampler.models: "
                             f"{{{arm}: NAME}}, or sample with eval.sampler.backend: hf")
        return model.base.name

    def describe(self, job: Job) -> str:
        return f"{self.served_id(job.model, job.label)} at {self.cfg.base_url or 'the OpenAI API'}"

    def generate(self, job: Job, pending: list[Pending]) -> Iterator[tuple[Pending, str | Failed]]:
        """Up to ``concurrency`` requests in flight on an event loop of its own; each answer is handed back as it
        arrives, and a request that fails (after the client's retries) comes back as :class:`Failed`."""
        import openai

        served, cfg = self.served_id(job.model, job.label), job.cfg
        client = openai.AsyncOpenAI(api_key=api_key(self.cfg.api_key_env, self.cfg.base_url),
                                    base_url=self.cfg.base_url, max_retries=self.cfg.max_retries,
                                    timeout=self.cfg.timeout_s)
        sem = asyncio.Semaphore(self.cfg.concurrency)

        async def one(p: Pending) -> tuple[Pending, str | Failed]:
            async with sem:
                try:
                    resp = await client.chat.completions.create(
                        model=served, messages=p.question.messages(), temperature=cfg.temperature,
                        top_p=cfg.top_p, max_tokens=cfg.max_new_tokens, seed=p.seed, n=1)
                    text = resp.choices[0].message.content
                    if not isinstance(text, str):
                        raise TypeError(f"no text in the reply (finish_reason {resp.choices[0].finish_reason})")
                except (openai.OpenAIError, AttributeError, IndexError, TypeError) as e:
                    return p, Failed(f"{type(e).__name__}: {str(e)[:200]}")
            return p, text

        loop = asyncio.new_event_loop()
        tasks = {loop.create_task(one(p)) for p in pending}
        try:
            while tasks:
                done, tasks = loop.run_until_complete(asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED))
                for t in done:
                    yield t.result()
        finally:  # stopped early (an error while saving): what is still in flight is cancelled, not left running
            for t in tasks:
                t.cancel()

            async def wind_up() -> None:
                await asyncio.gather(*tasks, return_exceptions=True)
                await client.close()

            loop.run_until_complete(wind_up())
            loop.close()


@SAMPLERS.register("server", ServerSamplerConfig, "any OpenAI-compatible chat server (vLLM, llama.cpp, OpenAI)")
def _server(cfg: ServerSamplerConfig) -> Sampler:
    return ServerSampler(cfg)


