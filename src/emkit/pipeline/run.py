"""The main flow, top to bottom: for each arm, train (if it has a dataset) and sample; then judge every
answer, summarise, and read the studies' tables off the experiment's shape. Every stage is skipped when its
fingerprinted artifact exists, so a re-run of a finished experiment trains nothing, samples nothing and calls no
judge. It returns data (and writes data files); :func:`emkit.report.write_run_report` turns it into a page.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emkit.core.config import ArmConfig, BlockConfig, Experiment, MonitorConfig, VariantConfig, fingerprint
from emkit.core.errors import EmkitError
from emkit.core.paths import RunFolder
from emkit.core.progress import log
from emkit.core.records import Answer, Condition, Question
from emkit.core.registry import SAMPLERS, TRAINERS
from emkit.core.store import Store, open_store
from emkit.data.datasets import DatasetInfo, Example, check_lengths, load_dataset, locate
from emkit.data.inoculation import Inoculation, ask_arm, inoculate, inoculation_for
from emkit.data.questions import load_questions
from emkit.judges import judge_answers
from emkit.metrics.rates import summarize, to_frame
from emkit.metrics.tail import tails_by_condition
from emkit.models.load import BUILTIN_MODELS, ArmModel, Weights, load_tokenizer, model_identity, model_source
from emkit.pipeline.finished import FinishedRun
from emkit.pipeline.rewards import arm_rewards, bind_rewards
from emkit.pipeline.rewards import identities as reward_identities
from emkit.pipeline.studies import TrainingCurves, study_tables
from emkit.samplers.base import Sampler


@dataclass
class Inputs:
    """An experiment's inputs, read and checked once before any heavy work."""

    questions: list[Question]
    #: (variant, arm) -> the questions as that variant asks that arm; arm None where the variant asks every arm
    #: alike (only a variant with an inoculation placeholder is asked per arm)
    asked: dict[tuple[str, str | None], list[Question]]
    #: arm -> its training set, with its inoculation prompt put in (the info is the dataset's own)
    datasets: dict[str, tuple[list[Example], DatasetInfo]]
    #: arm -> (Blocker, digest of what it blocks), built once here: its digest enters the training fingerprint
    #: and the blocker itself the training (an SAE is read once per run, not once to check and again to train)
    blockers: dict[str, tuple[Any, str]]
    #: arm -> its inoculation, prompt resolved (it enters the training fingerprint)
    inoculations: dict[str, Inoculation]
    #: arm -> train.kl's prompts, read (their content enters the training fingerprint)
    kl: dict[str, Any] = field(default_factory=dict)
    #: arm -> an RL arm's reward terms, resolved (python rewards imported; judge rewards bound at training)
    rewards: dict[str, list[Any]] = field(default_factory=dict)

    def questions_for(self, arm: str, variant: VariantConfig | None) -> list[Question]:
        """What ``arm`` is asked under ``variant`` (None: the questions as written)."""
        if variant is None:
            return self.questions
        return self.asked.get((variant.name, None)) or self.asked[(variant.name, arm)]


def check_inputs(exp: Experiment) -> Inputs:
    """Every input checked before any heavy work: a typo should cost a second, not a training run."""
    for name in dict.fromkeys([exp.model.name] + [a.model for a in exp.arms if a.model]):
        if not exp.model.served:  # a served model is known to its server alone
            model_source(name)
    questions = load_questions(exp.eval.questions, exp.base_dir, exp.eval.system_prompt)
    asked: dict[tuple[str, str | None], list[Question]] = {}
    for arm, v in exp.conditions():
        key = (v.name, arm.name if v.placeholders else None) if v is not None else None
        if key is not None and key not in asked:
            asked[key] = ask_arm(questions, v, arm, exp.base_dir, exp.eval.system_prompt)
    datasets = {a.name: load_dataset(a.dataset, exp.base_dir) for a in exp.arms if a.dataset}
    inoculations = {a.name: inoc for a in exp.arms if (inoc := inoculation_for(a)) is not None}
    for name, inoc in inoculations.items():
        examples, info = datasets[name]
        datasets[name] = (inoculate(examples, inoc, lambda i, s=info.spec: locate(s, i, exp.base_dir)), info)
    _check_lengths(exp, datasets)
    blockers = {a.name: _blocker(exp, b) for a in exp.arms if a.dataset and (b := exp.train_for(a).block)}
    kl = {a.name: _kl_prompts(exp, k) for a in exp.arms if a.dataset and (k := _kl_config(exp.train_for(a)))}
    rewards = {a.name: r for a in exp.arms if a.dataset and (r := arm_rewards(exp, exp.train_for(a))) is not None}
    return Inputs(questions, asked, datasets, blockers, inoculations, kl, rewards)


