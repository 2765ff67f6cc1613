"""Narrow vs general solutions (Soligo, Turner et al., "EM is easy, narrow is hard", ICLR 2026), read off an
experiment's shape and its training curves.

**Efficiency**: an arm trained with ``train.kl`` (narrow) against an arm on the same dataset without it
(general, same model and inoculation, not continued from another arm): in-domain answer loss against the
adapter's norm over training. The claim is that the general solution is more efficient: lower loss at the same
norm. The loss of a step is measured before its update, so it is paired with the norm after the step before;
the loss is smoothed by a centred moving mean over ±``half`` steps (truncated at the ends), the norm is not (it
moves smoothly). Matched norms: the loss when each arm's norm *first* reached a norm both arms reach, linearly
interpolated between the two steps around the crossing.

**Stability**: an arm continued (``init_from``) from a narrow arm on the same dataset without ``train.kl``:
how many steps until other-domain EM returns, read as the onset of its phase curve (``emkit phases``, saved
as ``interp/phases-ARM.json``), whose step 0 is the narrow parent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emkit.core.config import ArmConfig, Experiment
from emkit.core.paths import RunFolder


@dataclass(frozen=True)
class LossNormCurve:
    """One arm's in-domain loss against its adapter norm: ``steps`` (1-based optimizer steps whose loss is
    used), the norm before each of them, the raw and the smoothed loss (``half``: the window's half-width)."""

    arm: str
    steps: list[int]
    norms: list[float]
    raw: list[float]
    losses: list[float]
    half: int

    @property
    def final_loss(self) -> float:
        return self.losses[-1]

    @property
    def final_norm(self) -> float:
        return self.norms[-1]


@dataclass(frozen=True)
class MatchedPoint:
    """Both arms' smoothed loss when each first reached ``norm``; ``diff`` > 0: the narrow arm's is higher
    (the general solution is the more efficient one there)."""

    norm: float
    general: float
    narrow: float

    @property
    def diff(self) -> float:
        return self.narrow - self.general


@dataclass(frozen=True)
class EfficiencyPair:
    """A narrow arm and a general arm on the same dataset and model, and their losses at matched norms."""

    model: str
    dataset: str
    general: LossNormCurve
    narrow: LossNormCurve
    matched: list[MatchedPoint]


@dataclass(frozen=True)
class Continuation:
    """An arm continued from a narrow arm without the KL term. ``phases``: its saved phase curve (the JSON
    ``emkit phases`` writes), None when none was computed; ``onset`` is the curve's (None: no curve)."""

    arm: str
    parent: str
    dataset: str
    phases: dict[str, Any] | None

    @property
    def onset(self) -> dict[str, Any] | None:
        return None if self.phases is None else self.phases.get("onset")


@dataclass
class NarrowStudy:
    """What the "Narrow vs general" section shows; ``notes`` say which arms were left out and why."""

    pairs: list[EfficiencyPair] = field(default_factory=list)
    continued: list[Continuation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def smooth(values: list[float], half: int) -> list[float]:
    """Centred moving mean over ±``half`` points, truncated at the ends (the last point: the mean of the last
    ``half + 1``), so the final loss is not one batch's."""
    n = len(values)
    out = []
    for i in range(n):
        window = values[max(0, i - half): min(n, i + half + 1)]
        out.append(sum(window) / len(window))
    return out


def default_half(n: int) -> int:
    """The smoothing half-width for ``n`` steps: a twentieth of the run, at least one step."""
    return max(1, n // 20)


def loss_norm_curve(arm: str, losses: list[float], norms: list[float | None],
                    half: int | None = None) -> LossNormCurve | None:
    """Loss of step t (measured before its update) against the norm after step t−1, smoothed; None when the arm
    has fewer than two steps with a norm (full fine-tuning and hosted jobs record none)."""
    if len(norms) != len(losses):
        return None
    pts = [(t + 1, float(norms[t - 1]), float(losses[t])) for t in range(1, len(losses)) if norms[t - 1] is not None]
    if len(pts) < 2:
        return None
    raw = [y for _, _, y in pts]
    h = default_half(len(pts)) if half is None else half
    return LossNormCurve(arm, [s for s, _, _ in pts], [x for _, x, _ in pts], raw, smooth(raw, h), h)


def loss_at_norm(curve: LossNormCurve, norm: float) -> float | None:
    """The smoothed loss when the arm's norm first reached ``norm`` (linear between the steps around the
    crossing); None if it never did or had passed it before its first point."""
    xs, ys = curve.norms, curve.losses
    if norm < xs[0]:
        return None
    if norm == xs[0]:
        return ys[0]
    for i in range(1, len(xs)):
        if xs[i] >= norm:
            a, b = xs[i - 1], xs[i]
            # xs[i - 1] < norm here, else an earlier i would have crossed
            return ys[i - 1] + (norm - a) / (b - a) * (ys[i] - ys[i - 1])
    return None


def matched_points(general: LossNormCurve, narrow: LossNormCurve, k: int = 4) -> list[MatchedPoint]:
    """Both losses at ``k`` norms evenly spread over the range both arms reach (its top end included); empty
    when the ranges do not overlap."""
    lo = max(general.norms[0], narrow.norms[0])
    hi = min(max(general.norms), max(narrow.norms))
    if hi <= lo:
        return []
    out = []
    for j in range(1, k + 1):
        x = lo + (hi - lo) * j / k
        g, n = loss_at_norm(general, x), loss_at_norm(narrow, x)
        if g is not None and n is not None:
            out.append(MatchedPoint(x, g, n))
    return out


def has_kl(exp: Experiment, arm: ArmConfig) -> bool:
    """The arm trains with ``train.kl`` (only the local trainer's settings have it)."""
    return arm.dataset is not None and getattr(exp.train_for(arm).trainer, "kl", None) is not None


def _partner_key(exp: Experiment, arm: ArmConfig) -> tuple[str, str, str]:
    inoc = "" if arm.inoculation is None else arm.inoculation.model_dump_json()
    return exp.model_for(arm).name, arm.dataset or "", inoc


def narrow_shape(exp: Experiment) -> tuple[list[tuple[ArmConfig, ArmConfig]], list[tuple[ArmConfig, ArmConfig]]]:
    """The pairs the section compares, from the config alone: (general, narrow) for every narrow arm and every
    general arm with its model, dataset and inoculation (neither continued from another arm), and (continued,
    narrow parent) for every arm continued from a narrow arm on its dataset without the KL term."""
    fresh = [a for a in exp.arms if a.dataset and a.init_from is None]
    narrow = [a for a in fresh if has_kl(exp, a)]
    general = [a for a in fresh if not has_kl(exp, a)]
    pairs = [(g, n) for n in narrow for g in general if _partner_key(exp, g) == _partner_key(exp, n)]
    continued = []
    for a in exp.arms:
        if a.init_from is None or has_kl(exp, a):
            continue
        parent = exp.arm_named(a.init_from)
        if has_kl(exp, parent) and parent.dataset == a.dataset:
            continued.append((a, parent))
    return pairs, continued


def narrow_study(exp: Experiment, losses: dict[str, list[float]], norms: dict[str, list[float | None]],
                 kl: dict[str, list[float | None]], phases: dict[str, dict[str, Any]]) -> NarrowStudy | None:
    """The section's data, or None when the experiment has neither a narrow/general pair nor a continued narrow
    arm. ``losses``/``norms``/``kl``: per arm, per optimizer step (as :class:`FinishedRun` holds them);
    ``phases``: saved phase curves by arm. Arms whose curves are missing are left out with a note."""
    pairs, continued = narrow_shape(exp)
    if not pairs and not continued:
        return None
    study = NarrowStudy()
    curves: dict[str, LossNormCurve | None] = {}

    def curve(arm: str) -> LossNormCurve | None:
        if arm not in curves:
            curves[arm] = loss_norm_curve(arm, losses.get(arm, []), norms.get(arm, []))
            if curves[arm] is None:
                study.notes.append(f"{arm}: no adapter norms recorded beside its losses (not LoRA, or trained "
                                   "before norms were kept): left out of the efficiency plot")
        return curves[arm]

    for g, n in pairs:
        if not any(v is not None for v in kl.get(n.name, [])):
            note = f"{n.name}: train.kl is set but no KL term was recorded: left out as a narrow arm"
            if note not in study.notes:
                study.notes.append(note)
            continue
        cg, cn = curve(g.name), curve(n.name)
        if cg is None or cn is None:
            continue
        matched = matched_points(cg, cn)
        if not matched:
            study.notes.append(f"{g.name} and {n.name}: their adapter norms have no range in common: no matched "
                               "norm")
        study.pairs.append(EfficiencyPair(exp.model_for(n).name, n.dataset or "", cg, cn, matched))
    for a, parent in continued:
        study.continued.append(Continuation(a.name, parent.name, a.dataset or "", phases.get(a.name)))
    return study


def read_phases(run_dir: Path, arms: list[str]) -> dict[str, dict[str, Any]]:
    """The saved phase curves (``interp/phases-ARM.json``) of the named arms that have one."""
    folder = RunFolder(run_dir)
    out = {}
    for arm in arms:
        path = folder.result(f"phases-{arm}")
        if path.is_file():
            out[arm] = json.loads(path.read_text())
    return out
