"""The interpretability commands on a finished run or a base model: ``emkit interp`` (the whole chain),
``steer``, ``ablate``, ``project``, ``phases`` and ``screen``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from emkit.cli import render
from emkit.cli.common import (
    AlignedMinOpt,
    ArmOpt,
    CoherentMinOpt,
    JsonOpt,
    MisalignedMaxOpt,
    ReadAt,
    RunArg,
    SamplesOpt,
    errors_as_one_line,
    floats,
    ints,
)
from emkit.core.paths import RunFolder


@errors_as_one_line
def interp(run_dir: RunArg, arm: ArmOpt = None,
           layer: Annotated[int | None, typer.Option(help="layer to steer/ablate (default: best held-out "
                                                             "separation)")] = None,
           scales: Annotated[str, typer.Option(help="steering scales, comma-separated")] = "2,4,8",
           samples: SamplesOpt = 4,
           steer_arm: Annotated[str | None, typer.Option(help="arm to steer (default: the base arm)")] = None,
           extra: Annotated[list[Path] | None, typer.Option(help="another direction file for the cosine matrix")]
           = None,
           phases: Annotated[bool, typer.Option(help="phase curve over the arm's checkpoints")] = True,
           aligned_min: AlignedMinOpt = 70.0, misaligned_max: MisalignedMaxOpt = 30.0,
           coherent_min: CoherentMinOpt = 50.0) -> None:
    """The whole chain on a finished run: capture, mean-diff, steering with random control, ablation, LoRA B,
    cosine matrix, phase curve; adds an interp section to the run's report."""
    from emkit.analyses.chain import interp_chain
    from emkit.interp.directions import Thresholds
    from emkit.report import add_chain

    res = interp_chain(run_dir, arm, layer, floats(scales), samples, steer_arm, extra or [], phases,
                       Thresholds(aligned_min, misaligned_max, coherent_min))
    add_chain(res)
    typer.echo(f"arm {res.arm}: mean-diff from {res.mean_diff.n_per_class} answers per class; layer {res.layer}")
    for name, sw in (("steering", res.steering), ("ablation", res.ablation)):
        if sw:
            typer.echo(f"{name} ({sw.arm}): " + "; ".join(
                f"{r.label}: misaligned {100 * r.summary.misaligned.rate:.1f}% (n={r.summary.misaligned.n}), "
                f"coherent {100 * r.summary.coherent.rate:.1f}%" for r in sw.rows))
    typer.echo("cosines at layer " + str(res.layer) + f" (null ±{res.cosines.null:.3f}): " + "; ".join(
        f"{p['a']} vs {p['b']} {p['cos']:+.3f}" for p in res.cosines.pairs() if p["layer"] == res.layer))
    typer.echo(f"report: {RunFolder(run_dir).report.resolve()}")


@errors_as_one_line
def steer(run_dir: RunArg,
          direction: Annotated[Path, typer.Option(help="direction file (emkit directions extract)")],
          layer: Annotated[str, typer.Option(help="layer(s) to steer at, comma-separated")],
          scales: Annotated[str, typer.Option(help="scales, comma-separated (1 = the vector as saved)")] = "2,4,8",
          arm: Annotated[str | None, typer.Option(help="arm to steer (default: the first untrained arm)")] = None,
          samples: SamplesOpt = 4,
          random_control: Annotated[bool, typer.Option(help="a same-norm random direction at every scale")] = True,
          as_json: JsonOpt = False) -> None:
    """Sample, judge and report misaligned/coherent rate vs steering scale, beside its random control."""
    from emkit.analyses.interventions import steer_run
    from emkit.report import add_interventions

    res = steer_run(run_dir, direction, ints(layer) or [], floats(scales), arm, samples, random_control)
    add_interventions(run_dir, res)
    render.intervention(res, as_json)


@errors_as_one_line
def ablate(run_dir: RunArg, direction: Annotated[Path, typer.Option(help="direction file")],
           layer: Annotated[str, typer.Option(help="layer(s), comma-separated, or all")] = "all",
           arm: ArmOpt = None, samples: SamplesOpt = 4,
           random_control: Annotated[bool, typer.Option(help="ablate a same-norm random direction too")] = True,
           as_json: JsonOpt = False) -> None:
    """Project the direction out of the residual stream and report misaligned/coherent rates."""
    from emkit.analyses.interventions import ablate_run
    from emkit.report import add_interventions

    res = ablate_run(run_dir, direction, ints(layer), arm, samples, random_control)
    add_interventions(run_dir, res)
    render.intervention(res, as_json)


