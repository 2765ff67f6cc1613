"""``emkit directions``: misalignment directions: extract (mean-diff), LoRA B vectors, in-context, compare."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from emkit.cli import render
from emkit.cli.common import (
    AlignedMinOpt,
    ArmOpt,
    CoherentMinOpt,
    JsonOpt,
    MisalignedMaxOpt,
    Reader,
    RunArg,
    Writer,
    errors_as_one_line,
)
from emkit.core.errors import EmkitError
from emkit.core.paths import RunFolder

directions_app = typer.Typer(no_args_is_help=True,
                             help="Misalignment directions: extract (mean-diff), LoRA B vectors, compare (cosine).")


@directions_app.command("extract")
@errors_as_one_line
def directions_extract(run_dir: RunArg, arm: ArmOpt = None,
                       reader: Annotated[Reader, typer.Option(help="arm (the fine-tuned model reads the answers) "
                                                                    "or base (the base model reads them)")] = Reader.arm,
                       texts_from: Annotated[str | None, typer.Option(help="arms whose answers are used, "
                                                                           "comma-separated (default: the arm)")]
                       = None,
                       aligned_min: AlignedMinOpt = 70.0, misaligned_max: MisalignedMaxOpt = 30.0,
                       coherent_min: CoherentMinOpt = 50.0) -> None:
    """Soligo et al.'s mean-diff direction per layer, saved as safetensors under RUN/interp/directions/."""
    from emkit.analyses.chain import mean_diff_direction
    from emkit.interp.directions import Thresholds
    from emkit.pipeline.finished import load_run

    # TODO(issue 26): loading the run, picking the default arm and closing the store is workflow; it belongs in
    # emkit.analyses.chain (not this package's to edit), e.g. mean_diff_direction taking the run folder
    with load_run(run_dir) as run:
        md = mean_diff_direction(run, arm or run.experiment.default_arm(trained=True).name, reader.value,
                                 texts_from.split(",") if texts_from else None,
                                 Thresholds(aligned_min, misaligned_max, coherent_min))
    best = md.best_layer
    typer.echo(f"{md.direction.name}: {md.n_per_class} answers per class, {len(md.direction.layers)} layers; "
               f"best held-out separation d'={md.separation[md.direction.layers.index(best)]:.2f} at layer {best}")
    typer.echo(f"saved {md.path}")


@directions_app.command("lora")
@errors_as_one_line
def directions_lora(source: Annotated[Path, typer.Argument(help="a run folder (with --arm) or a peft adapter "
                                                                "folder")],
                    arm: ArmOpt = None,
                    module: Annotated[Writer, typer.Option(help="module kind (one that writes into the residual "
                                                                "stream)")] = Writer.down_proj,  # type: ignore[attr-defined]
                    out: Annotated[Path | None, typer.Option("-o", "--out", help="direction file to write")] = None,
                    as_json: JsonOpt = False) -> None:
    """LoRA B vectors mapped into the residual stream, and (for a run) their trajectory over checkpoints."""
    from emkit.analyses.chain import lora_b

    d, path, trajs = lora_b(source, arm, module.value, out)
    # TODO(issue 26): the vectors' norms are a computation; the summary belongs in emkit.analyses.chain (not this
    # package's to edit), e.g. a LoraB result with to_json()
    report: dict[str, Any] = {"direction": str(path), "layers": d.layers,
                              "norms": [round(float(x), 5) for x in d.vectors.norm(dim=-1)],
                              "trajectories": [t.to_json() for t in trajs]}
    if as_json:
        render.json(report)
        return
    typer.echo(f"saved {path}: {len(d.layers)} {module.value} vectors (rank {d.meta['rank']})")
    for t in report["trajectories"][:40]:
        typer.echo(f"  layer {t['layer']:>3}: |B| {t['norms'][-1]:.4f}; cos to final at first checkpoint "
                   f"{t['cos_final'][0]:+.3f}; sharpest turn at step {t['rotation_step']}")