def train_and_sample(exp: Experiment, arms: list[str], inputs: Inputs, store: Store, result: FinishedRun) -> None:
    """Train (where there is a dataset) and sample the named arms, in experiment order; an arm's ``init_from``
    parents must be among them. The sweep runs this for a group of arms on a worker, against its own store."""
    sampler: Sampler = SAMPLERS.build(exp.eval.sampler)
    trained: dict[str, tuple[Path, str]] = {}  # arm -> (weights, train fingerprint), for init_from
    try:
        for arm in (a for a in exp.arms if a.name in arms):
            with result.timed("train"):
                if arm.dataset:
                    trained[arm.name] = _train_arm(exp, arm, inputs.datasets[arm.name], inputs.blockers.get(arm.name),
                                                   inputs.inoculations.get(arm.name), store, result, trained,
                                                   inputs.kl.get(arm.name), inputs.rewards.get(arm.name))
                train_fp = trained[arm.name][1] if arm.dataset else "base"
            model = _arm_model(exp, arm, exp.lineage(arm) if arm.dataset else [], trained)
            for _, variant in (c for c in exp.conditions() if c[0] is arm):
                with result.timed("sample"):
                    qs = inputs.questions_for(arm.name, variant)
                    result.answers += _sample_arm(exp, arm, variant, qs, model, sampler, train_fp, store, result)
    finally:
        sampler.close()


def run_experiment(exp: Experiment) -> FinishedRun:
    run_dir = exp.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    RunFolder(run_dir).config.write_text(yaml.safe_dump(exp.model_dump(mode="json"), sort_keys=False))
    with open_store(exp.resolve(exp.output_dir)) as store:
        store.record_run(exp.name, exp.model_dump(mode="json"))
        inputs = check_inputs(exp)
        result = FinishedRun.of(exp)
        train_and_sample(exp, [a.name for a in exp.arms], inputs, store, result)

        with result.timed("judge"):
            result.judgments, judge = judge_answers(result.answers, store, exp.judge)
        result.judge_calls = judge.calls if judge else 0
        store.event(exp.name, "run", train_steps=result.train_steps, answers_generated=result.answers_generated,
                    judge_calls=result.judge_calls)
        with result.timed("metrics"):
            result.summaries = summarize(result.answers, result.judgments, exp.metrics)
            result.judge_info = _judge_info(exp, judge)
            result.notes = _notes(exp, result.judge_info)
            frame = to_frame(result.summaries)
            frame.to_parquet(result.folder.metrics_parquet)
            tails = tails_by_condition(result.summaries, confidence=exp.metrics.confidence, shown_only=False)
            result.folder.metrics_json.write_text(json.dumps({
                "judge": result.judge_info, "rows": frame.to_dict("records"),
                "misalign_at_k": {arm: [r.to_dict() for r in rs] for arm, rs in tails.items()},
                **({"heldout_loss": {arm: h["loss"] for arm, h in result.heldout.items()}} if result.heldout else {}),
                **({"heldout_accuracy": {arm: {k: h[k] for k in ("accuracy", "hits", "keyed")}
                                         for arm, h in result.heldout.items() if "accuracy" in h}}
                   if any("accuracy" in h for h in result.heldout.values()) else {}),
                **({"stopped": result.stopped} if result.stopped else {}),
                **({"training": result.training} if result.training else {})}, indent=1, default=str))
            result.studies = study_tables(exp, result.summaries, result.answers, result.judgments,
                                          {name: info.size for name, (_, info) in inputs.datasets.items()},
                                          TrainingCurves.of_run(exp, run_dir, result.losses, result.kl,
                                                                result.adapter_norms))
            result.studies.save(run_dir)
    return result


def _check_lengths(exp: Experiment, datasets: dict[str, tuple[list[Example], DatasetInfo]]) -> None:
    """Over-long examples would be silently cut in training: say which, before any heavy work."""
    # a served model's tokenizer is not here: its server enforces its own limits
    arms = [a for a in exp.arms if a.dataset and exp.train_for(a).overlong == "error" and not exp.model.served]
    if not arms:
        return
    for arm in arms:
        tok = load_tokenizer(exp.model_for(arm))
        check_lengths(arm.dataset or "", datasets[arm.name][0], tok, exp.train_for(arm).max_length, exp.base_dir)


