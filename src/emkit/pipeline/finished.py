"""A run as one record: its folder, its experiment, its answers and what was measured on them. ``emkit run``
returns one (with what that call did), :func:`load_run` reads one back for later workflows (re-judging, interp,
studies on an earlier run), the view reads one per page, and the report is written from one. Its arms' models
come from one resolver (:class:`emkit.models.load.ArmModel`).

Nothing heavy is imported here (judges and models load torch): the view reads runs without them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from emkit.core.records import Answer, Condition, Judgment, Question
from emkit.core.store import Store, open_store
from emkit.data.inoculation import ask_arm
from emkit.data.questions import ask, load_questions

if TYPE_CHECKING:
    from emkit.metrics.rates import Summary
    from emkit.models.load import ArmModel, LoadedModel
    from emkit.pipeline.studies import StudyTables


@dataclass
class FinishedRun:
    """A run: where it lives, its config and answers; once measured (``emkit run``), its own judge's verdicts,
    summaries, studies and training curves; and what the call that returned it did (zero for a run read back)."""

    name: str
    run_dir: Path
    config: dict[str, Any]
    answers: list[Answer]
    #: the store, open while a workflow reads weights or the judge cache through the run (``with load_run(...)``)
    store: Store | None = None
    # measured: the run's own judge on its answers, and what follows from the verdicts
    judgments: dict[tuple[str, str], Judgment] = field(default_factory=dict, repr=False)
    summaries: list[Summary] = field(default_factory=list, repr=False)
    judge_info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    studies: StudyTables | None = None
    losses: dict[str, list[float]] = field(default_factory=dict)  # answer loss per step (supervised arms)
    #: per arm, per optimizer step: train.kl's term (None on steps it skipped), for arms trained with it
    kl: dict[str, list[float | None]] = field(default_factory=dict)
    #: per arm, per optimizer step: the LoRA update's norm after the step (efficiency: loss against norm)
    adapter_norms: dict[str, list[float | None]] = field(default_factory=dict)
    #: per RL arm (train.method: grpo), per optimizer step: the mean reward of its completions
    rewards: dict[str, list[float | None]] = field(default_factory=dict)
    #: per RL arm whose reward reports hacks, per optimizer step: the share of its completions that hacked it
    hack_rates: dict[str, list[float | None]] = field(default_factory=dict)
    monitor: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # per arm: direction readings by step
    #: per arm stopped early by the monitor: {step, reason, planned}
    stopped: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: per arm trained with train.heldout: {share, n, loss}, the in-domain task measure beside its EM
    heldout: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: per fine-tuned arm: {steps, seconds}, what its training cost (seconds: the optimizer steps' wall time,
    #: None for a trainer that does not time them or a training finished before they were timed)
    training: dict[str, dict[str, Any]] = field(default_factory=dict)
    # what the call that returned this record did
    train_steps: int = 0  # optimizer steps run
    answers_generated: int = 0
    judge_calls: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # wall time by stage
    #: variant (None: the set as written) -> its questions as asked, by id; rebuilt once per record (:meth:`asked`)
    _asked: dict[tuple[str | None, str | None], dict[str, Question]] = field(default_factory=dict, repr=False,
                                                                              init=False)

    @classmethod
    def of(cls, exp: Experiment) -> FinishedRun:
        """An experiment's run before anything is read or done (``emkit run`` fills it in)."""
        run = cls(exp.name, exp.run_dir, exp.model_dump(mode="json"), [])
        run.__dict__["experiment"] = exp  # the cached_property's value: the experiment as given
        return run

    def __enter__(self) -> FinishedRun:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.store is not None:
            self.store.close()

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0

    @property
    def report(self) -> Path:
        return self.folder.report

    @property
    def opened(self) -> Store:
        if self.store is None:
            raise EmkitError(f"run '{self.name}' was read without its store: open it with load_run")
        return self.store

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
        got = self.opened.stage(self.name, arm, "train")
        if got is None or not Path(got[1]["weights"]).is_dir():
            raise EmkitError(f"run '{self.name}': arm '{arm}' has no finished training (run `emkit run` first)")
        return Path(got[1]["weights"])

    def training_cost(self, arm: str) -> tuple[int, float | None] | None:
        """Optimizer steps and their seconds of the arm's training with its lineage's (a continued arm's parent
        included); None for an arm not trained here; seconds None where any training in the lineage is untimed
        (never a short sum)."""
        done = [self.training.get(a.name) for a in self.experiment.lineage(self.arm(arm))]
        if None in done:
            return None
        secs = [t["seconds"] for t in done]
        return sum(t["steps"] for t in done), (None if None in secs else sum(secs))

    def arm_model(self, arm: str) -> ArmModel:
        """The arm's model as a record: base plus its ``init_from`` lineage's weights (see ArmModel)."""
        from emkit.models.load import ArmModel, Weights

        a = self.arm(arm)
        exp = self.experiment
        lineage = exp.lineage(a) if a.dataset else []
        return ArmModel(exp.model_for(a), tuple(Weights(self.weights(x.name), exp.train_for(x).weights_kind)
                                                for x in lineage))

    def load_arm(self, arm: str) -> LoadedModel:
        return self.arm_model(arm).load()

    def asked(self, variant: str | None, arm: str | None = None) -> dict[str, Question]:
        """The questions exactly as the run asked them under a prompt variant (None: as its set writes them), by
        id: rebuilt from the run's experiment with the functions the run itself used (load_questions, then ask),
        so a prefix, suffix, system prompt, in-context shots or another set come back as they were sent. A variant
        with an inoculation placeholder asks each arm its own way: name the ``arm``."""
        exp = self.experiment
        v = None
        if variant is not None:
            v = next((x for x in exp.eval.variants or [] if x.name == variant), None)
            if v is None:
                raise EmkitError(f"run '{self.name}': its experiment has no prompt variant '{variant}'")
        key = (variant, arm if v is not None and v.placeholders else None)
        if key not in self._asked:
            if key[1] is None and v is not None and v.placeholders:
                raise EmkitError(f"run '{self.name}': variant '{variant}' asks each arm with its own inoculation "
                                 "prompt: name the arm")
            questions = load_questions(exp.eval.questions, exp.base_dir, exp.eval.system_prompt)
            asked = (ask_arm(questions, v, exp.arm_named(key[1]), exp.base_dir, exp.eval.system_prompt)
                     if key[1] is not None else ask(questions, v, exp.base_dir, exp.eval.system_prompt))
            self._asked[key] = {q.id: q for q in asked}
        return self._asked[key]

    def sent_messages(self, answer: Answer) -> list[dict[str, str]]:
        """The chat messages the model read before it wrote this answer (system prompt, in-context shots, the
        question with a variant's prefix and suffix), built by the samplers' own
        :meth:`emkit.core.records.Question.messages`. An answer records the question as its set wrote it; if the
        set gives another question now (or none under that id), it changed since the run and the prompt cannot
        be rebuilt: an EmkitError says so, rather than a prompt the model never read."""
        cond = Condition.parse(answer.arm)
        q = self.asked(cond.variant, cond.arm).get(answer.question_id)
        exp = self.experiment
        v = next((x for x in exp.eval.variants or [] if x.name == cond.variant), None)
        spec = v.questions if v is not None and v.questions else exp.eval.questions
        if q is None:
            raise EmkitError(f"run '{self.name}': question '{answer.question_id}' of '{answer.arm}' is not in the "
                             f"question set '{spec}' any more: the set changed since the run")
        if (q.original or (q.text, q.system)) != (answer.question, answer.system):
            raise EmkitError(f"run '{self.name}': question '{answer.question_id}' of '{answer.arm}' reads "
                             f"differently in the question set '{spec}' now than when the run asked it: the set "
                             "changed since the run")
        return q.messages()

    def judged(self, answers: list[Answer] | None = None) -> dict[tuple[str, str], Judgment]:
        """The run's judge on these answers (default: the run's), through the cache."""
        from emkit.judges import judge_answers

        got, _ = judge_answers(self.answers if answers is None else answers, self.opened, self.judge)
        return got


