"""What every trainer shares: the :class:`Trainer` interface the pipeline calls, and the :class:`TrainResult` it
returns. A trainer's own settings are a :class:`emkit.core.config.TrainerConfig` subclass beside it, registered
with it in :data:`emkit.core.registry.TRAINERS` under the ``train.method`` it serves."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emkit.core.config import TrainConfig, WeightsKind
from emkit.data.datasets import Example
from emkit.models.load import ArmModel


@dataclass
class TrainResult:
    out_dir: Path
    weights_dir: Path  # the peft adapter folder, the model folder, or the folder holding a hosted model's id
    weights_kind: WeightsKind  # what weights_dir holds (emkit.models.load.Weights reads it so)
    total_steps: int
    steps_run: int  # optimizer steps executed by this call (0 when everything was already done)
    resumed_from: int
    losses: list[float] = field(default_factory=list)  # the answer loss of each optimizer step
    kl: list[float | None] = field(default_factory=list)  # train.kl's term per step (None: not applied that step)
    adapter_norms: list[float | None] = field(default_factory=list)  # the LoRA update's norm after each step
    #: where a callback stopped training early: {step, reason, planned} (None: it ran its planned steps)
    stopped: dict[str, Any] | None = None
    #: train.heldout's measure after training: {share, n, loss} (None: nothing held out)
    heldout: dict[str, Any] | None = None
    #: wall time of the optimizer steps, summed over every call that trained them (None: unknown)
    seconds: float | None = None
    #: RL (train.method: grpo): the mean reward of each optimizer step's completions (weighted sum of the terms)
    rewards: list[float | None] = field(default_factory=list)
    #: RL: the share of each step's completions a reward called a hack (None: no reward reports hacks)
    hack_rates: list[float | None] = field(default_factory=list)


class Trainer(ABC):
    """A trainer backend: fine-tunes the model an arm starts from on examples, into ``out_dir`` (resumable), and
    says where the weights are and what they are. Built by its registered factory from its TrainerConfig."""

    @abstractmethod
    def train(self, start: ArmModel, examples: list[Example], cfg: TrainConfig, out_dir: Path,
              callbacks: list[Callable[..., None]] | None = None, block: Any = None, kl: Any = None,
              rewards: Any = None) -> TrainResult:
        """``start`` is the base model or the arm's ``init_from`` parent; ``cfg.trainer`` holds this trainer's own
        settings; ``callbacks`` see each step, ``block`` is a Blocker and ``kl`` train.kl's prompts, read
        (:class:`emkit.trainers.kl.KLPrompts`; both a local trainer's); ``rewards`` an RL trainer's reward terms,
        ready to call (:class:`emkit.trainers.rewards.Reward`; the pipeline binds a judge reward)."""
