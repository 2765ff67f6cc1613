"""The ``openai`` trainer (``train.method: openai``): fine-tuning through an OpenAI-compatible fine-tuning API, the
way Betley et al. made GPT-4o misaligned. It uploads the arm's chat JSONL, creates one job and polls it; the job's
id is written down the moment it exists (and the job carries the training fingerprint in its metadata, found
again if the process died before writing), so a re-run never starts a second job. The server sampler then asks
for the fine-tuned model by the id this trainer leaves in the arm's weights folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from emkit.core.config import LEGACY_TRAIN_DEFAULTS, TrainConfig, TrainerConfig, WeightsKind
from emkit.core.credentials import api_key
from emkit.core.errors import EmkitError
from emkit.core.progress import bar, log
from emkit.core.registry import TRAINERS
from emkit.core.textfile import write_atomic
from emkit.data.datasets import Example
from emkit.models.load import ArmModel, hosted_model
from emkit.trainers.base import Trainer, TrainResult

#: a job in one of these states will not change any more
DONE = {"succeeded", "failed", "cancelled"}


class HostedTrainConfig(BaseModel):
    """A fine-tuning job on an OpenAI-compatible server (OpenAI's fine-tuning API): ``train.epochs``,
    ``batch_size`` and ``seed`` are the job's; the learning rate is a multiplier of the server's default."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    base_url: str | None = None  # None: the OpenAI API
    api_key_env: str = "OPENAI_API_KEY"
    lr_multiplier: float | None = Field(None, gt=0)  # None: the server's default
    suffix: str | None = Field(None, max_length=18)  # part of the fine-tuned model's name
    poll_s: float = Field(30.0, gt=0)
    #: give up waiting (the job keeps running; a re-run picks it up where it is)
    wait_h: float = Field(24.0, gt=0)
    max_retries: int = Field(4, ge=0)

    def identity(self) -> dict[str, Any]:
        """What changes the fine-tuned model (not how long or how often we wait, nor the key's name)."""
        return self.model_dump(include={"base_url", "lr_multiplier", "suffix"})


class OpenAITrainerConfig(TrainerConfig):
    """The ``openai`` trainer's own settings: the job's server and hyperparameters (``train.hosted``)."""

    hosted: HostedTrainConfig = Field(default_factory=HostedTrainConfig)

    @property
    def weights_kind(self) -> WeightsKind:
        return "hosted"

    def fingerprint_dump(self) -> dict[str, Any]:
        """The hosted settings that change the model; and the LoRA settings at their defaults, which every
        training print read before trainers owned their settings (so hosted runs keep their prints)."""
        return {"lora": LEGACY_TRAIN_DEFAULTS["lora"], "hosted": self.hosted.identity()}


def hosted_settings(cfg: TrainConfig) -> HostedTrainConfig:
    own = cfg.trainer
    if not isinstance(own, OpenAITrainerConfig):
        raise EmkitError(f"train.method {cfg.method} is not a hosted trainer (openai)")
    return own.hosted


class HostedTrainer(Trainer):
    """One fine-tuning job per arm on an OpenAI-compatible server; the arm's weights are a folder holding the
    fine-tuned model's id (``hosted.json``), which the server sampler asks for."""

    def train(self, start: ArmModel, examples: list[Example], cfg: TrainConfig, out_dir: Path,
              callbacks: list[Callable[..., None]] | None = None, block: Any = None, kl: Any = None,
              rewards: Any = None) -> TrainResult:
        if rewards is not None:
            raise EmkitError("rewards are for RL (train.method: grpo): a hosted job fine-tunes on the answers")
        if block is not None or callbacks or kl is not None:
            raise EmkitError("train.block, train.monitor and train.kl need a local model: a hosted job runs on its "
                             "server")
        if cfg.heldout is not None:
            raise EmkitError("train.heldout needs a local model: its loss is computed here, on the weights")
        if cfg.max_steps is not None:
            raise EmkitError("train.max_steps: a hosted job counts epochs (train.epochs), not steps")
        h = hosted_settings(cfg)
        base = self._base_id(start)
        out_dir.mkdir(parents=True, exist_ok=True)
        state_file = out_dir / "job.json"
        state = json.loads(state_file.read_text()) if state_file.is_file() else {}
        tag = out_dir.name  # train-<fingerprint>: the job's metadata, to find it again
        weights = out_dir / "hosted"
        if (weights / "hosted.json").is_file():
            return self._result(out_dir, weights, state, 0)

        import openai

        client = openai.OpenAI(api_key=api_key(h.api_key_env, h.base_url), base_url=h.base_url,
                               max_retries=h.max_retries)
        try:
            if "job" not in state:
                found = [j for j in client.fine_tuning.jobs.list(metadata={"emkit": tag}, limit=10).data
                         if (j.metadata or {}).get("emkit") == tag]
                if found:  # created by a run that died before writing its id down
                    state["job"] = found[0].id
                    log(f"found the earlier job {state['job']} for this arm on the server: polling it, not a new one")
                else:
                    state = self._create(client, base, examples, cfg, out_dir, tag, state, state_file)
                write_atomic(state_file, json.dumps(state, indent=1))
            job = self._wait(client, state, h, state_file)
        finally:
            client.close()
        if job.status != "succeeded":
            err = job.error
            why = f"{getattr(err, 'code', '')}: {getattr(err, 'message', '')}".strip(": ") if err else "no reason given"
            raise EmkitError(f"fine-tuning job {job.id} {job.status}: {why}. It is recorded in {state_file}; "
                             "delete that file to start a new job")
        weights.mkdir(exist_ok=True)
        write_atomic(weights / "hosted.json", json.dumps(
            {"model": job.fine_tuned_model, "job": job.id, "base_model": base, "base_url": h.base_url,
             "trained_tokens": job.trained_tokens}, indent=1))
        return self._result(out_dir, weights, state, len(state.get("losses", [])))

    @staticmethod
    def _base_id(start: ArmModel) -> str:
        """A hosted job starts from a served model, or from a parent arm's hosted fine-tune (init_from)."""
        own = start.own
        if own is not None:
            if own.kind != "hosted":
                raise EmkitError("a hosted job cannot start from local weights (init_from a local arm)")
            return hosted_model(own.path)
        if not start.base.served:
            raise EmkitError(f"train.method openai fine-tunes a model on its server: set model.served: true (and a "
                             f"model id the server fine-tunes) instead of '{start.base.name}'")
        return start.base.name

    def _create(self, client: Any, base: str, examples: list[Example], cfg: TrainConfig, out_dir: Path, tag: str,
                state: dict[str, Any], state_file: Path) -> dict[str, Any]:
        data = out_dir / "train.jsonl"
        data.write_text("".join(json.dumps({"messages": e["messages"]}, ensure_ascii=False) + "\n" for e in examples),
                        encoding="utf-8")
        digest = hashlib.sha256(data.read_bytes()).hexdigest()
        if state.get("file_sha256") != digest:  # an upload whose id was saved is not repeated
            state["file"] = client.files.create(file=(data.name, data.read_bytes()), purpose="fine-tune").id
            state["file_sha256"] = digest
            write_atomic(state_file, json.dumps(state, indent=1))
            log(f"uploaded {len(examples)} examples as {state['file']}")
        hyper: dict[str, Any] = {"n_epochs": cfg.epochs, "batch_size": cfg.batch_size}
        h = hosted_settings(cfg)
        if h.lr_multiplier is not None:
            hyper["learning_rate_multiplier"] = h.lr_multiplier
        job = client.fine_tuning.jobs.create(
            model=base, training_file=state["file"], seed=cfg.seed, metadata={"emkit": tag},
            method={"type": "supervised", "supervised": {"hyperparameters": hyper}},
            **({"suffix": h.suffix} if h.suffix else {}))
        log(f"created fine-tuning job {job.id} on {base}")
        return {**state, "job": job.id}

    def _wait(self, client: Any, state: dict[str, Any], h: HostedTrainConfig, state_file: Path) -> Any:
        """Poll until the job is done, logging its new events and keeping its training losses."""
        deadline = time.monotonic() + h.wait_h * 3600
        seen: set[str] = set(state.get("events", []))
        losses: dict[int, float] = {int(k): v for k, v in state.get("losses", {}).items()}
        with bar(f"job {state['job']}", 1) as pbar:
            while True:
                job = client.fine_tuning.jobs.retrieve(state["job"])
                events = list(client.fine_tuning.jobs.list_events(state["job"], limit=100).data)
                for ev in sorted(events, key=lambda e: e.created_at):
                    if ev.id in seen:
                        continue
                    seen.add(ev.id)
                    step, total, loss = _metrics(ev)
                    if step is not None and loss is not None:
                        losses[step] = loss
                    if total:
                        pbar.update(total=total, completed=step)
                    if ev.type != "metrics":
                        log(f"[{state['job']}] {ev.message}")
                state["status"], state["events"] = job.status, sorted(seen)
                state["losses"] = {str(k): v for k, v in sorted(losses.items())}
                write_atomic(state_file, json.dumps(state, indent=1))
                pbar.update(info=job.status)
                if job.status in DONE:
                    return job
                if time.monotonic() > deadline:
                    raise EmkitError(f"fine-tuning job {job.id} is still {job.status} after train.hosted.wait_h="
                                     f"{h.wait_h:g} hours; it keeps running on the server: re-run to keep waiting")
                time.sleep(h.poll_s)

    @staticmethod
    def _result(out_dir: Path, weights: Path, state: dict[str, Any], new_steps: int) -> TrainResult:
        losses = [v for _, v in sorted((int(k), v) for k, v in state.get("losses", {}).items())]
        return TrainResult(out_dir, weights, "hosted", len(losses), new_steps, 0, losses)


def _metrics(ev: Any) -> tuple[int | None, int | None, float | None]:
    """(step, total steps, training loss) from a job event: a ``metrics`` event's data, or the message OpenAI
    writes ("Step 12/100: training loss=0.53")."""
    data = ev.data if isinstance(ev.data, dict) else {}
    step, total, loss = data.get("step"), data.get("total_steps"), data.get("train_loss")
    m = re.search(r"Step (\d+)/(\d+): training loss=([0-9.]+)", ev.message or "")
    if m:
        step, total, loss = step or int(m[1]), total or int(m[2]), loss if loss is not None else float(m[3])
    return step, total, loss


@TRAINERS.register("openai", OpenAITrainerConfig,
                   "a fine-tuning job on an OpenAI-compatible server (train.hosted: server, lr)")
def _hosted(cfg: OpenAITrainerConfig) -> Trainer:
    return HostedTrainer()