def load_run(run_dir: str | Path) -> FinishedRun:
    """A finished run read back from its folder and store (``<output_dir>/emkit.sqlite``), which it keeps open
    until closed (``with load_run(...) as run``): every condition its experiment asks for must have answers."""
    run_dir = Path(run_dir)
    cfg_file = RunFolder(run_dir).config
    if not cfg_file.is_file():
        raise EmkitError(f"not a run folder: {cfg_file} not found (pass runs/<name>)")
    config = read_settings(cfg_file, "run config")
    exp = experiment_from_dict(dict(config), source=str(cfg_file))
    store = open_store(run_dir.parent)
    try:
        run = read_run(store, config["name"], run_dir, config, exp)
    except BaseException:
        store.close()
        raise
    run.store = store
    return run


def read_run(store: Store, name: str, run_dir: Path, config: dict[str, Any] | None = None,
             exp: Experiment | None = None) -> FinishedRun:
    """A run's answers from a store. With its experiment (``exp``), the conditions it asks for, each required;
    without (the view, which also shows runs an older emkit wrote), every condition sampled, in the order they
    finished. The config is the run folder's, or the one the store recorded."""
    if config is None:
        config = store.run_config(name)
        if config is None:
            raise EmkitError(f"no run named '{name}' in {store.path}")
    answers: list[Answer] = []
    if exp is not None:
        for cond, _ in exp.condition_keys():
            got = store.stage(name, cond.label, "sample")
            if got is None:
                raise EmkitError(f"run '{name}' has no finished samples for '{cond.label}' in {store.path}")
            answers += store.samples(name, cond.label, got[0])
        if not answers:
            raise EmkitError(f"run '{name}' has no answers")
    else:
        for label, fp in store.sampled_conditions(name):
            answers += store.samples(name, label, fp)
    run = FinishedRun(name, run_dir, config, answers)
    if exp is not None:
        run.__dict__["experiment"] = exp  # parsed already: the cached_property's value
    return run