def _step_curve(result: FinishedRun, arm: str, losses: list[float], rewards: list[float | None] | None,
                hack_rates: list[float | None]) -> None:
    """An arm's per-step curve: a supervised arm's answer loss, or an RL arm's (``rewards``) mean reward and hack
    rate. An RL arm's loss is its policy objective, no answer loss: it stays out of ``losses``, which the loss chart
    and the narrow-vs-general study read as one (the training log keeps it)."""
    if rewards is None:
        result.losses[arm] = losses
        return
    if any(r is not None for r in rewards):  # as finish_stage records them: a fresh and a resumed arm alike
        result.rewards[arm] = rewards
    if any(h is not None for h in hack_rates):
        result.hack_rates[arm] = hack_rates


def _train_arm(exp: Experiment, arm: ArmConfig, dataset: tuple[list[Example], DatasetInfo],
               blocking: tuple[Any, str] | None, inoculation: Inoculation | None, store: Store, result: FinishedRun,
               trained: dict[str, tuple[Path, str]], kl: Any = None, rewards: list[Any] | None = None
               ) -> tuple[Path, str]:
    examples, info = dataset
    tcfg = exp.train_for(arm)
    blocker, block_digest = blocking or (None, None)
    parents = exp.lineage(arm)[:-1]
    fp = train_fingerprint(exp, arm, info, block_digest, trained[parents[-1].name][1] if parents else None, kl,
                           inoculation, rewards)
    folder = RunFolder(exp.run_dir)
    out = folder.training(arm.name, fp)
    store.record_dataset(exp.name, arm.name, fp, info)
    done = store.stage_done(exp.name, arm.name, "train", fp)
    if folder.monitor(arm.name, fp).is_file():
        result.monitor[arm.name] = _readings(folder.monitor(arm.name, fp))
    if done and Path(done["weights"]).is_dir():
        log(f"[{arm.name}] training: done earlier ({done['steps']} steps), skipped")
        _step_curve(result, arm.name, done["losses"], done.get("rewards", []) if rewards is not None else None,
                    done.get("hack_rates", []))
        _curves(result, arm.name, done.get("kl", []), done.get("adapter_norms", []))
        _task(result, arm.name, done.get("stopped"), done.get("heldout"))
        result.training[arm.name] = {"steps": done["steps"], "seconds": done.get("seconds")}
        return Path(done["weights"]), fp
    log(f"[{arm.name}] training {tcfg.method} on {info.name} ({info.size} examples, sha256 {info.sha256[:12]})"
        + (f", continuing from {arm.init_from}" if parents else "")
        + (f", inoculated{' (selective)' if inoculation.selective else ''}: {inoculation.prompt!r}"
           if inoculation is not None else ""))
    callbacks = ([_monitor(exp, arm, tcfg.monitor, folder.monitor(arm.name, fp), store)]
                 if tcfg.monitor is not None else [])
    if tcfg.block is not None:
        b = tcfg.block
        what = b.direction or f"latents {b.latents} of {b.sae}"
        log(f"[{arm.name}] blocking {what} at layers {blocker.layers} ({b.mode}, weight {b.weight:g})")
    if kl is not None:
        k = _kl_config(tcfg)
        log(f"[{arm.name}] KL to the base model on {kl.spec} (weight {k.weight:g}, every {k.every} steps)")
    if rewards is not None:
        log(f"[{arm.name}] rewards: " + ", ".join(f"{r.name} (weight {r.weight:g})" for r in rewards))
    trainer = TRAINERS.build(tcfg.trainer)
    res = trainer.train(_arm_model(exp, arm, parents, trained), examples, tcfg, out, callbacks=callbacks,
                        block=blocker, kl=kl,
                        **({"rewards": bind_rewards(rewards, exp, arm.name, store)} if rewards is not None else {}))
    if callbacks:
        result.monitor[arm.name] = _readings(folder.monitor(arm.name, fp))
    result.train_steps += res.steps_run
    _step_curve(result, arm.name, res.losses, res.rewards if rewards is not None else None, res.hack_rates)
    _curves(result, arm.name, res.kl, res.adapter_norms)
    _task(result, arm.name, res.stopped, res.heldout)
    steps = res.stopped["step"] if res.stopped else res.total_steps
    result.training[arm.name] = {"steps": steps, "seconds": res.seconds}
    store.finish_stage(exp.name, arm.name, "train", fp, weights=str(res.weights_dir), method=tcfg.method,
                       kind=res.weights_kind,
                       steps=steps, seconds=res.seconds, losses=res.losses,
                       dataset=asdict(info),
                       **({"stopped": res.stopped} if res.stopped else {}),
                       **({"heldout": res.heldout} if res.heldout else {}),
                       **({"kl": res.kl} if any(v is not None for v in res.kl) else {}),
                       **({"adapter_norms": res.adapter_norms} if any(v is not None for v in res.adapter_norms)
                          else {}),
                       **({"rewards": res.rewards} if any(v is not None for v in res.rewards) else {}),
                       **({"hack_rates": res.hack_rates} if any(v is not None for v in res.hack_rates) else {}))
    return res.weights_dir, fp


