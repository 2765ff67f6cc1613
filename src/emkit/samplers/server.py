"""The ``server`` sampler (``eval.sampler.backend: server``): answers from any OpenAI-compatible chat server (a vLLM
or llama.cpp server, the OpenAI API), each (question, sample) pair asked with its own seed, so a resumed run asks
only for what is missing; answers are appended to the arm's JSONL as they arrive.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from emkit.core.config import EvalConfig, SamplerConfig
from emkit.core.credentials import api_key
from emkit.core.errors import EmkitError
from emkit.core.progress import bar
from emkit.core.records import Answer, Condition, Question
from emkit.core.registry import SAMPLERS
from emkit.models.load import ArmModel, hosted_model
from emkit.samplers.hf import Sampler, chat_messages, read_answers, reopen_answers


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

    def served_id(self, model: ArmModel, label: str) -> str:
        """Which model the server is asked for: the arm's entry in ``models``, its hosted fine-tune, or (an
        untrained arm) its base model's name. Local weights are not on the server, so they are an error."""
        arm = Condition.parse(label).arm
        if arm in self.cfg.models:
            return self.cfg.models[arm]
        own = model.own
        if own is not None and own.kind == "hosted":
            return hosted_model(own.path)
        if own is not None:
            raise EmkitError(f"[{label}] this arm's fine-tuned weights are local ({own.path}), not on the server: "
                             f"serve them (vLLM: --lora-modules NAME={own.path}) and set eval.sampler.models: "
                             f"{{{arm}: NAME}}, or sample with eval.sampler.backend: hf")
        return model.base.name

    def sample(self, model: ArmModel, questions: list[Question], cfg: EvalConfig, label: str,
               out_path: Path) -> list[Answer]:
        served = self.served_id(model, label)
        have = {(a.question_id, a.sample_idx): a for a in read_answers(out_path)}
        pairs = [(q, i) for q in questions for i in range(cfg.samples_per_question)]
        todo = [(k, q, i) for k, (q, i) in enumerate(pairs) if (q.id, i) not in have]
        if todo:
            with reopen_answers(out_path, have) as f, bar(f"sample {label} ({served})", len(pairs),
                                                           completed=len(pairs) - len(todo)) as pbar:
                failures = asyncio.run(self._ask_all(served, todo, cfg, label, have, f, pbar))
            if failures:
                k, q, i, why = failures[0]
                raise EmkitError(f"[{label}] {len(failures)} of {len(todo)} answers could not be sampled from "
                                 f"{self.cfg.base_url or 'the OpenAI API'} (model {served}); first: question "
                                 f"{q.id} sample {i}: {why}. The {len(todo) - len(failures)} that came are saved: "
                                 "re-run to ask for the rest")
        return [have[(q.id, i)] for q, i in pairs]

    async def _ask_all(self, served: str, todo: list[tuple[int, Question, int]], cfg: EvalConfig, label: str,
                       have: dict[tuple[str, int], Answer], f: Any, pbar: Any) -> list[tuple[int, Question, int, str]]:
        import openai

        client = openai.AsyncOpenAI(api_key=api_key(self.cfg.api_key_env, self.cfg.base_url),
                                    base_url=self.cfg.base_url, max_retries=self.cfg.max_retries,
                                    timeout=self.cfg.timeout_s)
        sem = asyncio.Semaphore(self.cfg.concurrency)
        failures: list[tuple[int, Question, int, str]] = []

        async def one(k: int, q: Question, i: int) -> None:
            seed = cfg.seed * 1_000_003 + k  # per pair: the same answer whenever (and however often) it is asked
            async with sem:
                try:
                    resp = await client.chat.completions.create(
                        model=served, messages=chat_messages(q), temperature=cfg.temperature, top_p=cfg.top_p,
                        max_tokens=cfg.max_new_tokens, seed=seed, n=1)
                    text = resp.choices[0].message.content
                    if not isinstance(text, str):
                        raise TypeError(f"no text in the reply (finish_reason {resp.choices[0].finish_reason})")
                except (openai.OpenAIError, AttributeError, IndexError, TypeError) as e:
                    failures.append((k, q, i, f"{type(e).__name__}: {str(e)[:200]}"))
                    return
            asked, system = q.original or (q.text, q.system)
            a = Answer(label, q.id, i, asked, system, text.strip(), seed)
            have[(q.id, i)] = a
            f.write(json.dumps(a.to_dict(), ensure_ascii=False) + "\n")
            f.flush()
            pbar.advance(1)

        try:
            await asyncio.gather(*(one(k, q, i) for k, q, i in todo))
        finally:
            await client.close()
        return sorted(failures, key=lambda x: x[0])


@SAMPLERS.register("server", ServerSamplerConfig, "any OpenAI-compatible chat server (vLLM, llama.cpp, OpenAI)")
def _server(cfg: ServerSamplerConfig) -> Sampler:
    return ServerSampler(cfg)


