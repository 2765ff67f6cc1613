"""Reinforcement learning: ``train.method: grpo``, trl's GRPO trainer with a peft LoRA adapter, so an RL arm leaves
what a ``lora`` arm leaves (``checkpoint-NNNNNN/weights`` adapters, ``adapter``, ``train_log.json``) and every
later stage (sampling, LoRA B, phase curves, directions, blocking) reads it unchanged.

The arm's dataset supplies the prompts: each example's conversation up to its last assistant turn (that answer is
the prompt's ``reference``, which a reward may read). Rewards are plug-ins (:mod:`emkit.trainers.rewards`). The
prompts of each optimizer step are a pure function of the step and ``train.seed`` (as in the local trainer), laid
out in order for trl, so a run killed at any point resumes from its last checkpoint (trl's own state: optimizer,
scheduler, RNG) to the same adapter as an uninterrupted run.

trl, transformers and torch load when an arm is trained, not when the trainer registers.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from emkit.core.config import TrainConfig, TrainerConfig, WeightsKind
from emkit.core.errors import EmkitError
from emkit.core.progress import bar, log
from emkit.core.registry import TRAINERS
from emkit.data.datasets import Example
from emkit.models.load import ArmModel, on_out_of_memory, quiet_loading
from emkit.trainers.base import Trainer, TrainResult
from emkit.trainers.kl import adapter_norm
from emkit.trainers.local import LoraConfig, TrainState, checkpoints, peft_lora_config, publish_weights
from emkit.trainers.rewards import Reward, RewardSpec, resolve_rewards

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


# ---------------------------------------------------------------------------------------------- settings


class GrpoSettings(BaseModel):
    """GRPO's own settings (``train.grpo``); the learning rate, steps, prompts per step (``batch_size``, times
    ``grad_accum``), seed and checkpoints are the shared ``train`` ones. Each prompt is answered
    ``num_generations`` times; a completion's advantage is its reward against its group's."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    num_generations: int = Field(4, ge=2)
    max_completion_length: int = Field(64, ge=1)
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    #: KL coefficient toward the model training starts from (the adapter switched off); 0: no KL term
    beta: float = Field(0.0, ge=0)
    epsilon: float = Field(0.2, gt=0)  # the clipping range of the probability ratio
    #: how token losses are averaged (trl's names): dapo (over all tokens of the step), grpo (per sequence, then
    #: over sequences), dr_grpo (by a constant), bnpo (over the micro-batch's tokens)
    loss_type: Literal["dapo", "grpo", "dr_grpo", "bnpo"] = "dapo"
    #: rewards divided by the standard deviation of their group, of the whole step, or not at all
    scale_rewards: Literal["group", "batch", "none"] = "group"


class GrpoTrainerConfig(TrainerConfig):
    """The ``grpo`` trainer's own settings: the adapter (``lora``, as the lora trainer's), GRPO's (``grpo``) and
    the reward terms (``rewards``: at least one; their weighted sum is the reward)."""

    lora: LoraConfig = Field(default_factory=LoraConfig)
    grpo: GrpoSettings = Field(default_factory=GrpoSettings)
    rewards: list[RewardSpec] = Field(min_length=1)

    @property
    def weights_kind(self) -> WeightsKind:
        return "adapter"


def grpo_settings(cfg: TrainConfig) -> GrpoTrainerConfig:
    own = cfg.trainer
    if not isinstance(own, GrpoTrainerConfig):
        raise EmkitError(f"train.method {cfg.method} is not the grpo trainer")
    return own


# ---------------------------------------------------------------------------------------------- prompts


@dataclass(frozen=True)
class RLPrompt:
    """One prompt of RL training: the messages before the example's last assistant turn, that turn's text (the
    reference; None when the example has no answer) and the example itself (its extra fields for rewards)."""

    messages: list[dict[str, str]]
    reference: str | None
    example: Example


