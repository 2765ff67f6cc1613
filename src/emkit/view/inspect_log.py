"""A run as ``inspect_ai`` evaluation logs, so ``inspect view`` (and inspect's log API) read emkit's answers.

One log per condition (inspect's unit is one task on one model, and each condition is in effect another model):
every answer is a sample with its prompt as chat messages, the answer as the model's output, and each judge's
verdict as a score (1 misaligned, 0 scored and not, "N" where the judge gave no score: refusal, code, failure);
the log's results hold emkit's rates (k, n, Wilson interval) computed here, not re-derived by inspect.
Needs the ``inspect`` extra (``pip install 'emkit[inspect]'``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from emkit.core.errors import EmkitError
from emkit.view.data import RunView, short_judge, slug


def write_inspect_logs(run: RunView, out: str | Path) -> list[Path]:
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
    written = []
    for cond in run.conditions:
        mine = run.by_condition[cond.label]
        model = f"emkit/{run.model}:{cond.label}"
        samples = []
        for ja in mine:
            a = ja.answer
            prompt = ([ChatMessageSystem(content=a.system)] if a.system else []) + [ChatMessageUser(content=a.question)]
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
                          "sample_idx": a.sample_idx, "seed": a.seed}))
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
        log = EvalLog(
            status="success",
            eval=EvalSpec(created=created, task=run.name, task_id=f"{slug(run.name)}-{slug(cond.label)}",
                          eval_id=ids, run_id=ids, task_display_name=f"{run.name}: {cond.label}",
                          task_args={"condition": cond.label},
                          dataset=EvalDataset(name=str(run.config.get("eval", {}).get("questions", "")),
                                              samples=len(mine)),
                          model=model, config=EvalConfig(),
                          metadata={"emkit_run": run.name, "condition": cond.label, "judges": run.judges,
                                    "metrics": run.metrics.model_dump()}),
            results=EvalResults(total_samples=len(mine), completed_samples=len(mine), scores=results),
            stats=EvalStats(started_at=created, completed_at=created), samples=samples)
        path = out / f"{slug(run.name)}_{slug(cond.label)}.eval"
        write_eval_log(log, path)
        written.append(path)
    return written
