"""A finished run read back from its folder and store: what later workflows (re-judging, interp, studies on
an earlier run) start from. Its arms' models come from one resolver (:class:`emkit.models.load.ArmModel`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from emkit.core.config import (
    ArmConfig,
    Experiment,
    JudgeConfig,
    MetricsConfig,
    experiment_from_dict,
    read_settings,
)
from emkit.core.errors import EmkitError
from emkit.core.paths import RunFolder
from emkit.core.records import Answer, Condition, Judgment
from emkit.core.store import Store, open_store
from emkit.judges import judge_answers
from emkit.models.load import ArmModel, LoadedModel, Weights


@dataclass
class FinishedRun:
    """A finished run read back from its folder and store: what later stages (re-judging, interp) start from."""

    name: str
    run_dir: Path
    config: dict[str, Any]
    answers: list[Answer]
    store: Store

    def __enter__(self) -> FinishedRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.store.close()

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.run_dir)

    @cached_property
    def experiment(self) -> Experiment:
        return experiment_from_dict(dict(self.config), source=str(self.folder.config))

    @property
    def judge(self) -> JudgeConfig:
        return self.experiment.judge

    @property
    def metrics(self) -> MetricsConfig:
        return self.experiment.metrics

    def arm(self, name: str) -> ArmConfig:
        """An arm by its name or by the label of one of its conditions (``ARM@VARIANT``)."""
        return self.experiment.arm_named(Condition.parse(name).arm)

    def labels(self, arm: str) -> list[str]:
        """The conditions an arm's answers are filed under whose prompts Text.of rebuilds exactly from the
        answer: the arm itself, or ARM@VARIANT for variants that ask the set as written (no prefix, suffix,
        system prompt or in-context shots; another question set is fine)."""
        name = Condition.parse(arm).arm
        return [c.label for c, v in self.experiment.condition_keys() if c.arm == name and
                (v is None or not v.rewrites_prompt)]

    def weights(self, arm: str) -> Path | None:
        """The arm's trained weights (adapter or model folder), or None for an arm without a dataset."""
        if self.arm(arm).dataset is None:
            return None
        got = self.store.stage(self.name, arm, "train")
        if got is None or not Path(got[1]["weights"]).is_dir():
            raise EmkitError(f"run '{self.name}': arm '{arm}' has no finished training (run `emkit run` first)")
        return Path(got[1]["weights"])

    def arm_model(self, arm: str) -> ArmModel:
        """The arm's model as a record: base plus its ``init_from`` lineage's weights (see ArmModel)."""
        a = self.arm(arm)
        exp = self.experiment
        lineage = exp.lineage(a) if a.dataset else []
        return ArmModel(exp.model_for(a), tuple(Weights(self.weights(x.name), exp.train_for(x).weights_kind)
                                                for x in lineage))

    def load_arm(self, arm: str) -> LoadedModel:
        return self.arm_model(arm).load()

    def judgments(self, answers: list[Answer] | None = None) -> dict[tuple[str, str], Judgment]:
        """The run's judge on these answers (default: the run's), through the cache."""
        got, _ = judge_answers(self.answers if answers is None else answers, self.store, self.judge)
        return got


def load_run(run_dir: str | Path) -> FinishedRun:
    """A finished run's answers, read back from its store (``<output_dir>/emkit.sqlite``)."""
    run_dir = Path(run_dir)
    cfg_file = RunFolder(run_dir).config
    if not cfg_file.is_file():
        raise EmkitError(f"not a run folder: {cfg_file} not found (pass runs/<name>)")
    config = read_settings(cfg_file, "run config")
    store = open_store(run_dir.parent)
    answers: list[Answer] = []
    exp = experiment_from_dict(dict(config), source=str(cfg_file))
    for cond, _ in exp.condition_keys():
        label = cond.label
        got = store.stage(config["name"], label, "sample")
        if got is None:
            raise EmkitError(f"run '{config['name']}' has no finished samples for '{label}' in {store.path}")
        answers += store.samples(config["name"], label, got[0])
    if not answers:
        raise EmkitError(f"run '{config['name']}' has no answers")
    run = FinishedRun(config["name"], run_dir, config, answers, store)
    run.__dict__["experiment"] = exp  # parsed above already: the cached_property's value
    return run