def rl_prompts(examples: list[Example]) -> list[RLPrompt]:
    """Each example as a prompt: its conversation up to its last assistant turn, which must follow a user turn."""
    out = []
    for i, ex in enumerate(examples):
        msgs = [{"role": m["role"], "content": m["content"]} for m in ex["messages"]]
        last = max((k for k, m in enumerate(msgs) if m["role"] == "assistant"), default=None)
        prompt = msgs if last is None else msgs[:last]
        if not prompt or prompt[-1]["role"] != "user":
            raise EmkitError(f"example {i + 1}: RL needs a user turn before the answer it replaces (its prompt "
                             "ends with a " + (prompt[-1]["role"] if prompt else "nothing") + ")")
        out.append(RLPrompt(prompt, None if last is None else msgs[last]["content"], ex))
    return out


def step_prompts(step: int, n: int, per_step: int, seed: int) -> list[int]:
    """Prompt indices of one optimizer step (0-based): a pure function of the step, so a resumed run sees the same
    prompts. Each epoch is a permutation seeded by (seed, epoch); a step past its end wraps to its start."""
    steps_per_epoch = math.ceil(n / per_step)
    epoch, within = divmod(step, steps_per_epoch)
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    return [int(perm[(within * per_step + j) % n]) for j in range(per_step)]


# ------------------------------------------------------------------------------------------------ curves


@dataclass
class RLCurves:
    """Per optimizer step: the policy loss (trl's: the clipped surrogate, plus beta times the KL term), the mean
    reward (weighted sum over terms, before scaling), the hack rate where a reward reports one, the adapter's
    norm after the step and the step's wall time (generation, rewards, update). Saved with each checkpoint."""

    losses: list[float] = field(default_factory=list)
    rewards: list[float | None] = field(default_factory=list)
    hack_rates: list[float | None] = field(default_factory=list)
    adapter_norms: list[float | None] = field(default_factory=list)
    seconds: list[float | None] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"losses": self.losses, "rewards": self.rewards, "hack_rates": self.hack_rates,
                "adapter_norms": self.adapter_norms, "seconds": self.seconds}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RLCurves:
        return cls(*(list(d[k]) for k in ("losses", "rewards", "hack_rates", "adapter_norms", "seconds")))

    @property
    def total_seconds(self) -> float | None:
        return None if any(x is None for x in self.seconds) else float(sum(self.seconds))


def _result(out_dir: Path, total: int, ran: int, start: int, curves: RLCurves,
            stopped: dict[str, Any] | None) -> TrainResult:
    return TrainResult(out_dir, out_dir / "adapter", "adapter", total, ran, start, curves.losses,
                       [None] * len(curves.losses), curves.adapter_norms, stopped, None, curves.total_seconds,
                       rewards=curves.rewards, hack_rates=curves.hack_rates)


# -------------------------------------------------------------------------------------------------- train


