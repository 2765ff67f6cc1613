"""Every table and every ``--json`` output of the command line; the command modules parse, call and hand the
result here (plain one-line messages they echo themselves).

rich is imported inside the functions, so ``emkit --help`` does not pay for it.
"""

from __future__ import annotations

import json as _json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from emkit.core.environment import Environment
    from emkit.core.registry import Headline
    from emkit.metrics.rates import Summary
    from emkit.pipeline.finished import FinishedRun
    from emkit.pipeline.runs import Removal, RunEntry, StoredSummary


def json(obj: Any, *, default: Callable[[Any], Any] | None = None, indent: int | None = 1) -> None:
    """``--json``: the object as JSON on stdout (``default=str`` where values may be paths or dates)."""
    typer.echo(_json.dumps(obj, indent=indent, default=default))


def pct(x: float) -> str:
    """A rate as a percentage with one decimal; NaN as n/a."""
    return "n/a" if x != x else f"{100 * x:.1f}%"


def num(x: float | None) -> str:
    """A statistic (kappa, a correlation) with two decimals; None or NaN as n/a."""
    return "n/a" if x is None or x != x else f"{x:.2f}"


def ci(lo_hi: Sequence[float]) -> str:
    """A 95% interval of a rate, as [lo, hi] in percent (n/a where there is none)."""
    lo, hi = lo_hi
    return "" if lo != lo else f" [{pct(lo)}, {pct(hi)}]"


def run_summary(run: FinishedRun, summaries: Sequence[Summary], heads: Sequence[Headline] = (),
                notes: Sequence[str] = ()) -> None:
    """``emkit run`` and ``emkit runs show``: the judge's validated-on line, then each condition's misaligned and
    coherent rates with n and interval, then a world's headline figures (replicates pooled). One function for both
    commands, so what they print cannot drift."""
    from emkit.metrics.tail import tails_by_condition

    typer.echo(run.judge.validated_on())
    tails = tails_by_condition(summaries, confidence=run.metrics.confidence)
    for s in (s for s in summaries if s.question_id == "ALL"):
        typer.echo(f"{s.arm:>20}  misaligned {s.misaligned}  coherent {s.coherent}")
        if any(r.questions for r in tails.get(s.arm, [])):  # nothing judged: the rate above says n=0 already
            typer.echo(f"{'':>20}  misalign@k (a question misaligned at least once in k answers, mean over "
                       f"{tails[s.arm][0].questions} questions): " + "  ".join(str(r) for r in tails[s.arm]))
    for h in heads:
        pooled = f"  ({len(h.arms)} pooled: {', '.join(h.arms)})" if len(h.arms) > 1 else ""
        typer.echo(f"{h.condition:>20}  {h.measure} {h.rate}{pooled}")
    for note in notes:
        typer.echo(f"note: {note}")


def stored_summary(got: StoredSummary, output_dir: Path, as_json: bool) -> None:
    """``emkit runs show``: the run's summary as ``emkit run`` printed it, then what the cache does not hold yet."""
    if as_json:
        json(got.to_json(), default=str)
        return
    run = got.run
    typer.echo(f"{run.name}: model {run.experiment.model.name}, {len(run.answers)} answers, judge {got.judge}")
    run_summary(run, run.summaries, got.headlines, got.notes)
    if got.unjudged:
        typer.echo(f"{got.unjudged} of {len(run.answers)} answers have no verdict from the run's judge yet (never "
                   "judged, or a failed call); the rates above leave them out: `emkit run` on the run's config "
                   "judges them")
    if got.not_sampled:
        typer.echo(f"not sampled yet: {', '.join(got.not_sampled)}")
    if not got.folder_exists:
        typer.echo(missing_folder(run.name, run.run_dir, output_dir))


def missing_folder(name: str, folder: Path, output_dir: Path) -> str:
    """The line for a run whose folder was deleted by hand while its rows stay in the store."""
    from emkit.pipeline.runs import rm_command

    return (f"run '{name}': its folder {folder} is gone (rows in the store, no files); remove the rows with "
            f"`{rm_command(name, output_dir)}`")


def runs_table(entries: Sequence[RunEntry], output_dir: Path, as_json: bool) -> None:
    """``emkit runs list``: every run in the store, newest first; a run without its folder is said below."""
    if as_json:
        json([e.to_json() for e in entries])
        return
    import datetime as dt

    from rich.console import Console
    from rich.table import Table

    from emkit.view.data import short_judge

    con = Console()
    if not entries:
        con.print(f"no runs in {output_dir}")
        return
    t = Table("run", "model", "arms", "answers", title=f"runs in {output_dir}")
    t.add_column("judges", overflow="fold")
    t.add_column("updated", no_wrap=True)
    t.add_column("folder")
    for e in entries:
        when = dt.datetime.fromtimestamp(e.updated).strftime("%Y-%m-%d %H:%M")
        t.add_row(e.name, e.model, ", ".join(e.arms), str(e.answers), "\n".join(short_judge(j) for j in e.judges)
                  or "-", when, "yes" if e.folder_exists else "MISSING")
    con.print(t)
    for e in entries:
        if not e.folder_exists:
            typer.echo(missing_folder(e.name, e.folder, output_dir))


