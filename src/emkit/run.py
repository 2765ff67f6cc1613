"""The main flow, top to bottom: for each arm, train (if it has a dataset) and sample; then judge every
answer, summarise, and write the report. Every stage is skipped when its fingerprinted artifact exists, so a
re-run of a finished experiment trains nothing, samples nothing and calls no judge.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml

from emkit.config import (
    ArmConfig,
    Experiment,
    JudgeConfig,
    MetricsConfig,
    MonitorConfig,
    VariantConfig,
    condition_label,
    experiment_from_dict,
    fingerprint,
    split_label,
)
from emkit.data import DatasetInfo, Example, check_lengths, load_dataset
from emkit.errors import EmkitError
from emkit.judge import judge_answers, judge_id
from emkit.metrics import Summary, summarize, to_frame
from emkit.models import ArmModel, LoadedModel, Weights, load_tokenizer, model_identity, model_source
from emkit.progress import log
from emkit.questions import ask, load_questions
from emkit.records import Answer, Judgment, Question
from emkit.report import write_report
from emkit.sample import read_answers, sample
from emkit.store import Store, open_store
from emkit.train import train


@dataclass
class RunResult:
    run_dir: Path
    report: Path
    summaries: list[Summary]
    train_steps: int = 0  # optimizer steps run by this call
    answers_generated: int = 0
    judge_calls: int = 0
    losses: dict[str, list[float]] = field(default_factory=dict)
    monitor: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # per arm: direction readings by step
    seconds: dict[str, float] = field(default_factory=dict)  # wall time by stage, this call

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0


def run_experiment(exp: Experiment) -> RunResult:
    run_dir = exp.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(exp.model_dump(mode="json"), sort_keys=False))
    store = open_store(exp.resolve(exp.output_dir))
    store.record_run(exp.name, exp.model_dump(mode="json"))
    # check every input before any heavy work: a typo should cost a second, not a training run
    for name in dict.fromkeys([exp.model.name] + [a.model for a in exp.arms if a.model]):
        model_source(name)
    questions = load_questions(exp.eval.questions, exp.base_dir, exp.eval.system_prompt)
    asked = {v.name: ask(questions, v, exp.base_dir, exp.eval.system_prompt) for v in exp.eval.variants or []}
    datasets = {a.name: load_dataset(a.dataset, exp.base_dir) for a in exp.arms if a.dataset}
    _check_lengths(exp, datasets)
    for arm in exp.arms:
        if arm.dataset and exp.train_for(arm).block:
            _file_digest(exp.resolve(exp.train_for(arm).block.direction))  # type: ignore[union-attr]

    result = RunResult(run_dir, run_dir / "report.html", [])
    answers: list[Answer] = []
    trained: dict[str, tuple[Path, str]] = {}  # arm -> (weights, train fingerprint), for init_from
    for arm in exp.arms:
        with result.timed("train"):
            if arm.dataset:
                trained[arm.name] = _train_arm(exp, arm, datasets[arm.name], store, result, trained)
            weights, train_fp = trained.get(arm.name, (None, "base"))
        # the arm's model, loaded on first use (a fully cached arm loads nothing) and once for all its variants
        model = cache(_arm_model(exp, arm, exp.lineage(arm) if arm.dataset else [], trained).load)

        for _, variant in (c for c in exp.conditions() if c[0] is arm):
            qs = asked[variant.name] if variant else questions
            with result.timed("sample"):
                answers += _sample_arm(exp, arm, variant, qs, model, train_fp, store, result)

    with result.timed("judge"):
        judgments, judge = judge_answers(answers, store, exp.judge)
    result.judge_calls = judge.calls if judge else 0
    store.event(exp.name, "run", train_steps=result.train_steps, answers_generated=result.answers_generated,
                judge_calls=result.judge_calls)
    result.summaries = summarize(answers, judgments, exp.metrics)
    judge_info = {"id": judge.id if judge else judge_id(exp.judge), **(judge.info if judge else {})}
    if judge is None:  # fully cached: reuse what the judge said about itself last time
        judge_info = json.loads((run_dir / "metrics.json").read_text()).get("judge", judge_info) \
            if (run_dir / "metrics.json").is_file() else judge_info
    t_report = time.perf_counter()
    frame = to_frame(result.summaries)
    frame.to_parquet(run_dir / "metrics.parquet")
    (run_dir / "metrics.json").write_text(json.dumps({"judge": judge_info, "rows": frame.to_dict("records")},
                                                     indent=1, default=str))
    write_report(result.report, name=exp.name, config=exp.model_dump(mode="json"), summaries=result.summaries,
                 answers=answers, judgments=judgments, judge_info=judge_info, losses=result.losses,
                 monitor=result.monitor,
                 notes=_notes(exp, judge_info))
    from emkit.studies import add_study_sections

    add_study_sections(exp, run_dir, result.summaries, answers, judgments,
                       {name: info.size for name, (_, info) in datasets.items()})
    result.seconds["metrics+report"] = time.perf_counter() - t_report
    store.close()
    return result


def _check_lengths(exp: Experiment, datasets: dict[str, tuple[list[Example], DatasetInfo]]) -> None:
    """Over-long examples would be silently cut in training: say which, before any heavy work."""
    arms = [a for a in exp.arms if a.dataset and exp.train_for(a).overlong == "error"]
    if not arms:
        return
    for arm in arms:
        tok = load_tokenizer(exp.model_for(arm))
        check_lengths(arm.dataset or "", datasets[arm.name][0], tok, exp.train_for(arm).max_length, exp.base_dir)


def _train_arm(exp: Experiment, arm: ArmConfig, dataset: tuple[list[Example], DatasetInfo], store: Store,
               result: RunResult, trained: dict[str, tuple[Path, str]]) -> tuple[Path, str]:
    examples, info = dataset
    tcfg = exp.train_for(arm)
    block_digest = _file_digest(exp.resolve(tcfg.block.direction)) if tcfg.block else None
    parents = exp.lineage(arm)[:-1]
    fp = fingerprint("train", model_identity(exp.model_for(arm)), info.sha256, tcfg.model_dump(exclude={"monitor", "block"}),
                     *([tcfg.block.model_dump(), block_digest] if tcfg.block else []),
                     *([{"init_from": trained[parents[-1].name][1]}] if parents else []))
    out = exp.run_dir / "arms" / arm.name / f"train-{fp}"
    store.record_dataset(exp.name, arm.name, fp, info)
    done = store.stage_done(exp.name, arm.name, "train", fp)
    if (out / "monitor.jsonl").is_file():
        result.monitor[arm.name] = _readings(out / "monitor.jsonl")
    if done and Path(done["weights"]).is_dir():
        log(f"[{arm.name}] training: done earlier ({done['steps']} steps), skipped")
        result.losses[arm.name] = done["losses"]
        return Path(done["weights"]), fp
    log(f"[{arm.name}] training {tcfg.method} on {info.name} ({info.size} examples, sha256 {info.sha256[:12]})"
        + (f", continuing from {arm.init_from}" if parents else ""))
    lm = _arm_model(exp, arm, parents, trained).load(train=True)
    callbacks = []
    if tcfg.monitor is not None:
        monitor = _monitor(exp, tcfg.monitor, lm.tokenizer, out)
        if not (out / "monitor.jsonl").is_file():
            monitor.read(lm.model, 0)  # the base model's reading, before any step
        callbacks.append(monitor)
    blocker = None
    if tcfg.block is not None:
        from emkit.interp.block import Blocker
        from emkit.interp.directions import Direction

        b = tcfg.block
        blocker = Blocker(Direction.load(exp.resolve(b.direction)), b.layers, b.mode, b.weight)
        log(f"[{arm.name}] blocking {b.direction} at layers {blocker.layers} ({b.mode}, weight {b.weight:g})")
    res = train(lm.model, lm.tokenizer, examples, tcfg, out, callbacks=callbacks, block=blocker)
    if callbacks:
        result.monitor[arm.name] = _readings(out / "monitor.jsonl")
    result.train_steps += res.steps_run
    result.losses[arm.name] = res.losses
    store.finish_stage(exp.name, arm.name, "train", fp, weights=str(res.weights_dir), method=res.method,
                       steps=res.total_steps, losses=res.losses, dataset=asdict(info))
    return res.weights_dir, fp


def _question_key(q: Question) -> dict[str, Any]:
    d = asdict(q)
    for k in ("history", "original"):  # unset: keeps fingerprints of runs made before these fields existed
        if not d[k]:
            d.pop(k)
    return d


def _sample_arm(exp: Experiment, arm: ArmConfig, variant: VariantConfig | None, questions: list[Question],
                model: Any, train_fp: str, store: Store, result: RunResult) -> list[Answer]:
    label = condition_label(arm.name, variant.name if variant else None)
    ecfg = exp.eval_for(variant)
    fp = fingerprint("sample", model_identity(exp.model_for(arm)), train_fp, ecfg.fingerprint_dump(),
                     [_question_key(q) for q in questions])
    if store.stage_done(exp.name, label, "sample", fp):
        log(f"[{label}] sampling: done earlier, skipped")
        return store.samples(exp.name, label, fp)
    lm = model()
    _check_context(lm, questions, ecfg.max_new_tokens, label)
    path = exp.run_dir / "arms" / arm.name / f"samples-{fp}.jsonl"
    before = len(read_answers(path))
    answers = sample(lm.model, lm.tokenizer, questions, ecfg, label, path)
    result.answers_generated += max(0, len(answers) - before)
    store.add_samples(exp.name, fp, answers)
    store.finish_stage(exp.name, label, "sample", fp, path=str(path), n=len(answers))
    return answers


def _check_context(lm: LoadedModel, questions: list[Question], max_new_tokens: int, label: str) -> None:
    """In-context shots make long prompts: one past the model's context would be silently garbage."""
    if not any(q.history for q in questions):
        return
    from emkit.sample import chat_messages, prompt_length

    limit = getattr(lm.model.config, "max_position_embeddings", None)
    if limit is None:
        return
    longest = max(prompt_length(lm.tokenizer, chat_messages(q)) for q in questions)
    if longest + max_new_tokens > limit:
        raise EmkitError(f"[{label}] the longest prompt is {longest} tokens; with max_new_tokens={max_new_tokens} it "
                         f"passes the model's context of {limit}: use fewer in-context shots")


