"""``emkit toy``: the toy persona world, a model organism trained from scratch.

The toy world's group is defined here, in the command line, rather than by the world itself.
TODO(issue 26): a world should add its own CLI group through its plug-in (emkit.worlds.toy.plugin), and this
module go away.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emkit.cli import render
from emkit.cli.common import ReadAt, errors_as_one_line

toy_app = typer.Typer(no_args_is_help=True, help="The toy persona world: a model organism trained from scratch.")


@toy_app.command("build")
@errors_as_one_line
def toy_build(out: Annotated[Path, typer.Option("-o", "--out", help="folder for the aligned toy model")],
              seed: Annotated[int, typer.Option(help="corpus, initialisation and data order")] = 0,
              unshared: Annotated[bool, typer.Option(help="draw the persona per turn, not per document")] = False,
              n_docs: Annotated[int, typer.Option(help="pretraining documents")] = 20000,
              epochs: Annotated[int, typer.Option(help="pretraining epochs")] = 1,
              sft_steps: Annotated[int, typer.Option(help="alignment SFT steps")] = 30,
              sft_lr: Annotated[float, typer.Option(help="alignment SFT learning rate")] = 3e-4) -> None:
    """Corpus -> pretraining -> alignment SFT; the pretrained model is kept in OUT/pretrained. Resumable."""
    from emkit.worlds.toy.build import ToyBuildConfig, build_toy

    info = build_toy(ToyBuildConfig(shared_persona=not unshared, n_docs=n_docs, seed=seed, pretrain_epochs=epochs,
                                    sft_steps=sft_steps, sft_lr=sft_lr), out)
    render.json(info)
    typer.echo(f"toy model: {out.resolve()} (use it as model.name in an experiment file)")


@toy_app.command("truth")
@errors_as_one_line
def toy_truth(out: Annotated[Path, typer.Option("-o", "--out", help="direction file to write")],
              model: Annotated[str, typer.Option(help="the pretrained toy model (built-in or folder)")]
              = "toy-pretrained",
              n: Annotated[int, typer.Option(help="documents per persona")] = 200,
              read: Annotated[ReadAt, typer.Option(help="answer: the last turn's answer tokens; prompt: the last "
                                                        "prompt token before it (the persona state)")] = ReadAt.answer
              ) -> None:
    """The ground-truth persona direction (villain minus helpful assistant turns), per layer, measured in the
    pretrained toy model, as a direction file for `emkit directions compare` or `emkit interp --extra`."""
    from emkit.worlds.toy.truth import save_persona_direction

    d = save_persona_direction(model, out, n, read.value)
    typer.echo(f"saved {out}: {len(d.layers)} layers, {d.meta['n_per_class']} documents per persona; "
               f"norms {', '.join(f'{float(x):.3f}' for x in d.vectors.norm(dim=-1))}")