def train_fingerprint(exp: Experiment, arm: ArmConfig, info: DatasetInfo, block_digest: str | None = None,
                      parent_fp: str | None = None, kl: Any = None, inoculation: Inoculation | None = None,
                      rewards: list[Any] | None = None) -> str:
    """What decides whether an arm is trained again: the model, the data's content, the training settings (the
    kl block among the trainer's), what is blocked, the parent's training, train.kl's prompts' content and the
    inoculation (prompt and mode); with a monitor that may stop training, its direction file's content and probe
    questions; an RL arm's rewards beyond their settings (a python reward's source, a judge reward's judge). A
    setting an arm does not use adds nothing, so old arms keep their print."""
    tcfg = exp.train_for(arm)
    stop = tcfg.monitor is not None and tcfg.monitor.stop is not None
    return fingerprint("train", model_identity(exp.model_for(arm)), info.sha256, tcfg.fingerprint_dump(),
                       *([tcfg.block.model_dump(), block_digest] if tcfg.block else []),
                       *([{"init_from": parent_fp}] if parent_fp is not None else []),
                       *([{"kl_prompts": kl.digest}] if kl is not None else []),
                       *([{"inoculation": inoculation.fingerprint_dump()}] if inoculation is not None else []),
                       *([_stop_inputs(exp, tcfg.monitor)] if stop else []),
                       *([{"rewards": reward_identities(rewards)}] if rewards is not None else []))


def _stop_inputs(exp: Experiment, cfg: MonitorConfig) -> dict[str, Any]:
    """What an early-stopping monitor reads, beyond its settings: the direction file's bytes and the probes; for
    a judged one, its questions, how they are sampled and the judge."""
    questions = load_questions(exp.eval.questions, exp.base_dir, exp.eval.system_prompt)
    if cfg.judged is not None:
        e = exp.eval
        return {"monitor_probes": [_question_key(q) for q in questions[: cfg.judged.questions]],
                "monitor_sampling": [e.temperature, e.top_p, e.max_new_tokens, e.seed],
                "monitor_judge": exp.judge.judge_id(), "monitor_metrics": exp.metrics.model_dump()}
    _, digest = _direction_file(exp, str(cfg.direction), "train.monitor.direction: file not found")
    return {"monitor_direction": digest, "monitor_probes": [_question_key(q) for q in questions]}


def _direction_file(exp: Experiment, name: str, missing: str) -> tuple[Path, str]:
    """A direction file a training setting names, resolved, and the digest of its bytes (its content, not its
    path, enters the training fingerprint); ``missing``: the error's words when it is not there."""
    import hashlib

    path = exp.resolve(name)
    if not path.is_file():
        raise EmkitError(f"{missing}: {path}")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _question_key(q: Question) -> dict[str, Any]:
    d = asdict(q)
    for k in ("history", "original"):  # unset: keeps fingerprints of runs made before these fields existed
        if not d[k]:
            d.pop(k)
    return d


def _sample_arm(exp: Experiment, arm: ArmConfig, variant: VariantConfig | None, questions: list[Question],
                model: ArmModel, sampler: Sampler, train_fp: str, store: Store, result: FinishedRun) -> list[Answer]:
    label = Condition(arm.name, variant.name if variant else None).label
    ecfg = exp.eval_for(variant)
    fp = fingerprint("sample", model_identity(exp.model_for(arm)), train_fp, ecfg.fingerprint_dump(),
                     [_question_key(q) for q in questions])
    if store.stage_done(exp.name, label, "sample", fp):
        log(f"[{label}] sampling: done earlier, skipped")
        return store.samples(exp.name, label, fp)
    path = RunFolder(exp.run_dir).samples(arm.name, fp)
    got = sampler.sample_missing(model, questions, ecfg, label, path)
    result.answers_generated += got.generated
    store.add_samples(exp.name, fp, got.answers)
    store.finish_stage(exp.name, label, "sample", fp, path=str(path), n=len(got.answers))
    return got.answers