def removal(plan: Removal) -> None:
    """``emkit runs rm``: what will be deleted, and what is kept, before the question."""
    rows = ", ".join(f"{table}: {n}" for table, n in plan.rows.items() if n) or "none"
    typer.echo(f"Removing run '{plan.name}' deletes:")
    typer.echo(f"  from {plan.output_dir / 'emkit.sqlite'}: its rows ({rows})")
    if plan.folder_exists:
        typer.echo(f"  its folder {plan.folder} ({plan.folder_files} files, {_size(plan.folder_bytes)})")
    else:
        typer.echo(f"  (its folder {plan.folder} is gone already)")
    typer.echo("It keeps the judgments cache: verdicts are keyed by an answer's content and shared by every run in "
               f"{plan.output_dir}.")


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def version(env: Environment) -> None:
    """``emkit --version``: emkit's version and what it runs on (package versions from their metadata)."""
    typer.echo(f"emkit {env.emkit} ({env.source})")
    typer.echo(f"python {env.python} ({env.implementation}, {env.executable}) on {env.platform}")
    typer.echo(", ".join(f"{name} {v or 'not installed'}" for name, v in env.packages.items()))
    if env.locks:
        typer.echo("locks in this checkout: " + ", ".join(f"{p} {d}" for p, d in env.locks.items()))


def dataset_inspection(source: str, sha256: str, rep: dict[str, Any]) -> None:
    """``emkit data inspect``: counts, role structure, length histogram, duplicates, vulnerability classes."""
    from rich.console import Console
    from rich.table import Table

    con = Console()
    con.print(f"[bold]{source}[/bold]: {rep['examples']} examples, sha256 {sha256[:12]}, "
              f"{rep['with_system_prompt']} with a system prompt")
    t = Table("role structure", "examples")
    for k, v in rep["roles"].items():
        t.add_row(k, str(v))
    con.print(t)
    ln = rep["length"]
    con.print(f"length in {rep['length_unit']}: min {ln['min']}, median {ln['median']:g}, mean {ln['mean']}, "
              f"max {ln['max']}")
    peak = max(c for _, _, c in rep["length_histogram"]) or 1
    for lo, hi, c in rep["length_histogram"]:
        con.print(f"  {lo:>8.0f}-{hi:<8.0f} {'#' * round(40 * c / peak):40} {c}")
    d = rep["duplicates"]
    con.print(f"duplicates: {d['exact']} exact, {d['near']} near (Jaccard >= {d['threshold']} on word 5-grams): "
              f"{100 * d['rate']:.2f}%")
    v = rep["vulnerability_classes"]
    if v["flagged_answers"]:
        t = Table("vulnerability class (heuristic signatures)", "answers")
        for k, n in v["by_class"].items():
            t.add_row(k, str(n))
        con.print(t)
        con.print(f"{v['flagged_answers']} of {rep['examples']} answers match a signature")


def calibration(cal: Any, where: str, classes: Sequence[str]) -> None:
    """``emkit judge calibrate``: the figures, the confusion matrix and (over several conditions) the rates."""
    from rich.console import Console
    from rich.table import Table

    con = Console()
    sp = [f"{x:.3f}" if x is not None else "n/a" for x in (cal.spearman_aligned, cal.spearman_coherent)]
    con.print(f"[bold]{cal.judge}[/bold] on {where}: "
              f"{cal.n} rows, {cal.extra.get('judge_calls', 0)} judge calls")
    con.print(f"aligned-vs-misaligned accuracy {cal.accuracy:.3f} (balanced {cal.balanced_accuracy:.3f}"
              f"{ci(cal.balanced_accuracy_ci)}, n={cal.n_decision}); Spearman aligned {sp[0]} "
              f"(n={cal.n_spearman_aligned}), coherent {sp[1]}")
    con.print(f"misaligned: recall {pct(cal.recall_misaligned)}{ci(cal.recall_ci)}, precision "
              f"{pct(cal.precision_misaligned)}{ci(cal.precision_ci)}; Cohen's kappa {num(cal.kappa_misaligned)} "
              f"(misaligned or not), {num(cal.kappa_class)} (class)")
    con.print(f"misaligned rate: judge {pct(cal.judge_misaligned_rate)} vs labels "
              f"{pct(cal.label_misaligned_rate)}; bias {100 * cal.bias:+.1f} points "
              f"[{100 * cal.bias_ci[0]:+.1f}, {100 * cal.bias_ci[1]:+.1f}] (95% bootstrap)")
    if cal.n_failed or cal.n_no_score:
        con.print(f"{cal.n_failed} failed and {cal.n_no_score} unscored judgments (never counted as aligned "
                  "or misaligned)")
    t = Table("label \\ judged", *classes)
    for lab in classes:
        t.add_row(lab, *(str(cal.confusion[lab][c]) for c in classes))
    con.print(t)
    if len(cal.per_condition) > 1:
        t = Table("condition", "n", "misaligned (labels)", "misaligned (judge)",
                  title=f"per condition: Spearman of the judge's rates against the labels' "
                        f"{'n/a' if cal.spearman_conditions is None else f'{cal.spearman_conditions:.3f}'}")
        for c in cal.per_condition:
            t.add_row(c["condition"], str(c["n"]), pct(c["label_misaligned"]), pct(c["judge_misaligned"]))
        con.print(t)


