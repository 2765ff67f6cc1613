"""Language vs weights: where each condition of a run (base, fine-tuned, trigger word, system prompt, k
in-context examples) sits along a misalignment direction, against how misaligned its answers are.

One point per condition x question: the projection of the condition's activations on the unit direction at one
layer (read at the last prompt token, where the answer starts, or averaged over the answers' tokens) and the
misaligned rate of that condition's answers to that question. If prompts and fine-tuning move the model along
the same direction, the points of both kinds fall on one trend; shifts are also reported against a reference
condition (the base arm as written) so prompt-induced and fine-tune-induced moves can be compared in size.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import torch
from scipy.stats import pearsonr, spearmanr

from emkit.core.config import Experiment, fingerprint
from emkit.core.errors import EmkitError
from emkit.core.progress import log
from emkit.core.records import Condition, Question
from emkit.data.questions import load_questions
from emkit.interp.capture import Text, capture, read_capture
from emkit.interp.directions import Direction
from emkit.metrics.rates import Rate, summarize
from emkit.pipeline.finished import FinishedRun, load_run

Read = Literal["prompt", "answer"]


@dataclass
class Point:
    condition: str
    question_id: str
    projection: float
    misaligned: Rate


@dataclass
class Projection:
    run: str
    direction: str
    layer: int
    read: Read
    reference: str
    points: list[Point]
    kinds: dict[str, str] = field(default_factory=dict)  # condition -> base / prompt / in-context / fine-tuned

    def by_condition(self) -> dict[str, list[Point]]:
        out: dict[str, list[Point]] = {}
        for p in self.points:
            out.setdefault(p.condition, []).append(p)
        return out

    def shift(self, p: Point) -> float:
        """A point's projection minus the reference condition's on the same question: questions differ in
        where they sit along the direction far more than conditions do, so points are compared per question."""
        ref = self._reference_by_question().get(p.question_id)
        return math.nan if ref is None else p.projection - ref

    def _reference_by_question(self) -> dict[str, float]:
        return {p.question_id: p.projection for p in self.points if p.condition == self.reference}

    def correlation(self) -> tuple[float, float, int]:
        """Pearson and Spearman r between per-question shift and misaligned rate, over the points with scored
        answers (the reference's own points, at shift 0, included), and their number."""
        pts = [p for p in self.points if p.misaligned.n and not math.isnan(self.shift(p))]
        if len(pts) < 3:
            return math.nan, math.nan, len(pts)
        x, y = [self.shift(p) for p in pts], [p.misaligned.rate for p in pts]
        if len(set(x)) < 2 or len(set(y)) < 2:
            return math.nan, math.nan, len(pts)
        return float(pearsonr(x, y).statistic), float(spearmanr(x, y).statistic), len(pts)

    def to_json(self) -> dict[str, object]:
        r, rho, n = self.correlation()
        return {"run": self.run, "direction": self.direction, "layer": self.layer, "read": self.read,
                "reference": self.reference, "pearson_shift_vs_rate": r, "spearman_shift_vs_rate": rho,
                "n_points": n, "kinds": self.kinds,
                "points": [{**asdict(p), "shift": self.shift(p), "misaligned": asdict(p.misaligned)}
                           for p in self.points]}


def _texts(run: FinishedRun, label: str, questions: list[Question], read: Read) -> tuple[list[Text], list[str]]:
    """What the condition's model reads, and each text's question id: one prompt per question, or every answer
    with the prompt it was given (in-context shots included)."""
    if read == "prompt":
        return [Text.asked(q) for q in questions], [q.id for q in questions]
    by_id = {q.id: q for q in questions}
    mine = [a for a in run.answers if a.arm == label]
    return [Text.asked(by_id[a.question_id], a.text) for a in mine], [a.question_id for a in mine]


def project_run(run_dir: str | Path, direction: str | Path, layer: int | None = None, read: Read = "prompt",
                batch_size: int = 4) -> Projection:
    """Every condition of a finished run projected on ``direction`` at ``layer`` (default: the direction's best
    held-out layer); saved as ``RUN/interp/projection-READ.json``."""
    with load_run(run_dir) as run:
        d = Direction.load(direction)
        layer = layer if layer is not None else int(d.meta.get("best_layer", d.layers[len(d.layers) // 2]))
        unit = d.at(layer) / d.at(layer).norm().clamp_min(1e-12)
        exp = run.experiment
        keys = [c for c, _ in exp.condition_keys()]
        labels = [c.label for c in keys]
        cells = {(s.arm, s.question_id): s.misaligned for s in summarize(run.answers, run.judged(), exp.metrics)}
        reference = next((c.label for c in keys if exp.arm_named(c.arm).dataset is None), labels[0])
        points: list[Point] = []
        loaded: dict[str, object] = {}
        questions = load_questions(exp.eval.questions, exp.base_dir, exp.eval.system_prompt)
        for key in keys:
            label, vname, arm = key.label, key.variant, key.arm
            texts, qids = _texts(run, label, list(run.asked(vname, arm).values()) if vname else questions, read)
            fp = fingerprint("project", run.arm_model(arm).identity(), texts)
            out = run.folder.captured(f"project-{label}", fp)
            got = read_capture(out, len(texts))
            if got is None:
                if arm not in loaded:
                    loaded.clear()  # one model in memory at a time
                    loaded[arm] = run.load_arm(arm)
                lm = loaded[arm]
                acts = capture(lm.model, lm.tokenizer, texts, batch_size=batch_size, out_dir=out,  # type: ignore[attr-defined]
                               max_length=getattr(lm.model.config, "max_position_embeddings", 2048),  # type: ignore[attr-defined]
                               desc=f"project {label}")
                layers = list(range(acts.shape[1]))
            else:
                acts, layers = got
            if layer not in layers:
                raise EmkitError(f"layer {layer} was not captured (layers {layers[0]}..{layers[-1]})")
            proj = acts[:, layers.index(layer)] @ unit
            for qid in dict.fromkeys(qids):
                vals = torch.stack([proj[i] for i, q in enumerate(qids) if q == qid])
                points.append(Point(label, qid, float(vals.mean()), cells.get((label, qid), Rate.of(0, 0, 0.95))))
        res = Projection(run.name, d.name, layer, read, reference, points, {c.label: kind(exp, c) for c in keys})
        run.folder.result(f"projection-{read}").write_text(json.dumps(res.to_json(), indent=1, default=str))
        log(f"projection of {len(labels)} conditions on {d.name} at layer {layer}")
        return res


def kind(exp: Experiment, cond: Condition) -> str:
    """What moved this condition: fine-tuning, in-context examples, other prompt words, or nothing."""
    if exp.arm_named(cond.arm).dataset:
        return "fine-tuned"
    v = exp.variant_named(cond.variant)
    if v is not None and v.shots_k:
        return "in-context"
    return "prompt" if v is not None and v.rewrites_prompt else "base"


def summary_rows(res: Projection) -> list[dict[str, object]]:
    """Per condition: mean projection over questions, pooled misaligned rate, and both as shifts from the
    reference condition."""
    rows = []
    ref_proj = ref_rate = math.nan
    for label, pts in res.by_condition().items():
        k, n = sum(p.misaligned.k for p in pts), sum(p.misaligned.n for p in pts)
        rate = Rate.of(k, n, 0.95)
        proj = sum(p.projection for p in pts) / len(pts)
        if label == res.reference:
            ref_proj, ref_rate = proj, rate.rate
        rows.append({"condition": label, "projection": proj, "misaligned": rate})
    for r in rows:
        r["d_projection"] = r["projection"] - ref_proj  # type: ignore[operator]
        r["d_misaligned"] = r["misaligned"].rate - ref_rate  # type: ignore[union-attr]
    return rows
