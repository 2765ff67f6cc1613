"""A run as ``inspect_ai`` evaluation logs, so ``inspect view`` (and inspect's log API) read emkit's answers.

One log per condition (inspect's unit is one task on one model, and each condition is in effect another model):
every answer is a sample with its prompt as the chat messages the model was sent (rebuilt by
:meth:`emkit.pipeline.finished.FinishedRun.sent_messages`, so conditions under prompt variants show their prefix,
system prompt or shots; where the question set changed since the run, the question the answer records, with a
note in the sample's and the log's metadata), the answer as the model's output, and each judge's
verdict as a score (1 misaligned, 0 scored and not, "N" where the judge gave no score: refusal, code, failure);
the log's results hold emkit's rates (k, n, Wilson interval) computed here, not re-derived by inspect.
Needs the ``inspect`` extra (``pip install 'emkit[inspect]'``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from emkit.core.errors import EmkitError
from emkit.core.progress import log
from emkit.core.records import Answer
from emkit.view.data import RunIndex, RunView, short_judge, slug


def write_store_inspect_logs(output_dir: str | Path, out: str | Path, run: str | None = None) -> list[Path]:
    """Every run with answers in the store (or the one named) as inspect_ai logs in ``out``; an unknown name is
    an error that lists the runs there are."""
    index = RunIndex(output_dir)
    names = index.run_names()
    if run is not None:
        if run not in names:
            raise EmkitError(f"no run named '{run}' with answers in {index.path}; "
                             + (f"the runs there: {', '.join(names)}" if names else "it has no run with answers"))
        names = [run]
    return [f for name in names for f in write_inspect_logs(index.run(name), out)]


def sent_prompt(run: RunView, answer: Answer) -> tuple[list[dict[str, str]], str | None]:
    """The messages the model was sent for this answer, and None; or, where they cannot be rebuilt (the question
    set changed since the run, a config an older emkit wrote), the question as the answer records it, and why."""
    try:
        return run.run.sent_messages(answer), None
    except EmkitError as e:
        recorded = ([{"role": "system", "content": answer.system}] if answer.system else []) + [
            {"role": "user", "content": answer.question}]
        return recorded, str(e)


def write_inspect_logs(run: RunView, out: str | Path) -> list[Path]:
    """One run as inspect_ai logs in ``out``, one file per condition (``RUN_CONDITION.eval``)."""
    try:
        from inspect_ai.log import (
            EvalConfig,
            EvalDataset,
            EvalLog,
            EvalMetric,
            EvalResults,
            EvalSample,
            EvalScore,
            EvalSpec,
            EvalStats,
            write_eval_log,
        )
        from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageUser, ModelOutput
        from inspect_ai.scorer import Score
    except ImportError:
        raise EmkitError("writing inspect_ai logs needs the inspect extra: pip install 'emkit[inspect]'") from None
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    by_judge = {j: {s.arm: s for s in run.overall(j)} for j in run.judges}
    roles: dict[str, Any] = {"system": ChatMessageSystem, "user": ChatMessageUser, "assistant": ChatMessageAssistant}
    written = []
    for cond in run.conditions:
        mine = run.by_condition[cond.label]
        model = f"emkit/{run.model}:{cond.label}"
        samples = []
        unsent: list[str] = []  # why a sample's prompt is the recorded question, not the one sent
        for ja in mine:
            a = ja.answer
            messages, why = sent_prompt(run, a)
            if why is not None:
                unsent.append(why)
            prompt = [roles[m["role"]](content=m["content"]) for m in messages]
            scores = {}
            for j, (al, co, cls) in ja.verdicts.items():
                scored = al is not None and co is not None and cls not in ("failed", "refusal", "code")
                scores[short_judge(j)] = Score(
                    value=(1 if cls == "misaligned" else 0) if scored else "N", answer=cls,
                    explanation=f"aligned {al}, coherent {co}: {cls}",
                    metadata={"judge": j, "aligned": al, "coherent": co, "class": cls})
            samples.append(EvalSample(
                id=f"{a.question_id}/{a.sample_idx}", epoch=1, input=prompt, target="",
                messages=[*prompt, ChatMessageAssistant(content=a.text)],
                output=ModelOutput.from_content(model, a.text), scores=scores,
                metadata={"condition": cond.label, "arm": cond.arm, "variant": cond.variant, "step": cond.step,
                          "intervention": cond.intervention, "question_id": a.question_id,
                          "sample_idx": a.sample_idx, "seed": a.seed,
                          "prompt": "as sent" if why is None else f"as recorded, not as sent: {why}"}))
        if unsent:
            note = (f"{len(unsent)} of {len(mine)} samples show the question as the answers record it (the set as "
                    f"written), not the prompt the model was sent: {unsent[0]}")
            log(f"{run.name} {cond.label}: {note}")
        else:
            note = "every sample's messages are the prompt the model was sent (rebuilt from the run's question set)"
        results = []
        for j in run.judges:
            s = by_judge[j].get(cond.label)
            if s is None:
                continue
            r = s.misaligned
            results.append(EvalScore(name=short_judge(j), scorer=j, scored_samples=r.n, metrics={
                "misaligned": EvalMetric(name="misaligned", value=r.rate if r.n else 0.0),
                "ci_lo": EvalMetric(name="ci_lo", value=r.lo if r.n else 0.0),
                "ci_hi": EvalMetric(name="ci_hi", value=r.hi if r.n else 0.0),
                "k": EvalMetric(name="k", value=r.k), "n": EvalMetric(name="n", value=r.n)}))
        ids = f"emkit-{slug(run.name)}-{slug(cond.label)}"
        eval_log = EvalLog(
            status="success",
            eval=EvalSpec(created=created, task=run.name, task_id=f"{slug(run.name)}-{slug(cond.label)}",
                          eval_id=ids, run_id=ids, task_display_name=f"{run.name}: {cond.label}",
                          task_args={"condition": cond.label},
                          dataset=EvalDataset(name=str(run.config.get("eval", {}).get("questions", "")),
                                              samples=len(mine)),
                          model=model, config=EvalConfig(),
                          metadata={"emkit_run": run.name, "condition": cond.label, "judges": run.judges,
                                    "metrics": run.metrics.model_dump(), "prompts": note}),
            results=EvalResults(total_samples=len(mine), completed_samples=len(mine), scores=results),
            stats=EvalStats(started_at=created, completed_at=created), samples=samples)
        path = out / f"{slug(run.name)}_{slug(cond.label)}.eval"
        write_eval_log(eval_log, path)
        written.append(path)
    return written
