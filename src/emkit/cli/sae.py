"""``emkit sae``: sparse autoencoders on the residual stream: train, diff, causal checks, rerouting, info."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emkit.cli import render
from emkit.cli.common import ArmOpt, JsonOpt, RunArg, SamplesOpt, errors_as_one_line, floats

sae_app = typer.Typer(no_args_is_help=True, help="Sparse autoencoders on the residual stream: train, inspect.")


@sae_app.command("train")
@errors_as_one_line
def sae_train(model: Annotated[str, typer.Option(help="model name (built-in, folder or hub id)")],
              layer: Annotated[int, typer.Option(help="decoder layer whose output the SAE reads")],
              out: Annotated[Path, typer.Option("-o", "--out", help="folder for the SAE (re-run to resume)")],
              corpus: Annotated[list[str], typer.Option(help="dataset spec (builtin:NAME?size=N, chat JSONL, "
                                                             "hf:...) or run:RUN_DIR; repeat for several")],
              adapter: Annotated[str | None, typer.Option(help="a peft adapter applied to the model")] = None,
              k: Annotated[int, typer.Option(help="active latents per token")] = 32,
              expansion: Annotated[int, typer.Option(help="latents per model dimension")] = 8,
              width: Annotated[int | None, typer.Option(help="latents (overrides --expansion)")] = None,
              tokens: Annotated[int, typer.Option(help="training tokens (the corpus is cycled)")] = 200_000,
              lr: Annotated[float | None, typer.Option(help="Adam learning rate (default: sparsify's rule)")]
              = None,
              texts_per_batch: Annotated[int, typer.Option(help="texts per step")] = 8,
              max_length: Annotated[int, typer.Option(help="tokens per text at most")] = 256,
              seed: Annotated[int, typer.Option(help="initialisation and corpus order")] = 0) -> None:
    """Train a TopK SAE (EleutherAI's sparsify) on a model's residual stream; checkpoints, and resumes."""
    from emkit.analyses.sae_diffing import train
    from emkit.interp.sae import SaeTraining

    sae = train(model, layer, corpus, SaeTraining(k=k, expansion=expansion, width=width, tokens=tokens, lr=lr,
                                                  seed=seed), out, adapter, texts_per_batch, max_length)
    f = sae.meta["figures"]
    typer.echo(f"SAE at layer {layer}: {f['width']} latents, k={f['k']}; {f['tokens']} tokens in {f['steps']} "
               f"steps; variance explained {f['fve']:.3f} on {f.get('eval_tokens', 0)} held-out tokens, L0 "
               f"{f.get('l0', f['k'])}, dead latents {100 * f['dead_fraction']:.1f}%")
    typer.echo(f"saved {out.resolve()} (sparsify layout: cfg.json + sae.safetensors)")


@sae_app.command("diff")
@errors_as_one_line
def sae_diff(run_dir: RunArg,
             sae: Annotated[str, typer.Option(help="SAE folder (sparsify or SAE Lens layout) or hub id")],
             arm: ArmOpt = None,
             hookpoint: Annotated[str | None, typer.Option(help="which SAE of a folder of several")] = None,
             top: Annotated[int, typer.Option(help="latents to list (largest increases)")] = 20,
             as_json: JsonOpt = False) -> None:
    """Model diffing (Wang et al.): every latent's mean activation on the run's answers under the base model and
    the arm, ranked by shift, with its interval, top answers and correlation with the judge's alignment score."""
    from emkit.analyses.sae_diffing import diff

    res = diff(run_dir, sae, arm, hookpoint, top)
    if as_json:
        render.json(res.to_json())
        return
    render.sae_latents(res)
    typer.echo(f"saved {Path(run_dir) / 'interp' / f'sae-diff-{res.arm}.json'}; the top latent's decoder column as a "
               f"direction under {Path(run_dir) / 'interp' / 'directions'}")


@sae_app.command("causal")
@errors_as_one_line
def sae_causal(run_dir: RunArg,
               sae: Annotated[str, typer.Option(help="SAE folder (sparsify or SAE Lens layout) or hub id")],
               latent: Annotated[int | None, typer.Option(help="the latent (default: the top of the saved "
                                                               "`emkit sae diff`)")] = None,
               arm: ArmOpt = None,
               hookpoint: Annotated[str | None, typer.Option(help="which SAE of a folder of several")] = None,
               value: Annotated[float, typer.Option(help="clamp the latent to this (0 ablates it)")] = 0.0,
               scales: Annotated[str, typer.Option(help="steering scales (norm of the added decoder column), "
                                                        "comma-separated")] = "8,16",
               samples: SamplesOpt = 4, as_json: JsonOpt = False) -> None:
    """Causal checks on an SAE latent: clamp it in the fine-tuned arm, steer the base model along it, each beside
    a control latent that fires about as often; misaligned and coherent rates with Wilson intervals."""
    from emkit.analyses.sae_diffing import causal

    res = causal(run_dir, sae, latent, arm, hookpoint, value, tuple(floats(scales)), samples)
    if as_json:
        render.json(res.to_json(), default=str)
        return
    typer.echo(f"latent {res.latent} fires on {100 * res.frequency:.1f}% of the arm's answer tokens; control latent "
               f"{res.control} on {100 * res.control_frequency:.1f}%")
    for sw in (res.clamp, res.steer):
        for r in sw.rows:
            m, c = r.summary.misaligned, r.summary.coherent
            typer.echo(f"  [{sw.arm}] {r.label:<34} misaligned {100 * m.rate:5.1f}% [{100 * m.lo:.1f}, "
                       f"{100 * m.hi:.1f}] (n={m.n}), coherent {100 * c.rate:.1f}%")


@sae_app.command("reroute")
@errors_as_one_line
def sae_reroute(run_dir: RunArg,
                blocked: Annotated[str | None, typer.Option(help="the arm trained with latents blocked (default: "
                                                                 "the first that was)")] = None,
                reference: Annotated[str | None, typer.Option(help="an unblocked arm on the same data (default: "
                                                                   "the first)")] = None,
                sae: Annotated[str | None, typer.Option(help="SAE to read through (default: the one the arm "
                                                             "blocked)")] = None,
                top: Annotated[int, typer.Option(help="top rising latents compared")] = 10,
                as_json: JsonOpt = False) -> None:
    """The rerouting check on latent blocking: did the blocked latents stay down, did EM stay, and did other
    latents rise in their place (shared with the unblocked arm, or new)?"""
    from emkit.analyses.sae_diffing import reroute

    res = reroute(run_dir, sae, blocked, reference, top)
    if as_json:
        render.json(res.to_json())
        return
    for arm, r in res.rates.items():
        typer.echo(f"  {arm:<16} misaligned {100 * r['misaligned']:5.1f}% [{100 * r['lo']:.1f}, {100 * r['hi']:.1f}] "
                   f"(n={r['n']})")
    for x in res.shifts:
        ref, blk = x["reference"], x["blocked"]
        typer.echo(f"  latent {x['latent']}: shift {ref['shift']:+.3f} [{ref['lo']:+.3f}, {ref['hi']:+.3f}] in "
                   f"{res.reference_arm}, {blk['shift']:+.3f} [{blk['lo']:+.3f}, {blk['hi']:+.3f}] in {res.blocked_arm}")
    typer.echo(f"  of {res.blocked_arm}'s top {len(res.new_top)} rising latents (blocked ones aside), "
               f"{100 * res.overlap:.0f}% are among {res.reference_arm}'s; largest |cos| to a blocked latent's decoder "
               f"column: {max((x['max_abs_cos_to_blocked'] for x in res.new_top), default=float('nan')):.3f}")
    typer.echo(f"saved {Path(run_dir) / 'interp' / f'sae-reroute-{res.blocked_arm}.json'}")


@sae_app.command("info")
@errors_as_one_line
def sae_info(source: Annotated[str, typer.Argument(help="SAE folder (sparsify or SAE Lens layout) or hub id")],
             hookpoint: Annotated[str | None, typer.Option(help="which SAE of a folder of several")] = None,
             as_json: JsonOpt = False) -> None:
    """What an SAE is: layout, size, activation, layer and (for emkit's) how it was trained."""
    from emkit.interp.sae import load_sae

    sae = load_sae(source, hookpoint)
    info = {"layout": sae.meta.get("layout"), "d_in": sae.d_in, "latents": sae.d_sae, "activation": sae.activation,
            "k": sae.k, "layer": sae.layer, "figures": sae.meta.get("figures")}
    render.json(info, indent=None if not as_json else 1)