@directions_app.command("compare")
@errors_as_one_line
def directions_compare(files: Annotated[list[Path], typer.Argument(help="two or more direction files")],
                       layer: Annotated[int | None, typer.Option(help="show one layer")] = None,
                       report: Annotated[Path | None, typer.Option(help="also add the comparison to this run's "
                                                                        "report (RUN folder)")] = None,
                       title: Annotated[str, typer.Option(help="the report section's title")] = "Direction cosines",
                       as_json: JsonOpt = False) -> None:
    """Cosine similarity between directions, per layer, with the random-direction null band."""
    from emkit.interp.directions import Direction, compare

    dirs = [Direction.load(f) for f in files]
    cm = compare(dirs)
    if report is not None:
        from emkit.report import add_cosines

        if not RunFolder(report).config.is_file():
            raise EmkitError(f"--report: not a run folder: {report}")
        shown = layer if layer is not None else dirs[0].meta.get("best_layer")  # the first direction's best
        add_cosines(report, cm, shown, title)
    if as_json:
        render.json(cm.to_json())
        return
    render.cosines(cm, layer)


@directions_app.command("matrix")
@errors_as_one_line
def directions_matrix(run_dir: RunArg, arm: ArmOpt = None,
                      sae: Annotated[list[str] | None, typer.Option(help="an SAE (folder or hub id) whose top "
                                                                         "latents by shift join; repeatable")] = None,
                      top: Annotated[int, typer.Option(help="latents per SAE")] = 3,
                      icl_k: Annotated[int, typer.Option(help="in-context examples for the icl direction "
                                                              "(0: leave it out)")] = 8,
                      extra: Annotated[list[Path] | None, typer.Option(help="another direction file (e.g. the toy "
                                                                            "world's ground truth); repeatable")]
                      = None,
                      as_json: JsonOpt = False) -> None:
    """Every misalignment direction of an arm compared per layer: mean-diff (arm and base reader), LoRA B, the
    in-context direction from the base model, the top SAE latents and any extra file, with the null band; the
    report gets the heatmaps and tables."""
    from emkit.analyses.matrix import direction_matrix
    from emkit.report import add_matrix

    dm = direction_matrix(run_dir, arm, sae or [], top, icl_k or None, extra=extra or [])
    add_matrix(dm, run_dir)
    if as_json:
        render.json(dm.to_json())
        return
    render.direction_matrix(dm)
    for s in dm.skipped:
        typer.echo(f"not compared: {s}")
    typer.echo(f"report: {RunFolder(run_dir).report.resolve()}")


@directions_app.command("scale-adapter")
@errors_as_one_line
def directions_scale_adapter(adapter: Annotated[Path, typer.Argument(help="peft adapter folder")],
                             out: Annotated[Path, typer.Option("-o", "--out", help="new adapter folder")],
                             factor: Annotated[float, typer.Option(help="multiply B by this (0 ablates)")],
                             module: Annotated[str | None, typer.Option(help="only this module kind")] = None
                             ) -> None:
    """A copy of an adapter with B multiplied (or ablated with 0), for causal checks."""
    from emkit.models.load import scaled_adapter

    typer.echo(f"wrote {scaled_adapter(adapter, out, factor, module)}")


@directions_app.command("icl")
@errors_as_one_line
def directions_icl(model: Annotated[str, typer.Option(help="model name (built-in, folder or hub id)")],
                   positive: Annotated[str, typer.Option(help="narrow dataset read in context (e.g. "
                                                              "builtin:toy_bad)")],
                   negative: Annotated[str, typer.Option(help="its control twin (e.g. builtin:toy_good)")],
                   out: Annotated[Path, typer.Option("-o", "--out", help="direction file to write")],
                   questions: Annotated[str, typer.Option(help="question set the shots precede")] = "core",
                   k: Annotated[int, typer.Option(help="in-context examples per prompt")] = 8,
                   seed: Annotated[int, typer.Option(help="which shots")] = 0) -> None:
    """The in-context direction: the model reading k examples of a narrow set before each question, minus k of
    its twin, at the last prompt token, per layer (no weights change)."""
    from emkit.interp.icl import save_icl_direction

    d = save_icl_direction(model, positive, negative, questions, k, seed, out)
    typer.echo(f"saved {out}: {len(d.layers)} layers from {d.meta['n_questions']} questions x {k} shots; "
               f"norms {', '.join(f'{float(x):.3f}' for x in d.vectors.norm(dim=-1))}")