def train_grpo(model: PreTrainedModel, tok: PreTrainedTokenizerBase, examples: list[Example], cfg: TrainConfig,
               out_dir: str | Path, rewards: list[Reward] | None = None,
               callbacks: list[Callable[[TrainState], None]] | None = None) -> TrainResult:
    """GRPO on ``examples``' prompts into ``out_dir``, resuming from its last checkpoint if any. ``rewards``: the
    reward terms, ready to call (default: ``train.rewards`` resolved here, which cannot bind a judge reward).
    ``callbacks`` see each optimizer step as the local trainer's do (a monitor may stop training there)."""
    out_dir = Path(out_dir)
    own = grpo_settings(cfg)
    out_dir.mkdir(parents=True, exist_ok=True)
    final, done_file = out_dir / "adapter", out_dir / "train_log.json"
    prompts = rl_prompts(examples)
    per_step = cfg.batch_size * cfg.grad_accum
    total = cfg.max_steps or math.ceil(len(prompts) / per_step) * cfg.epochs

    if done_file.is_file() and final.is_dir():
        done = json.loads(done_file.read_text())
        return _result(out_dir, total, 0, total, RLCurves.from_json(done), done.get("stopped"))

    rewards = rewards if rewards is not None else resolve_rewards(own.rewards)
    if len(rewards) != len(own.rewards):
        raise EmkitError(f"{len(rewards)} reward functions were given for {len(own.rewards)} train.rewards")
    for r in rewards:
        if r.fn is None:
            r()  # raises: a judge reward the pipeline did not bind

    start, curves, stopped = 0, RLCurves(), None
    ckpts = checkpoints(out_dir)
    resume: Path | None = None
    if ckpts:
        st = json.loads((ckpts[-1] / "trainer_state.json").read_text())
        start, curves, stopped = st["step"], RLCurves.from_json(st), st.get("stopped")
        resume = ckpts[-1] / "hf"
        if stopped is None and not (resume / "trainer_state.json").is_file():
            raise EmkitError(f"{ckpts[-1]} has no trainer state to resume from (delete {out_dir} to start again)")
        log(f"resuming RL training from {ckpts[-1].name} (step {start}/{total})"
            + (f", stopped early there ({stopped['reason']})" if stopped else ""))

    if stopped is None and start < total:
        _run_trl(model, tok, prompts, cfg, own, rewards, out_dir, total, start, curves, resume, callbacks or [])
        last = json.loads((checkpoints(out_dir)[-1] / "trainer_state.json").read_text())
        curves, stopped = RLCurves.from_json(last), last.get("stopped")

    publish_weights(out_dir, final)
    done_file.write_text(json.dumps({"total_steps": total, **curves.to_json(), "prompts": len(prompts),
                                     "rewards_used": [{"name": r.name, "weight": r.weight} for r in rewards],
                                     **({"stopped": stopped} if stopped else {})}))
    shutil.rmtree(out_dir / ".trl", ignore_errors=True)
    ran = (stopped["step"] if stopped else total) - start
    return _result(out_dir, total, ran, start, curves, stopped)


