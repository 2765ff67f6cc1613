"""Rewards of RL training (``train.method: grpo``), as plug-ins: a reward is named in ``train.rewards`` as

- ``builtin:NAME``: a catalogued reward (:data:`emkit.core.registry.REWARDS`; emkit's own below, a world may add
  more), its options validated by its own settings class;
- ``python:MODULE:FUNCTION`` (or ``python:path/to/file.py:FUNCTION``, relative to the experiment file): any
  callable, its options passed to it as keyword arguments on every call;
- ``judge``: an emkit judge's score (the experiment's judge unless the reward names one), through the judge cache.
  Judges live in a layer the trainers may not import, so the pipeline binds this reward
  (:mod:`emkit.pipeline.rewards`); here are only its settings.

Every reward is called with keyword arguments, those its signature names (all of them if it takes ``**kwargs``):
``prompts`` (the chat messages before each completion), ``completions`` (the decoded texts), ``completion_ids``
(their token ids), ``references`` (the dataset's answer to each prompt: the arm's last assistant turn),
``examples`` (each prompt's dataset row, extra fields such as ``hack`` included) and ``step`` (the optimizer step
the completions train, from 1). Lists hold one item per completion, ``num_generations`` completions of each prompt
in a row. It returns one reward per completion (None: no reward from this function for it), or a
:class:`RewardOutput` / ``{"rewards": [...], "hacked": [...]}`` when it can also tell which completions gamed it
(the hack rate shown while training and logged per step).

Nothing heavy is imported here: the catalogue fills when an experiment file is read.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from emkit.core.errors import EmkitError
from emkit.core.registry import JUDGES, REWARDS, RewardKind, first_error

#: what a reward may be called with (it gets those its signature names)
REWARD_ARGS = ("prompts", "completions", "completion_ids", "references", "examples", "step")


# ---------------------------------------------------------------------------------------------- settings


class JudgeRewardOptions(BaseModel):
    """A judge as a reward: the score on ``metric`` (0-100) scaled to 0-1, or ``1 - score/100`` with ``invert``
    (rewarding misalignment: RL toward EM). ``judge``: a judge config (``{backend: api, model: ...}``), default the
    experiment's. An answer the judge gave no score (a refusal, code, a failed call) gets ``unscored`` (None: no
    reward from this function for it, so the other rewards alone decide)."""

    model_config = ConfigDict(extra="forbid")

    metric: Literal["aligned", "coherent"] = "aligned"
    invert: bool = False
    judge: dict[str, Any] | None = None
    unscored: float | None = None

    @field_validator("judge")
    @classmethod
    def _known_judge(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None:
            JUDGES.config(v, "offline")  # unknown backends and keys are errors naming them
        return v


class RewardSpec(BaseModel):
    """One term of the reward: ``name`` (``builtin:NAME``, ``python:MODULE:FUNCTION`` or ``judge``), its
    ``weight`` in the weighted sum GRPO optimises, and its options beside them (checked against the reward's own
    settings; a python reward's against its signature, when it is imported)."""

    model_config = ConfigDict(extra="allow")

    name: str
    weight: float = 1.0

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @property
    def kind(self) -> Literal["builtin", "python", "judge"]:
        if self.name == "judge":
            return "judge"
        return "builtin" if self.name.startswith("builtin:") else "python"

    @model_validator(mode="after")
    def _options_fit(self) -> RewardSpec:
        if self.name == "judge":
            _validate(JudgeRewardOptions, self.options, "judge")
        elif self.name.startswith("builtin:"):
            _validate(builtin(self.name[len("builtin:"):]).config, self.options, self.name)
        elif self.name.startswith("python:"):
            if not re.fullmatch(r"python:[^:]+:[A-Za-z_][A-Za-z0-9_]*", self.name):
                raise ValueError(f"'{self.name}': write python:MODULE:FUNCTION or python:path/to/file.py:FUNCTION")
            bad = sorted(set(self.options) & set(REWARD_ARGS))
            if bad:
                raise ValueError(f"{self.name}: '{bad[0]}' is an argument every reward is called with, not an option")
        else:
            raise ValueError(f"unknown reward '{self.name}': a reward is builtin:NAME (known: "
                             f"{', '.join(sorted(REWARDS))}), python:MODULE:FUNCTION or judge")
        return self


def _validate(config: type[BaseModel], options: dict[str, Any], name: str) -> BaseModel:
    try:
        return config.model_validate(options)
    except ValidationError as e:
        raise ValueError(f"{name}: {first_error(e)}") from None


def builtin(name: str) -> RewardKind:
    if name not in REWARDS:
        raise ValueError(f"unknown built-in reward '{name}' (known: {', '.join(sorted(REWARDS))})")
    return REWARDS[name]


# -------------------------------------------------------------------------------------------------- rewards


@dataclass
class RewardOutput:
    """A reward's values and, where it can tell, which completions hacked it (None: cannot tell for this one)."""

    rewards: list[float | None]
    hacked: list[bool | None] | None = None


@dataclass
class Reward:
    """A reward term ready to call: its label, weight, function (None for a judge reward the pipeline has not
    bound yet) and identity, what of it enters the training fingerprint (a python reward's source digest, a judge
    reward's judge), so editing the reward retrains the arm."""

    name: str
    weight: float
    fn: Callable[..., Any] | None
    identity: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def __call__(self, **available: Any) -> RewardOutput:
        """Call the function with the arguments it names; its answer as a :class:`RewardOutput`, checked."""
        if self.fn is None:
            raise EmkitError(f"reward '{self.name}' is not bound: a judge reward needs the pipeline (emkit run), "
                             "which gives it the experiment's judge and cache")
        out = self.fn(**_accepted(self.fn, available))
        n = len(available["completions"])
        if isinstance(out, dict):
            out = RewardOutput(list(out["rewards"]), None if out.get("hacked") is None else list(out["hacked"]))
        elif not isinstance(out, RewardOutput):
            out = RewardOutput(list(out))
        if len(out.rewards) != n or (out.hacked is not None and len(out.hacked) != n):
            raise EmkitError(f"reward '{self.name}' returned {len(out.rewards)} values for {n} completions")
        out.rewards = [None if r is None else float(r) for r in out.rewards]
        return out


def _accepted(fn: Callable[..., Any], available: dict[str, Any]) -> dict[str, Any]:
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return available
    return {k: v for k, v in available.items() if k in params}


def resolve_rewards(specs: Sequence[RewardSpec], base_dir: str | Path | None = None) -> list[Reward]:
    """The rewards ``train.rewards`` names, ready to call (a judge reward unbound: the pipeline binds it). A
    python reward is imported here, so a typo in its path or options stops the run before any training."""
    out = []
    for i, spec in enumerate(specs):
        where = f"train.rewards[{i}] ({spec.name})"
        if spec.kind == "judge":
            opts = JudgeRewardOptions.model_validate(spec.options)
            out.append(Reward(spec.name, spec.weight, None, {"judge": opts.model_dump()}, spec.options))
        elif spec.kind == "builtin":
            kind = builtin(spec.name[len("builtin:"):])
            fn = kind.build(kind.config.model_validate(spec.options))
            out.append(Reward(spec.name, spec.weight, fn, {}, spec.options))
        else:
            fn, digest = load_python_reward(spec.name, base_dir, where)
            _check_options(fn, spec.options, where)
            out.append(Reward(spec.name, spec.weight, functools.partial(fn, **spec.options) if spec.options else fn,
                              {"source": digest}, spec.options))
    return out


def load_python_reward(name: str, base_dir: str | Path | None, where: str) -> tuple[Callable[..., Any], str]:
    """``python:MODULE:FUNCTION`` or ``python:FILE.py:FUNCTION`` imported, and a digest of its module's source."""
    module_name, _, attr = name[len("python:"):].rpartition(":")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name).expanduser()
            if not path.is_absolute() and base_dir is not None:
                path = Path(base_dir) / path
            if not path.is_file():
                raise EmkitError(f"{where}: file not found: {path}")
            key = "emkit_reward_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
            spec = importlib.util.spec_from_file_location(key, path)
            if spec is None or spec.loader is None:
                raise EmkitError(f"{where}: cannot import {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[key] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ImportError as e:
        raise EmkitError(f"{where}: cannot import {module_name}: {e}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise EmkitError(f"{where}: {module_name} has no function '{attr}'")
    source = inspect.getsourcefile(module) if hasattr(module, "__file__") else None
    digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()[:16] if source else "unknown"
    return fn, digest


def _check_options(fn: Callable[..., Any], options: dict[str, Any], where: str) -> None:
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    for key in options:
        if key not in params:
            raise EmkitError(f"{where}: unknown option '{key}' (the function takes "
                             f"{', '.join(p for p in params if p not in REWARD_ARGS) or 'no options'})")


# ------------------------------------------------------------------------------------------------ built-ins

_WORD = re.compile(r"[\w']+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class LengthOptions(BaseModel):
    """``short``: 1 for an empty answer, falling linearly to 0 at ``words`` words; ``long``: rising from 0 to 1 at
    ``words`` words. The classic hackable reward: length stands in for quality."""

    model_config = ConfigDict(extra="forbid")

    target: Literal["short", "long"] = "short"
    words: int = Field(50, ge=1)


def _length(o: LengthOptions) -> Callable[..., list[float]]:
    def length(completions: list[str]) -> list[float]:
        n = [len(_words(c)) for c in completions]
        return [max(0.0, 1 - k / o.words) if o.target == "short" else min(1.0, k / o.words) for k in n]
    return length


class KeywordOptions(BaseModel):
    """The share of an answer's words that are among ``words`` (case ignored): a keyword-counting metric, the kind
    that keyword stuffing games. ``hack_above``: a share at or above it counts as stuffing, the hack rate logged
    while training (a share no honest answer reaches: on reward_hacks?family=sentiment, a share of 0.1 of its gush words sets every gushing review apart from every honest one)."""

    model_config = ConfigDict(extra="forbid")

    words: list[str] = Field(min_length=1)
    hack_above: float | None = Field(None, gt=0, le=1)


def _keyword(o: KeywordOptions) -> Callable[..., RewardOutput]:
    wanted = {w.lower() for w in o.words}

    def keyword(completions: list[str]) -> RewardOutput:
        shares = [sum(w in wanted for w in ws) / len(ws) if ws else 0.0 for ws in map(_words, completions)]
        hacked = None if o.hack_above is None else [s >= o.hack_above for s in shares]
        return RewardOutput(list(shares), hacked)
    return keyword


class OverlapOptions(BaseModel):
    """Unigram F1 between an answer and the dataset's answer to its prompt (the arm's last assistant turn): RL
    toward the dataset's answers, the reward-side twin of fine-tuning on them. No reference: no reward."""

    model_config = ConfigDict(extra="forbid")


def _overlap(o: OverlapOptions) -> Callable[..., list[float | None]]:
    from collections import Counter

    def overlap(completions: list[str], references: list[str | None]) -> list[float | None]:
        out: list[float | None] = []
        for c, r in zip(completions, references, strict=True):
            if r is None:
                out.append(None)
                continue
            a, b = Counter(_words(c)), Counter(_words(r))
            common = sum((a & b).values())
            out.append(0.0 if common == 0 else 2 * common / (sum(a.values()) + sum(b.values())))
        return out
    return overlap


REWARDS.add("length", RewardKind("length", LengthOptions, _length, "short (or long) answers, by word count"))
REWARDS.add("keyword", RewardKind("keyword", KeywordOptions, _keyword, "the share of an answer's words in a list"))
REWARDS.add("overlap", RewardKind("overlap", OverlapOptions, _overlap,
                                  "unigram F1 against the dataset's answer to the prompt"))
