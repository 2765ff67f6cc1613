"""``emkit judge``: re-score a run with another judge, calibrate a judge on labelled answers, compare judges,
distill a local judge."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from emkit.cli import render
from emkit.cli.common import BaseUrlOpt, JsonOpt, JudgeOpt, KeyEnvOpt, MaxCallsOpt, Split, errors_as_one_line
from emkit.core.errors import EmkitError


class _JudgeGroup(TyperGroup):
    """``emkit judge RUN --judge X`` re-scores a run; ``emkit judge calibrate|compare ...`` are subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["score", *args]
        return super().parse_args(ctx, args)


judge_app = typer.Typer(cls=_JudgeGroup, no_args_is_help=True,
                        help="Re-score a run with another judge (emkit judge RUN --judge X), calibrate a judge "
                             "on labelled answers, compare two judges.")


@judge_app.command("calibrate")
@errors_as_one_line
def judge_calibrate(judge: Annotated[str | None, typer.Option(
                        "--judge", help="offline (the default), api:MODEL, api:MODEL@BASE_URL or local:NAME; with "
                                        "--labels, one more judge beside those already in the store")] = None,
                    data: Annotated[list[Path] | None, typer.Option(
                        help="labelled JSONL (question, answer, aligned, coherent, label) or judged-answers CSV "
                             "(question_id, question, response, aligned, coherent: one file per condition); "
                             "repeat for several; default: the built-in set")] = None,
                    labels: Annotated[str | None, typer.Option(
                        help="human (everyone's labels made in emkit view, where they agree) or human:NAME (one "
                             "labeller's): every judge in the store that scored those answers, against them")] = None,
                    split: Annotated[Split, typer.Option(help="rows of the built-in set")] = Split.test,
                    store: Annotated[Path, typer.Option(help="folder of the judge cache (emkit.sqlite)")] = Path("runs"),
                    base_url: BaseUrlOpt = None, api_key_env: KeyEnvOpt = "OPENAI_API_KEY",
                    max_calls: MaxCallsOpt = None,
                    backoff_s: Annotated[float, typer.Option(help="first retry delay, doubled each time")] = 1.0,
                    as_json: JsonOpt = False) -> None:
    """A judge's agreement with labels: accuracy, Spearman, confusion matrix, misaligned-rate bias with CI."""
    from emkit.analyses.agreement import calibrate
    from emkit.core.store import open_store
    from emkit.judges import parse_judge
    from emkit.judges.calibrate import CLASSES, builtin_rows, read_labelled

    if labels is not None:
        _calibrate_on_people(labels, judge, data, store, base_url, api_key_env, max_calls, backoff_s, as_json)
        return
    cfg = parse_judge(judge or "offline", base_url, api_key_env, max_calls, backoff_s=backoff_s)
    rows = [r for f in data for r in read_labelled(f)] if data else builtin_rows(split.value)
    with open_store(store) as st:
        cal = calibrate(cfg, rows, st)
    if as_json:
        source = [str(f) for f in data] if data else f"builtin:{split.value}"
        render.json({"data": source, **cal.to_json()}, default=str)
        return
    where = ", ".join(map(str, data)) if data else f"the built-in calibration set ({split.value} split)"
    render.calibration(cal, where, CLASSES)


def _calibrate_on_people(labels: str, judge: str | None, data: list[Path] | None, store: Path,
                         base_url: str | None, api_key_env: str, max_calls: int | None, backoff_s: float,
                         as_json: bool) -> None:
    from emkit.analyses.agreement import calibrate_on_labels
    from emkit.core.store import Store, existing_store
    from emkit.judges import parse_judge
    from emkit.judges.calibrate import CLASSES

    kind, _, who = labels.partition(":")
    if kind != "human":
        raise EmkitError(f"--labels '{labels}': use human (everyone's labels) or human:NAME (one labeller's)")
    if data:
        raise EmkitError("--labels and --data are two sources of labels: give one")
    also = [parse_judge(judge, base_url, api_key_env, max_calls, backoff_s=backoff_s)] if judge else []
    with Store(existing_store(store)) as st:  # labels live in a store that exists: never create an empty one
        cal = calibrate_on_labels(st, who or None, also)
    if as_json:
        render.json(cal.to_json(), default=str)
        return
    typer.echo(f"{cal.n_labels} answers labelled by {cal.source} ({', '.join(cal.labellers)})"
               + (f"; {cal.n_disputed} where labellers disagree left out" if cal.n_disputed else ""))
    for p in cal.pairs:
        typer.echo(f"labellers {p['a']} and {p['b']}: {p['n']} answers both labelled"
                   + (f", agree on {render.pct(p['agree'])}, kappa {render.num(p['kappa_class'])} (class), "
                      f"{render.num(p['kappa_misaligned'])} (misaligned)" if p["n"] else ""))
    for reason in cal.skipped:
        typer.echo(f"left out: {reason}")
    if not cal.judges:
        typer.echo("no judge in the store has scored these answers: give one with --judge")
    for c in cal.judges:
        render.calibration(c, cal.source, CLASSES)
    render.rates_side_by_side(cal.per_condition, [c.judge for c in cal.judges], cal.source)


