"""Steering and ablation sweeps on a finished run: sample the run's questions under an intervention, judge the
answers with the run's judge (through its cache) and report misaligned and coherent rates per condition.

Every steering condition has its random control: a random direction of the same norm at the same layers and
scale, so an effect of "adding anything this big" is told apart from an effect of this direction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from emkit.config import fingerprint
from emkit.interp.directions import Direction, random_like
from emkit.interp.hooks import add_to_resid, project_out
from emkit.metrics import Summary, summarize
from emkit.models import LoadedModel
from emkit.progress import log
from emkit.questions import load_questions
from emkit.records import Answer, Judgment
from emkit.run import FinishedRun
from emkit.sample import read_answers, sample


@dataclass(frozen=True)
class Intervention:
    """One condition: nothing, add ``scale * v`` (or a same-norm random vector) at layers, or project v out."""

    kind: Literal["none", "steer", "random", "ablate", "ablate_random", "lora_scale"]
    layers: tuple[int, ...] = ()
    scale: float = 0.0
    #: ablate with this one layer's vector at every layer (Soligo et al.), instead of each layer's own
    source_layer: int | None = None

    @property
    def label(self) -> str:
        where = "all layers" if len(self.layers) > 3 else "L" + ",".join(map(str, self.layers))
        if self.kind == "none":
            return "none"
        if self.kind == "lora_scale":  # a weight edit, not a hook: the arm's adapter with B multiplied
            return f"LoRA B x{self.scale:g}"
        if self.kind in ("ablate", "ablate_random"):
            src = f" (v from L{self.source_layer})" if self.source_layer is not None else ""
            return f"{self.kind.replace('_', ' ')} {where}{src}"
        return f"{self.kind} {where} x{self.scale:g}"


def steering_grid(layers: Sequence[int], scales: Sequence[float], random_control: bool = True
                  ) -> list[Intervention]:
    """The sweep: each scale with the direction and (if asked) with its random control; scale 0 once."""
    out = [Intervention("none")]
    for s in scales:
        if s == 0:
            continue
        out.append(Intervention("steer", tuple(layers), float(s)))
        if random_control:
            out.append(Intervention("random", tuple(layers), float(s)))
    return out


@contextmanager
def intervene(model: torch.nn.Module, iv: Intervention, direction: Direction, seed: int = 0) -> Iterator[None]:
    """Apply one intervention to ``model`` for the duration of the block (``lora_scale`` is applied by loading
    a scaled adapter, see :func:`sweep`; here it is a no-op)."""
    if iv.kind in ("none", "lora_scale"):
        with nullcontext():
            yield
        return
    if iv.kind in ("ablate", "ablate_random"):
        if iv.source_layer is not None:
            v = direction.at(iv.source_layer)
            if iv.kind == "ablate_random":
                v = random_like(v, seed=seed * 1009 + iv.source_layer)
            vecs = {i: v for i in iv.layers}
        else:
            vecs = {i: direction.at(i) if iv.kind == "ablate" else random_like(direction.at(i), seed=seed * 1009 + i)
                    for i in iv.layers}
        with project_out(model, vecs):
            yield
        return
    vecs = {i: direction.at(i) for i in iv.layers}
    if iv.kind == "random":
        vecs = {i: random_like(v, seed=seed * 1009 + i) for i, v in vecs.items()}
    with add_to_resid(model, vecs, iv.scale):
        yield


def direction_digest(d: Direction) -> str:
    return hashlib.sha256(d.vectors.float().numpy().tobytes() + str(d.layers).encode()).hexdigest()[:16]


@dataclass
class SweepResult:
    run: str
    arm: str
    direction: str
    rows: list[dict[str, Any]]  # per condition: label, kind, scale, layers, n, rates with intervals
    answers: list[Answer] = field(repr=False, default_factory=list)
    judgments: dict[tuple[str, str], Judgment] = field(repr=False, default_factory=dict)
    generated: int = 0  # answers sampled by this call (0 on a cached re-run)

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run, "arm": self.arm, "direction": self.direction, "rows": self.rows,
                "generated": self.generated}


def _row(iv: Intervention, s: Summary) -> dict[str, Any]:
    return {"label": iv.label, "kind": iv.kind, "scale": iv.scale, "layers": list(iv.layers),
            "n": s.misaligned.n, "misaligned": s.misaligned.rate, "misaligned_lo": s.misaligned.lo,
            "misaligned_hi": s.misaligned.hi, "misaligned_k": s.misaligned.k, "coherent": s.coherent.rate,
            "coherent_lo": s.coherent.lo, "coherent_hi": s.coherent.hi, "n_answers": s.n_answers,
            "mean_aligned": s.mean_aligned}


def sweep(run: FinishedRun, arm: str, direction: Direction, interventions: Sequence[Intervention],
          samples_per_question: int | None = None, seed: int = 0) -> SweepResult:
    """Sample ``arm``'s model under each intervention, judge, summarise. Cached: a re-run samples and calls
    nothing. Answers are written per condition under ``RUN/interp/sweeps/`` and resume after a kill."""
    exp = run.experiment
    ecfg = exp.eval.model_copy(update={"samples_per_question": samples_per_question or exp.eval.samples_per_question})
    questions = load_questions(ecfg.questions, exp.base_dir, ecfg.system_prompt)
    spec = run.arm_model(arm)
    base_fp = fingerprint("sweep", spec.identity(), ecfg.model_dump(), direction_digest(direction), seed)
    lm: LoadedModel | None = None
    answers: list[Answer] = []
    generated = 0
    want = len(questions) * ecfg.samples_per_question
    for iv in interventions:
        fp = fingerprint(base_fp, iv.kind, iv.layers, iv.scale, iv.source_layer)
        path = run.run_dir / "interp" / "sweeps" / arm / f"{fp}.jsonl"
        label = f"{arm}|{iv.label}"
        have = read_answers(path)
        if len(have) < want:
            if iv.kind == "lora_scale":  # a weight edit: the arm's own adapter with B scaled, on its parents
                model = spec.scaled(iv.scale, run.run_dir / "interp" / "adapters" / f"{arm}-x{iv.scale:g}").load()
            else:
                if lm is None:
                    log(f"[{arm}] loading the model for the sweep")
                    lm = spec.load()
                model = lm
            with intervene(model.model, iv, direction, seed):
                got = sample(model.model, model.tokenizer, questions, ecfg, label, path)
            generated += len(got) - len(have)
            have = got
        answers += have
    judgments = run.judgments(answers)
    by_label = {s.arm: s for s in summarize(answers, judgments, exp.metrics) if s.question_id == "ALL"}
    rows = [_row(iv, by_label[f"{arm}|{iv.label}"]) for iv in interventions]
    return SweepResult(run.name, arm, direction.name, rows, answers, judgments, generated)