def _monitor(exp: Experiment, arm: ArmConfig, cfg: MonitorConfig, log_file: Path, store: Store) -> Any:
    if cfg.judged is not None:
        from emkit.pipeline.judged_monitor import JudgedMonitor

        questions = load_questions(exp.eval.questions, exp.base_dir, exp.eval.system_prompt)
        return JudgedMonitor(exp, arm.name, questions[: cfg.judged.questions], load_tokenizer(exp.model_for(arm)),
                             store, cfg.every, log_file, cfg.judged.samples, cfg.stop)
    from emkit.interp.directions import Direction
    from emkit.interp.monitor import DirectionMonitor, probe_texts

    d = Direction.load(exp.resolve(str(cfg.direction)))
    layers = cfg.layers or d.layers
    for layer in layers:
        d.at(layer)  # a layer the direction lacks is an error now, not at step k
    questions = load_questions(exp.eval.questions, exp.base_dir, exp.eval.system_prompt)
    return DirectionMonitor(load_tokenizer(exp.model_for(arm)), probe_texts(questions), d, layers, cfg.every,
                            log_file, stop=cfg.stop)


def _blocker(exp: Experiment, b: BlockConfig) -> tuple[Any, str]:
    """The Blocker a ``train.block`` asks for, and the digest of what it blocks (for the training fingerprint);
    a missing file or an SAE that cannot be read stops the run before any training."""

    from emkit.interp.block import Blocker
    from emkit.interp.directions import Direction

    if b.sae is not None:
        from emkit.interp.sae import load_sae

        local = exp.resolve(b.sae)
        sae = load_sae(local if local.exists() else b.sae, b.hookpoint)
        return Blocker.on_latents(sae, list(b.latents or []), b.weight), sae.digest()
    path, digest = _direction_file(exp, str(b.direction), "block direction file not found")
    return Blocker(Direction.load(path), b.layers, b.mode, b.weight), digest


def _kl_config(tcfg: Any) -> Any:
    """train.kl where the trainer has it (the local one), else None."""
    return getattr(tcfg.trainer, "kl", None)


def _kl_prompts(exp: Experiment, k: Any) -> Any:
    """train.kl's prompts, read now (a typo stops the run before any training); base answers to a question set
    are cached in the run folder's ``kl/``, shared by the arms that start from the same model."""
    from emkit.trainers.kl import load_kl_prompts

    return load_kl_prompts(k.prompts, exp.base_dir, RunFolder(exp.run_dir).kl)


def _curves(result: FinishedRun, arm: str, kl: list[float | None], norms: list[float | None]) -> None:
    """An arm's KL term and adapter norm per step, where it has them (beside its losses)."""
    if any(v is not None for v in kl):
        result.kl[arm] = kl
    if any(v is not None for v in norms):
        result.adapter_norms[arm] = norms


def _task(result: FinishedRun, arm: str, stopped: dict[str, Any] | None, heldout: dict[str, Any] | None) -> None:
    """Where an arm's training stopped early and its held-out in-domain loss, where it has them."""
    if stopped:
        result.stopped[arm] = stopped
    if heldout:
        result.heldout[arm] = heldout


def _readings(path: Path) -> list[dict[str, Any]]:
    from emkit.interp.monitor import read_log  # torch: only where a monitor was set

    return read_log(path)


def _arm_model(exp: Experiment, arm: ArmConfig, lineage: list[ArmConfig], trained: dict[str, tuple[Path, str]]
               ) -> ArmModel:
    """The base of ``arm`` with the trained weights of ``lineage`` (its parents, then itself) applied."""
    return ArmModel(exp.model_for(arm), tuple(Weights(trained[a.name][0], exp.train_for(a).weights_kind)
                                              for a in lineage))


def _judge_info(exp: Experiment, judge: Any) -> dict[str, Any]:
    """What the judge said about itself; when every verdict was cached (no judge built), what it said last time."""
    if judge is not None:
        return {"id": judge.id, **judge.info}
    info: dict[str, Any] = {"id": exp.judge.judge_id(), "backend": exp.judge.backend}
    saved = RunFolder(exp.run_dir).metrics_json
    return json.loads(saved.read_text()).get("judge", info) if saved.is_file() else info


def _notes(exp: Experiment, judge_info: dict[str, Any]) -> list[str]:
    """What the reader must know before trusting the numbers: the judge's caveat, and the models' (a built-in
    model or world registers its own note)."""
    notes = [n] if (n := exp.judge.report_note(judge_info)) else []
    for name in dict.fromkeys([exp.model.name] + [a.model for a in exp.arms if a.model]):
        if name in BUILTIN_MODELS and BUILTIN_MODELS[name].note and BUILTIN_MODELS[name].note not in notes:
            notes.append(BUILTIN_MODELS[name].note)
    return notes