@judge_app.command("labels")
@errors_as_one_line
def judge_labels(store: Annotated[Path, typer.Option(help="folder of the store the labels are in")] = Path("runs"),
                 labeller: Annotated[str | None, typer.Option(help="this person's labels (default: the answers "
                                                                      "every labeller agrees on)")] = None,
                 out: Annotated[Path | None, typer.Option("-o", "--out", help="write them as labelled JSONL (what "
                                                          "--data of calibrate, compare and distill reads)")] = None,
                 as_json: JsonOpt = False) -> None:
    """People's labels made in `emkit view`: how many, by whom, of which classes; -o exports them."""
    from collections import Counter

    from emkit.analyses.agreement import people_labels
    from emkit.core.store import Store, existing_store
    from emkit.judges.calibrate import rows_from_labels, write_labelled

    path = existing_store(store)
    with Store(path) as st:
        every = st.labels()
    chosen, disputed = people_labels(every, labeller, path)
    counts = {who: dict(Counter(h.label for h in every if h.labeller == who))
              for who in dict.fromkeys(h.labeller for h in every)}
    if out is not None:
        write_labelled(out, rows_from_labels(chosen))
    if as_json:
        render.json({"labels": len(every), "by_labeller": counts, "written": len(chosen) if out else 0,
                     "disputed": disputed, "to": str(out) if out else None})
        return
    for who, c in counts.items():
        typer.echo(f"{who}: {sum(c.values())} labels (" + ", ".join(f"{k} {v}" for k, v in sorted(c.items())) + ")")
    if out is not None:
        whose = f"{labeller}'s labels" if labeller else "the answers every labeller agrees on"
        typer.echo(f"wrote {len(chosen)} labelled rows to {out} ({whose}"
                   + (f"; {disputed} disputed answers left out" if disputed else "") + ")")


@judge_app.command("distill")
@errors_as_one_line
def judge_distill(name: Annotated[str, typer.Option(help="the new judge's name (use it as judge: {backend: local, "
                                                          "name: NAME})")],
                  data: Annotated[list[Path] | None, typer.Option(help="labelled JSONL or judged-answers CSV (the "
                                                                       "teacher's verdicts already there)")] = None,
                  run: Annotated[list[Path] | None, typer.Option(help="finished runs whose answers the teacher "
                                                                      "judges")] = None,
                  teacher: Annotated[str | None, typer.Option(help="with --run: offline, api:MODEL[@URL]")] = None,
                  epochs: Annotated[int, typer.Option(help="fine-tuning epochs")] = 4,
                  test_on: Annotated[list[str] | None, typer.Option(
                      help="hold out every answer of these conditions (patterns: gemma*; repeat for several) and "
                           "train on the rest: agreement on models the judge never saw")] = None,
                  balance: Annotated[bool, typer.Option(help="weigh each class's loss by its rarity")] = True,
                  tune_threshold: Annotated[bool, typer.Option(
                      help="choose the decision threshold on a validation split held out of the training answers "
                           "(by model family: what precedes a '/' in the conditions' names)")] = True,
                  validate_on: Annotated[list[str] | None, typer.Option(
                      help="the validation split: these conditions (patterns; default: a quarter of the "
                           "families)")] = None,
                  refit: Annotated[bool, typer.Option(
                      help="once the threshold is chosen, train again on training and validation answers together "
                           "(twice the time)")] = False,
                  augment: Annotated[bool, typer.Option(
                      help="also train on each answer with its form removed (markdown, emoji, a list's opening "
                           "line), same label")] = False,
                  backbone: Annotated[str, typer.Option(
                      help="the encoder: minilm (all-MiniLM-L6-v2, fully fine-tuned) or smollm2-135m (SmolLM2-135M "
                           "with a LoRA; about 4x slower an epoch)")] = "minilm",
                  out: Annotated[Path | None, typer.Option(help="save it here instead of the emkit cache")] = None,
                  base_url: BaseUrlOpt = None, api_key_env: KeyEnvOpt = "OPENAI_API_KEY",
                  max_calls: MaxCallsOpt = None, as_json: JsonOpt = False) -> None:
    """Train a local judge on a teacher's verdicts; report its agreement on held-out questions and conditions."""
    from emkit.judges.distilled import distill

    if bool(data) == bool(run):
        raise EmkitError("give labelled --data, or --run with a --teacher (not both)")
    options: dict[str, Any] = {"test_on": test_on or (), "balance": balance, "tune_threshold": tune_threshold,
                               "validate_on": validate_on or (), "backbone": backbone,
                               "refit": refit, "augment": augment}
    if run:
        from emkit.analyses.distill import distill_from_runs
        from emkit.judges import parse_judge

        if teacher is None:
            raise EmkitError("--run needs a --teacher (offline, api:MODEL or api:MODEL@BASE_URL)")
        m = distill_from_runs(run, parse_judge(teacher, base_url, api_key_env, max_calls), name, epochs, out,
                              **options)
    else:
        from emkit.judges.calibrate import read_labelled

        m = distill([r for f in data or [] for r in read_labelled(f)], name,
                    "labels in " + ", ".join(str(f) for f in data or []), out, epochs, **options)
    if as_json:
        render.json(m, default=str)
        return
    render.distilled(m, out)


