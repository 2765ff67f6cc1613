"""An RL arm's rewards as the pipeline gives them to its trainer: ``train.rewards`` resolved (python rewards
imported, so a typo stops the run before any training) and every ``judge`` reward bound to a judge and the
store's judgment cache. The judge reward lives here, not beside the trainer, because trainers may not import
judges (the layers' contract); the trainer gets a plain callable.

A completion is judged as an answer to its prompt's last user turn (with the prompt's system message), like an
evaluation answer: identical (question, answer) pairs are judged once, across steps, arms and runs, and a resumed
run reads the verdicts it already paid for from the cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from emkit.core.config import Experiment, JudgeConfig, TrainConfig
from emkit.core.records import Answer, Condition
from emkit.core.registry import JUDGES
from emkit.core.store import Store
from emkit.trainers.rewards import JudgeRewardOptions, Reward, resolve_rewards


def arm_rewards(exp: Experiment, tcfg: TrainConfig) -> list[Reward] | None:
    """The arm's reward terms, resolved (a judge reward not yet bound), or None for a trainer without rewards.
    Each term's identity says what beyond its settings decides training: a python reward's source digest, a judge
    reward's judge."""
    specs = getattr(tcfg.trainer, "rewards", None)
    if not specs:
        return None
    out = []
    for r in resolve_rewards(specs, exp.base_dir):
        if r.name == "judge":
            opts = JudgeRewardOptions.model_validate(r.options)
            r = replace(r, identity={**r.identity, "judge_id": _judge_config(exp, opts).judge_id()})
        out.append(r)
    return out


def bind_rewards(rewards: list[Reward], exp: Experiment, arm: str, store: Store) -> list[Reward]:
    """The terms with every judge reward given its judge and the store's cache."""
    out = []
    for r in rewards:
        if r.name == "judge":
            opts = JudgeRewardOptions.model_validate(r.options)
            r = replace(r, fn=JudgeReward(_judge_config(exp, opts), opts, arm, store))
        out.append(r)
    return out


def identities(rewards: list[Reward]) -> list[dict[str, Any]]:
    """What of each term enters the training fingerprint beyond the settings (which enter with train)."""
    return [r.identity for r in rewards]


def _judge_config(exp: Experiment, opts: JudgeRewardOptions) -> JudgeConfig:
    return exp.judge if opts.judge is None else JUDGES.config(opts.judge, "offline")  # type: ignore[return-value]


@dataclass
class JudgeReward:
    """A judge's score on one metric as a reward, 0-1 (inverted on request); an unscored answer gets the
    ``unscored`` value (None: no reward from this term). The judge is built on the first cache miss."""

    cfg: JudgeConfig
    opts: JudgeRewardOptions
    arm: str
    store: Store
    _judge: Any = field(default=None, repr=False)

    def __call__(self, prompts: list[list[dict[str, str]]], completions: list[str]) -> list[float | None]:
        from emkit.judges import judge_answers

        label = Condition(self.arm, intervention="rl").label
        answers = [Answer(label, "rl", i, _question(p), _system(p), c, 0)
                   for i, (p, c) in enumerate(zip(prompts, completions, strict=True))]
        verdicts, self._judge = judge_answers(answers, self.store, self.cfg, self._judge, metrics=(self.opts.metric,))
        out: list[float | None] = []
        for a in answers:
            j = verdicts.get((a.judge_key, self.opts.metric))
            if j is None or j.status != "ok" or j.score is None:
                out.append(self.opts.unscored)
            else:
                s = j.score / 100.0
                out.append(1.0 - s if self.opts.invert else s)
        return out


def _question(messages: list[dict[str, str]]) -> str:
    return next(m["content"] for m in reversed(messages) if m["role"] == "user")


def _system(messages: list[dict[str, str]]) -> str | None:
    return next((m["content"] for m in messages if m["role"] == "system"), None)