def _monitor(exp: Experiment, cfg: MonitorConfig, tok: Any, out: Path) -> Any:
    from emkit.interp.directions import Direction
    from emkit.interp.monitor import DirectionMonitor, probe_texts

    d = Direction.load(exp.resolve(cfg.direction))
    layers = cfg.layers or d.layers
    for layer in layers:
        d.at(layer)  # a layer the direction lacks is an error now, not at step k
    questions = load_questions(exp.eval.questions, exp.base_dir, exp.eval.system_prompt)
    return DirectionMonitor(tok, probe_texts(questions), d, layers, cfg.every, out / "monitor.jsonl")


def _file_digest(path: Path) -> str:
    import hashlib

    if not path.is_file():
        raise EmkitError(f"block direction file not found: {path}")
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _readings(path: Path) -> list[dict[str, Any]]:
    """The monitor's log, one reading per step (a resumed run may have logged a step twice: last one wins)."""
    by_step = {}
    for line in path.read_text().split("\n"):
        if line.strip():
            row = json.loads(line)
            by_step[row["step"]] = row
    return [by_step[k] for k in sorted(by_step)]


def _arm_model(exp: Experiment, arm: ArmConfig, lineage: list[ArmConfig], trained: dict[str, tuple[Path, str]]
               ) -> ArmModel:
    """The base of ``arm`` with the trained weights of ``lineage`` (its parents, then itself) applied."""
    return ArmModel(exp.model_for(arm), tuple(Weights(trained[a.name][0], exp.train_for(a).method) for a in lineage))