@judge_app.command("calibration-set")
@errors_as_one_line
def judge_calibration_set(out: Annotated[Path, typer.Option("-o", "--out", help="labelled JSONL to write")],
                          split: Annotated[Split, typer.Option(help="rows of the built-in set")] = Split.all) -> None:
    """Write the built-in labelled calibration set, in the format ``--data`` reads (to read or extend it)."""
    from emkit.judges.calibrate import builtin_rows, write_labelled

    rows = builtin_rows(split.value)
    write_labelled(out, rows)
    typer.echo(f"wrote {len(rows)} labelled rows to {out}")


def _comparison(run_dir: Path, judges: list[Any], as_json: bool) -> None:
    from emkit.analyses.agreement import compare_judges
    from emkit.pipeline.finished import load_run

    with load_run(run_dir) as run:
        cmp = compare_judges(run, *(pick(run) for pick in judges))
    render.comparison(cmp, as_json, f"run {cmp.run}: {len(cmp.judges)} judges side by side")


@judge_app.command("compare")
@errors_as_one_line
def judge_compare(targets: Annotated[list[str], typer.Argument(
                      help="RUN JUDGE JUDGE [JUDGE...] (a judge: run = the run's own, offline, api:MODEL[@URL], "
                           "local:NAME); with --data, only the judges (the file's labels are one more)")],
                  data: Annotated[list[Path] | None, typer.Option(help="labelled JSONL or judged-answers CSV, one "
                                                                       "per condition")] = None,
                  store: Annotated[Path, typer.Option(help="with --data: folder of the judge cache")] = Path("runs"),
                  base_url: BaseUrlOpt = None, api_key_env: KeyEnvOpt = "OPENAI_API_KEY",
                  max_calls: MaxCallsOpt = None, as_json: JsonOpt = False) -> None:
    """Agreement between judges on a run's (or labelled files') answers: each condition's misaligned rate under
    every judge side by side, Cohen's kappa and Spearman for every pair."""
    from emkit.judges import parse_judge

    def spec(text: str) -> Any:
        return parse_judge(text, base_url, api_key_env, max_calls)

    if data:
        from emkit.analyses.agreement import compare_on_labels
        from emkit.core.store import open_store
        from emkit.judges.calibrate import read_labelled

        if not targets:
            raise EmkitError("name at least one judge to compare with the labels")
        with open_store(store) as st:
            cmp = compare_on_labels([r for f in data for r in read_labelled(f)], [spec(t) for t in targets], st)
        render.comparison(cmp, as_json, "labelled answers: the labels and each judge, per condition")
        return
    if len(targets) < 3:
        raise EmkitError("give a run folder and at least two judges (or --data FILE and judges)")
    run_dir, *judges = targets
    _comparison(Path(run_dir), [(lambda run: run.judge) if j == "run" else (lambda run, j=j: spec(j))
                                for j in judges], as_json)


@judge_app.command("score", hidden=True)
@errors_as_one_line
def judge_score(run_dir: Annotated[Path, typer.Argument(help="a run folder, runs/<name>")], judge: JudgeOpt,
                base_url: BaseUrlOpt = None, api_key_env: KeyEnvOpt = "OPENAI_API_KEY",
                max_calls: MaxCallsOpt = None, as_json: JsonOpt = False) -> None:
    """Re-score a finished run with another judge into the same store; prints both judges side by side."""
    from emkit.judges import parse_judge

    _comparison(run_dir, [lambda run: run.judge, lambda run: parse_judge(judge, base_url, api_key_env, max_calls)],
                as_json)