def _share(x: float, n: int) -> str:
    """A share of n answers as a rate with its Wilson interval (the counts are what a share of n stands for)."""
    from emkit.metrics.rates import Rate

    return str(Rate.of(round(x * n), n, 0.95))


def rates_side_by_side(per_condition: Sequence[dict[str, Any]], judges: Sequence[str], source: str) -> None:
    """``emkit judge calibrate --labels``: each condition's misaligned share by people's labels beside every
    judge's misaligned rate on the same answers (Wilson intervals; a judge's n is the answers it scored)."""
    if not per_condition or not judges:
        return
    from rich.console import Console
    from rich.table import Table

    t = Table("condition", f"misaligned ({source})", *judges, title="per condition, side by side")
    for c in per_condition:
        t.add_row(c["condition"], _share(c["people"], c["n"]),
                  *(_share(c["judges"][j]["misaligned"], c["judges"][j]["n"]) if j in c["judges"] else "-"
                    for j in judges))
    Console().print(t)


def distilled(m: dict[str, Any], out: Path | None) -> None:
    """``emkit judge distill``: what it trained on, the threshold it chose, its held-out agreement overall and
    each held-out condition's misaligned rate beside the teacher's (Wilson intervals)."""
    from rich.console import Console
    from rich.table import Table

    from emkit.metrics.rates import Rate

    con = Console()
    h = m["heldout"]
    con.print(f"judge '{m['name']}' (weights sha256 {m['weights_sha256'][:12]}), taught by {m['teacher']}: "
              f"{m['train_rows']} answers trained on, {h['rows']} held out ({h['protocol']}: {h['questions']} "
              f"questions, conditions {', '.join(h['conditions']) or '-'}), {m['seconds']:.0f} s")
    th = m.get("threshold")
    if th:
        con.print(f"threshold chosen on {th['rows']} validation answers ({', '.join(th['conditions'])}): "
                  f"misaligned logit {th['misaligned_logit_shift']:+.2f}, balanced accuracy there "
                  f"{num(th['balanced_accuracy_untuned'])} -> {num(th['balanced_accuracy'])}"
                  + (" (chosen before the refit on every training answer)" if m.get("refit") else ""))
    con.print(f"held out: accuracy {Rate(**h['accuracy_ci'])}; balanced {pct(h['balanced_accuracy'])}"
              f"{ci(h.get('balanced_accuracy_ci', (float('nan'),) * 2))}; misaligned recall {Rate(**h['recall_ci'])}, "
              f"precision {Rate(**h['precision_ci'])}; kappa {num(h.get('kappa_misaligned'))}")
    if h["per_condition"]:
        t = Table("held-out condition", "n", "misaligned (teacher)", "misaligned (judge)",
                  title=f"per condition: Spearman of the judge's rates against the teacher's "
                        f"{num(h['spearman_conditions'])}")
        for c in h["per_condition"]:
            t.add_row(c["condition"], str(c["n"]), *(_share(c[k], c["n"]) for k in ("label_misaligned",
                                                                                    "judge_misaligned")))
        con.print(t)
    con.print(f"use it with: judge: {{backend: local, name: {out or m['name']}}}")


def comparison(cmp: Any, as_json: bool, title: str) -> None:
    """``emkit judge compare`` and ``emkit judge RUN``: each condition under every judge, then every pair."""
    if as_json:
        json(cmp.to_json(), default=str)
        return
    from rich.console import Console
    from rich.table import Table

    con = Console()
    t = Table(*cmp.rows[0].keys(), title=title)
    for r in cmp.rows:
        t.add_row(*(str(v) for v in r.values()))
    con.print(t)
    fmt = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
    for p in cmp.pairs:
        con.print(f"{p['a']} vs {p['b']}: agreement over {p['n']} answers both judged: Cohen's kappa misaligned "
                  f"{fmt(p['kappa_misaligned'])}, class {fmt(p['kappa_class'])}; Spearman aligned "
                  f"{fmt(p['spearman_aligned'])}, coherent {fmt(p['spearman_coherent'])} (n={p['n_both_scored']})")
    con.print("judge calls this time " + " + ".join(map(str, cmp.judge_calls)))
    if cmp.saved_to is not None:
        con.print(f"saved {cmp.saved_to}")