@errors_as_one_line
def project(run_dir: RunArg, direction: Annotated[Path, typer.Option(help="direction file")],
            layer: Annotated[int | None, typer.Option(help="layer (default: the direction's best held-out layer)")]
            = None,
            read: Annotated[ReadAt, typer.Option(help="prompt (last prompt token) or answer (answer tokens)")]
            = ReadAt.prompt,
            as_json: JsonOpt = False) -> None:
    """Language vs weights: every condition (arm x prompt variant) projected on a direction, against its
    misaligned rate, one point per question; adds a section to the run's report."""
    from emkit.analyses.project import project_run, summary_rows
    from emkit.report import add_projection

    res = project_run(run_dir, direction, layer, read.value)
    add_projection(run_dir, res)
    if as_json:
        render.json(res.to_json(), default=str)
        return
    r, rho, n = res.correlation()
    typer.echo(f"{res.direction} at layer {res.layer} ({res.read}); shifts from {res.reference}")
    for row in summary_rows(res):
        typer.echo(f"  {row['condition']:<28} projection {row['projection']:+8.2f} (shift {row['d_projection']:+7.2f})"
                   f"  misaligned {row['misaligned']}")
    typer.echo(f"per-question shift vs misaligned rate: Pearson r {r:.2f}, Spearman {rho:.2f} over {n} "
               "condition x question points")


@errors_as_one_line
def phases(run_dir: RunArg, arm: ArmOpt = None, samples: SamplesOpt = 2,
           every: Annotated[int, typer.Option(help="use every k-th checkpoint")] = 1,
           as_json: JsonOpt = False) -> None:
    """Misaligned rate per checkpoint (small fixed sample, cached) beside the LoRA B rotation."""
    from emkit.analyses.phases import phase_curve_of

    pc = phase_curve_of(run_dir, arm, samples, every)
    if as_json:
        render.json(pc.to_json(), default=str)
        return
    top = pc.largest(1)
    for r in pc.rows:
        turn = ""
        if top and r.step in top[0].steps:
            c = top[0].cos_prev[top[0].steps.index(r.step)]
            turn = f"; B (layer {top[0].layer}) cos to previous {c:+.3f}" if c == c else ""
        typer.echo(f"step {r.step:>6}: misaligned {r.misaligned}{turn}")
    if pc.onset is not None:
        typer.echo(f"onset (first checkpoint above step 0's rate): {pc.onset}")


@errors_as_one_line
def screen(model: Annotated[str, typer.Option(help="the base model to screen for (built-in, folder or hub id)")],
           direction: Annotated[Path, typer.Option(help="direction file (e.g. a mean-diff direction, the toy "
                                                        "world's ground truth, an SAE latent)")],
           datasets: Annotated[str | None, typer.Option(help="comma-separated built-in names or dataset specs "
                                                             "(default: emkit's 13 built-in datasets)")] = None,
           layer: Annotated[int | None, typer.Option(help="layer to read (default: the direction's best)")] = None,
           size: Annotated[int, typer.Option(help="examples per built-in dataset")] = 64,
           max_new_tokens: Annotated[int, typer.Option(help="length of the base model's own answers")] = 64,
           measured: Annotated[list[Path] | None, typer.Option(help="a finished run whose arms were fine-tuned on "
                                                                    "screened datasets; repeatable")] = None,
           out: Annotated[Path, typer.Option("-o", "--out", help="folder for screen.json and screen.html")]
           = Path("runs/screen"),
           as_json: JsonOpt = False) -> None:
    """Screen datasets before training (Chen et al.): each one's projection difference on a direction in the base
    model (its answers minus the model's own), ranked, beside the EM measured after fine-tuning on it."""
    from emkit.analyses.screen import CORE_DATASETS
    from emkit.analyses.screen import screen as run_screen
    from emkit.interp.directions import Direction
    from emkit.models.load import cache_dir
    from emkit.report.screen import write_screen_page

    names = [x.strip() for x in datasets.split(",") if x.strip()] if datasets else list(CORE_DATASETS)
    res = run_screen(model, Direction.load(direction), names, layer, size, 0, max_new_tokens, measured or [],
                     cache_dir() / "screen")
    # TODO(issue 26): saving screen.json is the analysis's own output; it belongs in emkit.analyses.screen (not
    # this package's to edit), e.g. ScreenResult.save(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "screen.json").write_text(json.dumps(res.to_json(), indent=1) + "\n")
    page = write_screen_page(res, out / "screen.html")
    if as_json:
        render.json(res.to_json())
        return
    render.screen(res)
    if res.spearman is not None:
        typer.echo(f"Spearman rho {res.spearman:+.3f} over {res.n_measured} measured datasets (permutation p "
                   f"{res.p_value:.3f})")
    for n in res.notes:
        typer.echo(n)
    typer.echo(f"page: {page.resolve()}")