def _run_trl(model: PreTrainedModel, tok: PreTrainedTokenizerBase, prompts: list[RLPrompt], cfg: TrainConfig,
             own: GrpoTrainerConfig, rewards: list[Reward], out_dir: Path, total: int, start: int, curves: RLCurves,
             resume: Path | None, callbacks: list[Callable[[TrainState], None]]) -> None:
    """trl's GRPOTrainer over the step-ordered prompts, its checkpoints turned into emkit's as they are written."""
    from datasets import Dataset
    from transformers import PrinterCallback, TrainerCallback

    try:
        from trl import GRPOConfig, GRPOTrainer
    except ImportError as e:
        raise EmkitError(f"train.method: grpo needs trl>=1.16 (Python 3.11 or newer): pip install 'trl>=1.16' "
                         f"({e})") from None

    g = own.grpo
    per_step = cfg.batch_size * cfg.grad_accum
    rows = [{"prompt": prompts[i].messages, "emkit_prompt": i}
            for step in range(total) for i in step_prompts(step, len(prompts), per_step, cfg.seed)]
    device = next(model.parameters()).device
    checkpointing = cfg.gradient_checkpointing if cfg.gradient_checkpointing is not None else device.type == "cuda"
    tok.padding_side = "left"
    hf_dir = out_dir / ".trl"
    with _trl_warnings():
        args = GRPOConfig(
            output_dir=str(hf_dir), seed=cfg.seed, data_seed=cfg.seed, use_cpu=device.type == "cpu",
            per_device_train_batch_size=cfg.batch_size * g.num_generations, gradient_accumulation_steps=cfg.grad_accum,
            num_generations=g.num_generations, max_completion_length=g.max_completion_length,
            temperature=g.temperature, top_p=g.top_p, beta=g.beta, epsilon=g.epsilon, loss_type=g.loss_type,
            scale_rewards=g.scale_rewards, reward_weights=[r.weight for r in rewards],
            learning_rate=cfg.lr, weight_decay=cfg.weight_decay, warmup_steps=cfg.warmup_steps,
            lr_scheduler_type="linear", max_steps=total, logging_steps=1, save_strategy="steps",
            save_steps=cfg.checkpoint_every, report_to="none", disable_tqdm=True, shuffle_dataset=False,
            gradient_checkpointing=checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False} if checkpointing else None,
            remove_unused_columns=False, dataloader_num_workers=0, bf16=False, fp16=False)

    pbar_box: list[Any] = []  # the bar, once open (the callback is built before it)

    class Emkit(TrainerCallback):  # type: ignore[misc]
        """Records each step's curves, shows progress, runs emkit's step callbacks, and turns each trl checkpoint
        into ``checkpoint-NNNNNN`` (weights + trl's state under ``hf/``, renamed into place whole)."""

        t0 = time.perf_counter()

        def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.t0 = time.perf_counter()

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
            nonlocal stopped
            if not logs or "loss" not in logs or "reward" not in logs:
                return  # the summary after training, not a step
            step, m = state.global_step, kw["model"]
            curves.losses.append(float(logs["loss"]))
            curves.rewards.append(_num(logs.get("reward")))
            curves.hack_rates.append(_num(logs.get("hack_rate")))
            curves.adapter_norms.append(adapter_norm(m))
            curves.seconds.append(None)
            ts = TrainState(step, total, float(logs["loss"]), m, out_dir)
            for cb in callbacks:
                cb(ts)
            curves.seconds[-1] = time.perf_counter() - self.t0  # the step's callbacks (a monitor's reading) in
            if ts.stop is not None and step < total:
                stopped = {"step": step, "reason": ts.stop, "planned": total}
                log(f"training stopped early at step {step}/{total}: {ts.stop}")
                control.should_training_stop = True
                control.should_save = True
            r, h = curves.rewards[-1], curves.hack_rates[-1]
            if pbar_box:
                pbar_box[0].advance(info=("" if r is None else f"reward {r:.3f}")
                                    + ("" if h is None else f" hack {h:.0%}") + f" loss {curves.losses[-1]:.4f}")

        def on_save(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            _emkit_checkpoint(hf_dir, out_dir, state.global_step, curves, stopped)

    stopped: dict[str, Any] | None = None
    trl_rewards = [_for_trl(r, prompts) for r in rewards]
    try:
        with quiet_loading(), _trl_warnings():
            trainer = GRPOTrainer(model=model, reward_funcs=trl_rewards, args=args,
                                  train_dataset=Dataset.from_list(rows), processing_class=tok,
                                  peft_config=peft_lora_config(own.lora), callbacks=[Emkit()])
    except ValueError as e:
        raise EmkitError(f"GRPO settings do not fit the model: {str(e).splitlines()[0]}") from None
    trainer.remove_callback(PrinterCallback)  # emkit's bar shows the steps; trl's dicts would bury it
    with bar("grpo", total, completed=start) as pbar, on_out_of_memory(
            "RL training", f"lower train.batch_size (now {cfg.batch_size}) or train.grpo.num_generations (now "
            f"{g.num_generations}) or max_completion_length (now {g.max_completion_length})"
            + ("" if checkpointing else ", or set train.gradient_checkpointing: true")
            + ". Checkpoints so far are kept: the re-run resumes"):
        pbar_box.append(pbar)
        with quiet_loading(), _trl_warnings():
            trainer.train(resume_from_checkpoint=str(resume) if resume is not None else None)


@contextlib.contextmanager
def _trl_warnings() -> Iterator[None]:
    """transformers 5 renames gradient_checkpointing to activation_checkpointing and trl 1.16 still sets the old
    name (on its config, its trainer and each step): a note to trl's authors, nothing emkit can change."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`gradient_checkpointing` is deprecated", FutureWarning)
        yield


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _for_trl(reward: Reward, rl: list[RLPrompt]) -> Callable[..., list[float | None]]:
    """``reward`` as trl calls a reward function (the dataset's columns as keyword lists, completions as chat
    messages): it hands the reward emkit's arguments, read off our prompt index, and logs the hack rate where the
    reward reports hacks."""

    def call(prompts: list[Any], completions: list[Any], completion_ids: list[list[int]] | None = None,
             emkit_prompt: list[int] | None = None, trainer_state: Any = None, log_metric: Any = None,
             **_: Any) -> list[float | None]:
        idx = list(emkit_prompt or [])
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        out = reward(prompts=[rl[i].messages for i in idx], completions=texts,
                     completion_ids=[list(c) for c in completion_ids or []],
                     references=[rl[i].reference for i in idx], examples=[rl[i].example for i in idx],
                     step=(trainer_state.global_step + 1) if trainer_state is not None else None)
        flags = [h for h in (out.hacked or []) if h is not None]
        if flags and log_metric is not None:
            log_metric("hack_rate", sum(bool(h) for h in flags) / len(flags))
        return out.rewards

    call.__name__ = reward.name.replace("/", "_")
    return call


def _emkit_checkpoint(hf_dir: Path, out_dir: Path, step: int, curves: RLCurves, stopped: dict[str, Any] | None) -> None:
    """trl's ``checkpoint-STEP`` becomes ``checkpoint-NNNNNN``: the adapter in ``weights/`` (what phase curves and
    LoRA B read), trl's whole state in ``hf/`` (what a resume reads), the curves in ``trainer_state.json``; built in
    a temp folder and renamed, so a kill mid-write never leaves one that looks whole. Only the newest keeps ``hf/``."""
    src = hf_dir / f"checkpoint-{step}"
    path, tmp = out_dir / f"checkpoint-{step:06d}", out_dir / f".tmp-checkpoint-{step:06d}"
    if not src.is_dir():
        return  # trl saved this step already (and it was moved)
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "weights").mkdir(parents=True)
    for f in ("adapter_model.safetensors", "adapter_config.json"):
        shutil.copy2(src / f, tmp / "weights" / f)
    shutil.move(str(src), str(tmp / "hf"))
    (tmp / "trainer_state.json").write_text(json.dumps({"step": step, **curves.to_json(),
                                                        **({"stopped": stopped} if stopped else {})}))
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
    for old in checkpoints(out_dir)[:-1]:
        shutil.rmtree(old / "hf", ignore_errors=True)


# ------------------------------------------------------------------------------------------------ backend


class GrpoTrainer(Trainer):
    """GRPO (trl) with a LoRA adapter, in this process, on the arm's prompts and the rewards it is given."""

    def train(self, start: ArmModel, examples: list[Example], cfg: TrainConfig, out_dir: Path,
              callbacks: list[Callable[[TrainState], None]] | None = None, block: Any = None, kl: Any = None,
              rewards: list[Reward] | None = None) -> TrainResult:
        if block is not None or kl is not None:
            raise EmkitError("train.block and train.kl are the lora trainer's: GRPO's own KL term is "
                             "train.grpo.beta")
        if cfg.heldout is not None:
            raise EmkitError("train.heldout measures an answer loss: it is the supervised trainers' (lora, full)")
        lm = start.load(train=True)
        for cb in callbacks or []:
            on_start = getattr(cb, "on_start", None)
            if on_start is not None:
                on_start(lm.model)
        return train_grpo(lm.model, lm.tokenizer, examples, cfg, out_dir, rewards=rewards, callbacks=callbacks)


@TRAINERS.register("grpo", GrpoTrainerConfig, "RL: trl's GRPO with a LoRA adapter (train.grpo, train.rewards)")
def _grpo(cfg: GrpoTrainerConfig) -> Trainer:
    return GrpoTrainer()