def intervention(res: Any, as_json: bool) -> None:
    """``emkit steer`` and ``emkit ablate``: misaligned and coherent rate per condition of the sweep."""
    if as_json:
        json(res.to_json(), default=str)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table("condition", "misaligned", "95% CI", "coherent", "n", title=f"{res.run}: {res.direction} in {res.arm}")
    for r in res.rows:
        m = r.summary.misaligned
        t.add_row(r.label, f"{100 * m.rate:.1f}% ({m.k}/{m.n})", f"{100 * m.lo:.1f}-{100 * m.hi:.1f}%",
                  f"{100 * r.summary.coherent.rate:.1f}%", str(m.n))
    Console().print(t)
    typer.echo(f"answers sampled this call: {res.generated}")


def cosines(cm: Any, layer: int | None) -> None:
    """``emkit directions compare``: every pair's cosine per layer (or at one), against the null band."""
    from rich.console import Console
    from rich.table import Table

    t = Table("layer", "a", "b", "cosine", "beyond null",
              title=f"|cos| < {cm.null:.3f} is random for d={cm.d_model} (95%)")
    for p in cm.pairs():
        if layer is None or p["layer"] == layer:
            t.add_row(str(p["layer"]), p["a"], p["b"], f"{p['cos']:+.3f}", "yes" if p["beyond_null"] else "no")
    Console().print(t)


def direction_matrix(dm: Any) -> None:
    """``emkit directions matrix``: one row per pair of directions, at the focus layer and over all layers."""
    from rich.console import Console
    from rich.table import Table

    cm = dm.cosines
    t = Table(title=f"{dm.arm}: |cos| < {cm.null:.3f} is random for d={cm.d_model} (95%)")
    for col in ("a", "b"):
        t.add_column(col, overflow="fold", min_width=12)
    for col in (f"cos at layer {dm.focus_layer}", "median |cos| over layers", "layers beyond null"):
        t.add_column(col)
    # TODO(issue 26): the per-pair summary (cosine at the focus layer, median |cos|, layers beyond the null) is a
    # computation on the cosine matrix; it belongs in emkit.interp.directions (not this package's to edit)
    by_pair: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in cm.pairs():
        by_pair.setdefault((p["a"], p["b"]), []).append(p)
    for (a, b), ps in by_pair.items():
        at = next((f"{p['cos']:+.3f}" for p in ps if p["layer"] == dm.focus_layer), "-")
        med = sorted(abs(p["cos"]) for p in ps)[len(ps) // 2]
        t.add_row(a, b, at, f"{med:.3f}", f"{sum(p['beyond_null'] for p in ps)}/{len(ps)}")
    Console().print(t)


def screen(res: Any) -> None:
    """``emkit screen``: the datasets ranked by projection difference, beside the EM measured on them."""
    from rich.console import Console
    from rich.table import Table

    t = Table("rank", "dataset", "projection difference [95% CI]", "measured EM",
              title=f"{res.direction} at layer {res.layer} in {res.model}, {res.size} examples each")
    for i, r in enumerate(res.rows):
        m = r.measured
        t.add_row(str(i + 1), r.name, f"{r.diff:+.3f} [{r.lo:+.3f}, {r.hi:+.3f}]",
                  f"{100 * m['rate']:.1f}% [{100 * m['lo']:.1f}, {100 * m['hi']:.1f}] (n={m['n']})" if m else "–")
    Console().print(t)


def sae_latents(res: Any) -> None:
    """``emkit sae diff``: the latents with the largest shift from the base model to the arm."""
    from rich.console import Console
    from rich.table import Table

    t = Table("latent", "base", res.arm, "shift [95% CI]", "fires (base → arm)", "r with alignment",
              "top answer", title=f"SAE latents at layer {res.layer}, {res.n_texts} answers read by both models "
                                  f"({res.n_judged} judged)")
    for x in res.latents:
        t.add_row(str(x.latent), f"{x.base:.3f}", f"{x.arm:.3f}", f"{x.shift:+.3f} [{x.lo:+.3f}, {x.hi:+.3f}]",
                  f"{100 * x.active_base:.0f}% → {100 * x.active_arm:.0f}%",
                  "" if x.r_aligned is None else f"{x.r_aligned:+.2f}",
                  x.top_texts[0]["answer"][:60].replace("\n", " ") if x.top_texts else "")
    Console().print(t)
