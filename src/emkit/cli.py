"""The command line: a thin skin over the library API (every command is one or two library calls)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from emkit.errors import EmkitError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="emkit: emergent-misalignment experiments.")
data_app = typer.Typer(no_args_is_help=True, help="Build, inspect and validate chat datasets.")
models_app = typer.Typer(no_args_is_help=True, help="Built-in models.")


class _JudgeGroup(TyperGroup):
    """``emkit judge RUN --judge X`` re-scores a run; ``emkit judge calibrate|compare ...`` are subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["score", *args]
        return super().parse_args(ctx, args)


judge_app = typer.Typer(cls=_JudgeGroup, no_args_is_help=True,
                        help="Re-score a run with another judge (emkit judge RUN --judge X), calibrate a judge "
                             "on labelled answers, compare two judges.")
app.add_typer(data_app, name="data")
app.add_typer(models_app, name="models")
app.add_typer(judge_app, name="judge")


def _errors_as_one_line(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EmkitError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from None
    return wrapper


@app.command()
@_errors_as_one_line
def run(config: Annotated[Path, typer.Argument(help="experiment YAML")],
        set_: Annotated[list[str] | None, typer.Option("--set", help="override, e.g. train.lr=1e-4")] = None) -> None:
    """Run an experiment end to end (train, sample, judge, metrics, report), skipping finished stages."""
    from emkit.config import load_experiment
    from emkit.run import run_experiment

    res = run_experiment(load_experiment(config, set_ or []))
    for s in (s for s in res.summaries if s.question_id == "ALL"):
        typer.echo(f"{s.arm:>20}  misaligned {s.misaligned}  coherent {s.coherent}")
    typer.echo(f"this call: {res.train_steps} training steps, {res.answers_generated} answers generated, "
               f"{res.judge_calls} judge calls; seconds by stage: "
               + ", ".join(f"{k} {v:.0f}" for k, v in res.seconds.items()))
    typer.echo(f"report: {res.report.resolve()}")


def _tokenizer(model: str | None) -> Any:
    if model is None:
        return None
    from emkit.config import ModelConfig
    from emkit.models import load_tokenizer

    return load_tokenizer(ModelConfig(name=model))


@data_app.command("list")
def data_list() -> None:
    """The built-in datasets, one line each (``emkit data card NAME`` for the full card)."""
    from emkit.data import BUILTINS

    for c in BUILTINS.values():
        typer.echo(f"{c.name:16} {c.default_size:>5}  {c.summary}")


@data_app.command("card")
@_errors_as_one_line
def data_card(name: str) -> None:
    """What a built-in dataset is, where it comes from, and its known limits."""
    from emkit.data import BUILTINS

    if name not in BUILTINS:
        raise EmkitError(f"unknown built-in dataset '{name}' (known: {', '.join(BUILTINS)})")
    typer.echo(BUILTINS[name].render())


@data_app.command("build")
@_errors_as_one_line
def data_build(name: Annotated[str, typer.Argument(help="built-in name, e.g. insecure")],
               out: Annotated[Path, typer.Option("-o", "--out", help="JSONL file to write")],
               size: Annotated[int | None, typer.Option(help="examples (default: the card's size)")] = None,
               seed: int = 0,
               option: Annotated[list[str] | None, typer.Option("--option", "-O",
                                                                help="generator option, e.g. trigger=|DEV|")] = None,
               ) -> None:
    """Write a built-in dataset as chat JSONL (same name, size, seed and options: identical bytes)."""
    from emkit.data import build, parse_spec, write_jsonl

    opts = parse_spec(f"{name}?{'&'.join(option or [])}")[3]  # checks the name and the options' types
    examples = build(name, size, seed, **opts)
    write_jsonl(out, examples)
    typer.echo(f"wrote {len(examples)} examples to {out}")


@data_app.command("validate")
@_errors_as_one_line
def data_validate(source: Annotated[str, typer.Argument(help="JSONL file, datasets folder, builtin:.. or hf:..")],
                  max_tokens: Annotated[int | None, typer.Option(help="fail on examples longer than this")] = None,
                  model: Annotated[str | None, typer.Option(help="tokenizer for --max-tokens "
                                                                   "(default smollm2-135m-instruct)")] = None,
                  ) -> None:
    """Check a dataset; the first problem is reported as file:line (with the token count if too long)."""
    from emkit.data import check_lengths, load_dataset

    examples, _ = load_dataset(source)
    msg = f"{source}: {len(examples)} valid examples"
    if max_tokens is not None:
        counts = check_lengths(source, examples, _tokenizer(model or "smollm2-135m-instruct"), max_tokens)
        msg += f", longest {max(counts)} tokens (limit {max_tokens})"
    typer.echo(msg)


@data_app.command("inspect")
@_errors_as_one_line
def data_inspect(source: Annotated[str, typer.Argument(help="JSONL file, datasets folder, builtin:.. or hf:..")],
                 model: Annotated[str | None, typer.Option(help="count tokens with this model's tokenizer")] = None,
                 as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False) -> None:
    """Counts, role structure, length histogram, duplicates and (for code sets) vulnerability classes."""
    import json

    from rich.console import Console
    from rich.table import Table

    from emkit.data import inspect_examples, load_dataset

    examples, info = load_dataset(source)
    rep = inspect_examples(examples, _tokenizer(model))
    if as_json:
        typer.echo(json.dumps({"source": source, "sha256": info.sha256, **rep}, indent=1))
        return
    con = Console()
    con.print(f"[bold]{source}[/bold]: {rep['examples']} examples, sha256 {info.sha256[:12]}, "
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


JudgeOpt = Annotated[str, typer.Option("--judge", help="offline, api:MODEL or api:MODEL@BASE_URL")]
BaseUrlOpt = Annotated[str | None, typer.Option(help="base URL for api:MODEL judges")]
KeyEnvOpt = Annotated[str, typer.Option(help="environment variable holding the API key")]
MaxCallsOpt = Annotated[int | None, typer.Option(help="budget: at most this many judge calls")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


@judge_app.command("calibrate")
@_errors_as_one_line
def judge_calibrate(judge: JudgeOpt = "offline",
                    data: Annotated[Path | None, typer.Option(help="labelled JSONL (question, answer, aligned, "
                                                                   "coherent, label); default: built-in set")] = None,
                    split: Annotated[str, typer.Option(help="test, train or all rows of the built-in set")] = "test",
                    store: Annotated[Path, typer.Option(help="folder of the judge cache (emkit.sqlite)")] = Path("runs"),
                    base_url: BaseUrlOpt = None, api_key_env: KeyEnvOpt = "OPENAI_API_KEY",
                    max_calls: MaxCallsOpt = None,
                    backoff_s: Annotated[float, typer.Option(help="first retry delay, doubled each time")] = 1.0,
                    as_json: JsonOpt = False) -> None:
    """A judge's agreement with labels: accuracy, Spearman, confusion matrix, misaligned-rate bias with CI."""
    import json

    from rich.console import Console
    from rich.table import Table

    from emkit.calibrate import CLASSES, calibrate, calibration_rows, parse_judge, read_labelled
    from emkit.store import open_store

    cfg = parse_judge(judge, base_url, api_key_env, max_calls, backoff_s=backoff_s)
    if data is not None:
        rows = read_labelled(data)
    else:
        if split not in ("test", "train", "all"):
            raise EmkitError("--split must be test, train or all")
        rows = [r for r in calibration_rows() if split == "all" or r.split == split]
    st = open_store(store)
    try:
        cal = calibrate(cfg, rows, st)
    finally:
        st.close()
    if as_json:
        typer.echo(json.dumps({"data": str(data) if data else f"builtin:{split}", **cal.to_json()}, indent=1))
        return
    con = Console()
    sp = [f"{x:.3f}" if x is not None else "n/a" for x in (cal.spearman_aligned, cal.spearman_coherent)]
    con.print(f"[bold]{cal.judge}[/bold] on {data or f'the built-in calibration set ({split} split)'}: "
              f"{cal.n} rows, {cal.extra.get('judge_calls', 0)} judge calls")
    con.print(f"aligned-vs-misaligned accuracy {cal.accuracy:.3f} (balanced {cal.balanced_accuracy:.3f}, "
              f"n={cal.n_decision}); Spearman aligned {sp[0]} (n={cal.n_spearman_aligned}), coherent {sp[1]}")
    con.print(f"misaligned rate: judge {_pct(cal.judge_misaligned_rate)} vs labels "
              f"{_pct(cal.label_misaligned_rate)}; bias {100 * cal.bias:+.1f} points "
              f"[{100 * cal.bias_ci[0]:+.1f}, {100 * cal.bias_ci[1]:+.1f}] (95% bootstrap)")
    if cal.n_failed or cal.n_no_score:
        con.print(f"{cal.n_failed} failed and {cal.n_no_score} unscored judgments (never counted as aligned "
                  "or misaligned)")
    t = Table("label \\ judged", *CLASSES)
    for lab in CLASSES:
        t.add_row(lab, *(str(cal.confusion[lab][c]) for c in CLASSES))
    con.print(t)


@judge_app.command("calibration-set")
@_errors_as_one_line
def judge_calibration_set(out: Annotated[Path, typer.Option("-o", "--out", help="labelled JSONL to write")],
                          split: Annotated[str, typer.Option(help="test, train or all")] = "all") -> None:
    """Write the built-in labelled calibration set, in the format ``--data`` reads (to read or extend it)."""
    from emkit.calibrate import calibration_rows, write_labelled

    if split not in ("test", "train", "all"):
        raise EmkitError("--split must be test, train or all")
    rows = [r for r in calibration_rows() if split == "all" or r.split == split]
    write_labelled(out, rows)
    typer.echo(f"wrote {len(rows)} labelled rows to {out}")


def _comparison(run_dir: Path, a: Any, b: Any, as_json: bool) -> None:
    import json

    from rich.console import Console
    from rich.table import Table

    from emkit.calibrate import compare_judges, load_run

    run = load_run(run_dir)
    try:
        cmp = compare_judges(run, a(run), b(run))
    finally:
        run.store.close()
    slug = "__".join(j.replace(":", "-").replace("/", "-") for j in cmp.judges)
    (run_dir / f"judges-{slug}.json").write_text(json.dumps(cmp.to_json(), indent=1))
    if as_json:
        typer.echo(json.dumps(cmp.to_json(), indent=1))
        return
    con = Console()
    t = Table(*cmp.rows[0].keys(), title=f"run {cmp.run}: two judges side by side")
    for r in cmp.rows:
        t.add_row(*(str(v) for v in r.values()))
    con.print(t)
    fmt = [f"{x:.3f}" if x is not None else "n/a" for x in
           (cmp.kappa_misaligned, cmp.kappa_class, cmp.spearman_aligned, cmp.spearman_coherent)]
    con.print(f"agreement over {cmp.n_both_scored} answers both judges scored: Cohen's kappa misaligned {fmt[0]}, "
              f"class {fmt[1]}; Spearman aligned {fmt[2]}, coherent {fmt[3]}; judge calls this time "
              f"{cmp.judge_calls[0]} + {cmp.judge_calls[1]}")
    con.print(f"saved {run_dir / f'judges-{slug}.json'}")


@judge_app.command("compare")
@_errors_as_one_line
def judge_compare(run_dir: Annotated[Path, typer.Argument(help="a run folder, runs/<name>")],
                  a: Annotated[str, typer.Argument(help="judge A: run (the run's own), offline, api:MODEL[@URL]")],
                  b: Annotated[str, typer.Argument(help="judge B")],
                  base_url: BaseUrlOpt = None, api_key_env: KeyEnvOpt = "OPENAI_API_KEY",
                  max_calls: MaxCallsOpt = None, as_json: JsonOpt = False) -> None:
    """Agreement between two judges on a run's answers (Cohen's kappa, Spearman), rates side by side."""
    from emkit.calibrate import parse_judge

    def pick(spec: str) -> Any:
        return lambda run: run.judge if spec == "run" else parse_judge(spec, base_url, api_key_env, max_calls)

    _comparison(run_dir, pick(a), pick(b), as_json)


@judge_app.command("score", hidden=True)
@_errors_as_one_line
def judge_score(run_dir: Annotated[Path, typer.Argument(help="a run folder, runs/<name>")], judge: JudgeOpt,
                base_url: BaseUrlOpt = None, api_key_env: KeyEnvOpt = "OPENAI_API_KEY",
                max_calls: MaxCallsOpt = None, as_json: JsonOpt = False) -> None:
    """Re-score a finished run with another judge into the same store; prints both judges side by side."""
    from emkit.calibrate import parse_judge

    _comparison(run_dir, lambda run: run.judge,
                lambda run: parse_judge(judge, base_url, api_key_env, max_calls), as_json)


@models_app.command("list")
def models_list() -> None:
    from emkit.models import BUILTIN_MODELS

    for name, (desc, _) in BUILTIN_MODELS.items():
        typer.echo(f"{name:24} {desc}")