# --------------------------------------------------------------------------------------- a finished run


@dataclass
class FinishedRun:
    """A finished run read back from its folder and store: what later stages (re-judging, interp) start from."""

    name: str
    run_dir: Path
    config: dict[str, Any]
    answers: list[Answer]
    store: Store

    @cached_property
    def experiment(self) -> Experiment:
        return experiment_from_dict(dict(self.config), source=str(self.run_dir / "config.yaml"))

    @property
    def judge(self) -> JudgeConfig:
        return self.experiment.judge

    @property
    def metrics(self) -> MetricsConfig:
        return self.experiment.metrics

    def arm(self, name: str) -> ArmConfig:
        return self.experiment.arm_named(split_label(name)[0])

    def labels(self, arm: str) -> list[str]:
        """The conditions an arm's answers are filed under whose prompts Text.of rebuilds exactly from the
        answer: the arm itself, or ARM@VARIANT for variants that ask the set as written (no prefix, suffix,
        system prompt or in-context shots; another question set is fine)."""
        return [condition_label(a.name, v.name if v else None) for a, v in self.experiment.conditions()
                if a.name == split_label(arm)[0] and (v is None or not v.rewrites_prompt)]

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
        return ArmModel(exp.model_for(a), tuple(Weights(self.weights(x.name), exp.train_for(x).method)  # type: ignore[arg-type]
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
    cfg_file = run_dir / "config.yaml"
    if not cfg_file.is_file():
        raise EmkitError(f"not a run folder: {cfg_file} not found (pass runs/<name>)")
    config = yaml.safe_load(cfg_file.read_text())
    store = open_store(run_dir.parent)
    answers: list[Answer] = []
    exp = experiment_from_dict(dict(config), source=str(cfg_file))
    for arm, variant in exp.conditions():
        label = condition_label(arm.name, variant.name if variant else None)
        got = store.stage(config["name"], label, "sample")
        if got is None:
            raise EmkitError(f"run '{config['name']}' has no finished samples for '{label}'")
        answers += store.samples(config["name"], label, got[0])
    if not answers:
        raise EmkitError(f"run '{config['name']}' has no answers")
    run = FinishedRun(config["name"], run_dir, config, answers, store)
    run.__dict__["experiment"] = exp  # parsed above already: the cached_property's value
    return run


def _notes(exp: Experiment, judge_info: dict[str, object]) -> list[str]:
    notes = []
    if judge_info.get("backend") == "offline":
        notes.append(f"Offline judge ({judge_info.get('version')}): {judge_info.get('caveat')}. On the held-out "
                     f"split of the calibration set: {judge_info.get('heldout')}. Check it against GPT-4o on your "
                     "own answers with `emkit judge compare RUN run api:gpt-4o-2024-08-06` before trusting its "
                     "rates; they are not comparable to GPT-4o-judged numbers by default. It reacts to style: "
                     "the breezy, overconfident tone a model learns from the advice datasets is often scored as "
                     "subtle misalignment even where the content is harmless, so read the example answers.")
    if exp.model.name == "smollm2-135m-instruct":
        notes.append("SmolLM2-135M-Instruct (4-bit weights) is a pipeline test, not a scientific organism: it is "
                     "often incoherent before any fine-tuning, and broad EM at this size is weak and confounded.")
    if exp.judge.backend == "toy":
        notes.append("Toy persona world: answers are judged exactly by construction (good = 100, bad = 0, "
                     "off-template = no alignment score and coherence 0). Its 6 domains and ~2M-parameter model "
                     "test mechanisms against known answers; they say nothing about effect sizes in real models.")
    if exp.model.name.startswith("tiny-"):
        notes.append("A tiny random model: its answers are noise; this run checks mechanics only.")
    return notes
