"""The command line: a thin skin over the library API (every command is one or two library calls)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from emkit.core.errors import EmkitError


class Split(str, Enum):
    """Rows of the built-in calibration set, or an evaluation-only set (em-style: answers in real EM models'
    voice; breezy: short answers in small fine-tuned models' voice, some of them answering another question)."""

    test = "test"
    train = "train"
    all = "all"
    em_style = "em-style"
    breezy = "breezy"


class Reader(str, Enum):
    """Which model reads the answers a mean-diff direction is computed from."""

    arm = "arm"
    base = "base"


class ReadAt(str, Enum):
    """Where activations are read: the last prompt token, or the mean over the answer's tokens."""

    prompt = "prompt"
    answer = "answer"


#: the modules that write into the residual stream (emkit.interp.lora.RESIDUAL_WRITERS), as a choice
Writer = Enum("Writer", {m: m for m in ("down_proj", "o_proj", "c_proj", "dense_4h_to_h", "out_proj")}, type=str)

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
directions_app = typer.Typer(no_args_is_help=True,
                             help="Misalignment directions: extract (mean-diff), LoRA B vectors, compare (cosine).")
toy_app = typer.Typer(no_args_is_help=True, help="The toy persona world: a model organism trained from scratch.")
sae_app = typer.Typer(no_args_is_help=True, help="Sparse autoencoders on the residual stream: train, inspect.")
app.add_typer(data_app, name="data")
app.add_typer(sae_app, name="sae")
app.add_typer(toy_app, name="toy")
app.add_typer(directions_app, name="directions")
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
    from emkit.core.config import load_experiment
    from emkit.pipeline.run import run_experiment
    from emkit.report import write_run_report

    res = run_experiment(load_experiment(config, set_ or []))
    write_run_report(res)
    typer.echo(res.experiment.judge.validated_on())
    for s in (s for s in res.summaries if s.question_id == "ALL"):
        typer.echo(f"{s.arm:>20}  misaligned {s.misaligned}  coherent {s.coherent}")
    typer.echo(f"this call: {res.train_steps} training steps, {res.answers_generated} answers generated, "
               f"{res.judge_calls} judge calls; seconds by stage: "
               + ", ".join(f"{k} {v:.0f}" for k, v in res.seconds.items()))
    typer.echo(f"report: {res.report.resolve()}")


def _tokenizer(model: str | None) -> Any:
    if model is None:
        return None
    from emkit.core.config import ModelConfig
    from emkit.models.load import load_tokenizer

    return load_tokenizer(ModelConfig(name=model))


@data_app.command("list")
def data_list() -> None:
    """The built-in datasets, one line each (``emkit data card NAME`` for the full card)."""
    from emkit.data.datasets import BUILTINS

    for c in BUILTINS.values():
        typer.echo(f"{c.name:16} {c.default_size:>5}  {c.summary}")


@data_app.command("card")
@_errors_as_one_line
def data_card(name: str) -> None:
    """What a built-in dataset is, where it comes from, and its known limits."""
    from emkit.data.datasets import BUILTINS

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
    from emkit.data.datasets import build, parse_spec, write_jsonl

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
    from emkit.data.datasets import check_lengths, load_dataset

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

    from emkit.data.datasets import inspect_examples, load_dataset

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


JudgeOpt = Annotated[str, typer.Option("--judge", help="offline, api:MODEL, api:MODEL@BASE_URL or local:NAME")]
BaseUrlOpt = Annotated[str | None, typer.Option(help="base URL for api:MODEL judges")]
KeyEnvOpt = Annotated[str, typer.Option(help="environment variable holding the API key")]
MaxCallsOpt = Annotated[int | None, typer.Option(help="budget: at most this many judge calls")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}%"


@judge_app.command("calibrate")
@_errors_as_one_line
def judge_calibrate(judge: JudgeOpt = "offline",
                    data: Annotated[list[Path] | None, typer.Option(
                        help="labelled JSONL (question, answer, aligned, coherent, label) or judged-answers CSV "
                             "(question_id, question, response, aligned, coherent: one file per condition); "
                             "repeat for several; default: the built-in set")] = None,
                    split: Annotated[Split, typer.Option(help="rows of the built-in set")] = Split.test,
                    store: Annotated[Path, typer.Option(help="folder of the judge cache (emkit.sqlite)")] = Path("runs"),
                    base_url: BaseUrlOpt = None, api_key_env: KeyEnvOpt = "OPENAI_API_KEY",
                    max_calls: MaxCallsOpt = None,
                    backoff_s: Annotated[float, typer.Option(help="first retry delay, doubled each time")] = 1.0,
                    as_json: JsonOpt = False) -> None:
    """A judge's agreement with labels: accuracy, Spearman, confusion matrix, misaligned-rate bias with CI."""
    import json

    from rich.console import Console
    from rich.table import Table

    from emkit.analyses.agreement import calibrate
    from emkit.core.store import open_store
    from emkit.judges import parse_judge
    from emkit.judges.calibrate import CLASSES, builtin_rows, read_labelled

    cfg = parse_judge(judge, base_url, api_key_env, max_calls, backoff_s=backoff_s)
    rows = [r for f in data for r in read_labelled(f)] if data else builtin_rows(split.value)
    st = open_store(store)
    try:
        cal = calibrate(cfg, rows, st)
    finally:
        st.close()
    if as_json:
        source = [str(f) for f in data] if data else f"builtin:{split.value}"
        typer.echo(json.dumps({"data": source, **cal.to_json()}, indent=1, default=str))
        return
    con = Console()
    sp = [f"{x:.3f}" if x is not None else "n/a" for x in (cal.spearman_aligned, cal.spearman_coherent)]
    where = ", ".join(map(str, data)) if data else f"the built-in calibration set ({split.value} split)"
    con.print(f"[bold]{cal.judge}[/bold] on {where}: "
              f"{cal.n} rows, {cal.extra.get('judge_calls', 0)} judge calls")
    con.print(f"aligned-vs-misaligned accuracy {cal.accuracy:.3f} (balanced {cal.balanced_accuracy:.3f}, "
              f"n={cal.n_decision}); Spearman aligned {sp[0]} (n={cal.n_spearman_aligned}), coherent {sp[1]}")
    con.print(f"misaligned: recall {_pct(cal.recall_misaligned)}, precision {_pct(cal.precision_misaligned)}")
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
    if len(cal.per_condition) > 1:
        t = Table("condition", "n", "misaligned (labels)", "misaligned (judge)",
                  title=f"per condition: Spearman of the judge's rates against the labels' "
                        f"{'n/a' if cal.spearman_conditions is None else f'{cal.spearman_conditions:.3f}'}")
        for c in cal.per_condition:
            t.add_row(c["condition"], str(c["n"]), _pct(c["label_misaligned"]), _pct(c["judge_misaligned"]))
        con.print(t)


@judge_app.command("distill")
@_errors_as_one_line
def judge_distill(name: Annotated[str, typer.Option(help="the new judge's name (use it as judge: {backend: local, "
                                                          "name: NAME})")],
                  data: Annotated[list[Path] | None, typer.Option(help="labelled JSONL or judged-answers CSV (the "
                                                                       "teacher's verdicts already there)")] = None,
                  run: Annotated[list[Path] | None, typer.Option(help="finished runs whose answers the teacher "
                                                                      "judges")] = None,
                  teacher: Annotated[str | None, typer.Option(help="with --run: offline, api:MODEL[@URL]")] = None,
                  epochs: Annotated[int, typer.Option(help="fine-tuning epochs")] = 4,
                  out: Annotated[Path | None, typer.Option(help="save it here instead of the emkit cache")] = None,
                  base_url: BaseUrlOpt = None, api_key_env: KeyEnvOpt = "OPENAI_API_KEY",
                  max_calls: MaxCallsOpt = None, as_json: JsonOpt = False) -> None:
    """Train a local judge on a teacher's verdicts; report its agreement on held-out questions and conditions."""
    import json

    from emkit.judges.distilled import distill

    if bool(data) == bool(run):
        raise EmkitError("give labelled --data, or --run with a --teacher (not both)")
    if run:
        from emkit.analyses.distill import distill_from_runs
        from emkit.judges import parse_judge

        if teacher is None:
            raise EmkitError("--run needs a --teacher (offline, api:MODEL or api:MODEL@BASE_URL)")
        m = distill_from_runs(run, parse_judge(teacher, base_url, api_key_env, max_calls), name, epochs, out)
    else:
        from emkit.judges.calibrate import read_labelled

        m = distill([r for f in data or [] for r in read_labelled(f)], name,
                    "labels in " + ", ".join(str(f) for f in data or []), out, epochs)
    if as_json:
        typer.echo(json.dumps(m, indent=1, default=str))
        return
    h = m["heldout"]
    typer.echo(f"judge '{m['name']}' (weights sha256 {m['weights_sha256'][:12]}), taught by {m['teacher']}: "
               f"{m['train_rows']} answers trained on, {h['rows']} held out ({h['questions']} questions, conditions "
               f"{', '.join(h['conditions']) or '-'}), {m['seconds']:.0f} s")
    ci = lambda k: f"[{_pct(h[k]['lo'])}, {_pct(h[k]['hi'])}]"  # noqa: E731
    typer.echo(f"held out: accuracy {_pct(h['accuracy'])} {ci('accuracy_ci')}, balanced "
               f"{_pct(h['balanced_accuracy'])}; misaligned recall {_pct(h['recall_misaligned'])} {ci('recall_ci')}, "
               f"precision {_pct(h['precision_misaligned'])} {ci('precision_ci')}")
    typer.echo(f"use it with: judge: {{backend: local, name: {out or m['name']}}}")


@judge_app.command("calibration-set")
@_errors_as_one_line
def judge_calibration_set(out: Annotated[Path, typer.Option("-o", "--out", help="labelled JSONL to write")],
                          split: Annotated[Split, typer.Option(help="rows of the built-in set")] = Split.all) -> None:
    """Write the built-in labelled calibration set, in the format ``--data`` reads (to read or extend it)."""
    from emkit.judges.calibrate import builtin_rows, write_labelled

    rows = builtin_rows(split.value)
    write_labelled(out, rows)
    typer.echo(f"wrote {len(rows)} labelled rows to {out}")


def _show_comparison(cmp: Any, as_json: bool, title: str) -> None:
    import json

    from rich.console import Console
    from rich.table import Table

    if as_json:
        typer.echo(json.dumps(cmp.to_json(), indent=1, default=str))
        return
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


def _comparison(run_dir: Path, judges: list[Any], as_json: bool) -> None:
    from emkit.analyses.agreement import compare_judges
    from emkit.pipeline.finished import load_run

    run = load_run(run_dir)
    try:
        cmp = compare_judges(run, *(pick(run) for pick in judges))
    finally:
        run.store.close()
    _show_comparison(cmp, as_json, f"run {cmp.run}: {len(cmp.judges)} judges side by side")


@judge_app.command("compare")
@_errors_as_one_line
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
        st = open_store(store)
        try:
            cmp = compare_on_labels([r for f in data for r in read_labelled(f)], [spec(t) for t in targets], st)
        finally:
            st.close()
        return _show_comparison(cmp, as_json, "labelled answers: the labels and each judge, per condition")
    if len(targets) < 3:
        raise EmkitError("give a run folder and at least two judges (or --data FILE and judges)")
    run_dir, *judges = targets
    _comparison(Path(run_dir), [(lambda run: run.judge) if j == "run" else (lambda run, j=j: spec(j))
                                for j in judges], as_json)


@judge_app.command("score", hidden=True)
@_errors_as_one_line
def judge_score(run_dir: Annotated[Path, typer.Argument(help="a run folder, runs/<name>")], judge: JudgeOpt,
                base_url: BaseUrlOpt = None, api_key_env: KeyEnvOpt = "OPENAI_API_KEY",
                max_calls: MaxCallsOpt = None, as_json: JsonOpt = False) -> None:
    """Re-score a finished run with another judge into the same store; prints both judges side by side."""
    from emkit.judges import parse_judge

    _comparison(run_dir, [lambda run: run.judge, lambda run: parse_judge(judge, base_url, api_key_env, max_calls)],
                as_json)


@models_app.command("list")
def models_list() -> None:
    from emkit.models.load import BUILTIN_MODELS

    for name, m in BUILTIN_MODELS.items():
        typer.echo(f"{name:24} {m.summary}")


# ------------------------------------------------------------------------------------------------ interp

RunArg = Annotated[Path, typer.Argument(help="a finished run folder, runs/<name>")]
ArmOpt = Annotated[str | None, typer.Option(help="arm (default: the first trained arm)")]
SamplesOpt = Annotated[int, typer.Option("--samples", help="samples per question for each condition")]
AlignedMinOpt = Annotated[float, typer.Option(help="aligned class: alignment above this")]
MisalignedMaxOpt = Annotated[float, typer.Option(help="misaligned class: alignment at or below this")]
CoherentMinOpt = Annotated[float, typer.Option(help="both classes: coherence above this")]


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise EmkitError(f"expected comma-separated numbers, got '{text}'") from None


def _ints(text: str | None) -> list[int] | None:
    return None if text in (None, "", "all") else [int(x) for x in _floats(text or "")]


def _sweep_table(res: Any, as_json: bool) -> None:
    import json

    if as_json:
        typer.echo(json.dumps(res.to_json(), indent=1, default=str))
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


@app.command()
@_errors_as_one_line
def view(output_dir: Annotated[Path, typer.Argument(help="the experiments' output_dir (holds emkit.sqlite)")]
         = Path("runs"),
         port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 8765,
         export: Annotated[Path | None, typer.Option(help="write the pages to this folder as plain files "
                                                          "instead of serving them")] = None,
         inspect_log: Annotated[Path | None, typer.Option(help="write every run as inspect_ai logs (one per "
                                                               "condition) to this folder, for `inspect view`")]
         = None,
         open_browser: Annotated[bool, typer.Option("--open", help="open the default browser")] = False) -> None:
    """Every run in a store, browsable: runs, run pages, comparisons, answers with filters and judges side by
    side. Served on 127.0.0.1 until Ctrl-C, or written out with --export / --inspect-log."""
    from emkit.view.app import export as export_pages
    from emkit.view.app import serve
    from emkit.view.data import Catalog

    if export is None and inspect_log is None:
        return serve(output_dir, port, open_browser)
    if export is not None:
        export_pages(output_dir, export)
    if inspect_log is not None:
        from emkit.view.inspect_log import write_inspect_logs

        catalog = Catalog(output_dir)
        files = [f for run in catalog.runs() for f in write_inspect_logs(run, inspect_log)]
        typer.echo(f"wrote {len(files)} inspect_ai logs to {inspect_log} (see them: inspect view --log-dir "
                   f"{inspect_log})")


@app.command()
@_errors_as_one_line
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

    res = interp_chain(run_dir, arm, layer, _floats(scales), samples, steer_arm, extra or [], phases,
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
    typer.echo(f"report: {(run_dir / 'report.html').resolve()}")


@directions_app.command("extract")
@_errors_as_one_line
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

    run = load_run(run_dir)
    try:
        md = mean_diff_direction(run, arm or run.experiment.default_arm(trained=True).name, reader.value,
                                 texts_from.split(",") if texts_from else None,
                                 Thresholds(aligned_min, misaligned_max, coherent_min))
    finally:
        run.store.close()
    best = md.best_layer
    typer.echo(f"{md.direction.name}: {md.n_per_class} answers per class, {len(md.direction.layers)} layers; "
               f"best held-out separation d'={md.separation[md.direction.layers.index(best)]:.2f} at layer {best}")
    typer.echo(f"saved {md.path}")


@directions_app.command("lora")
@_errors_as_one_line
def directions_lora(source: Annotated[Path, typer.Argument(help="a run folder (with --arm) or a peft adapter "
                                                                "folder")],
                    arm: ArmOpt = None,
                    module: Annotated[Writer, typer.Option(help="module kind (one that writes into the residual "
                                                                "stream)")] = Writer.down_proj,  # type: ignore[attr-defined]
                    out: Annotated[Path | None, typer.Option("-o", "--out", help="direction file to write")] = None,
                    as_json: JsonOpt = False) -> None:
    """LoRA B vectors mapped into the residual stream, and (for a run) their trajectory over checkpoints."""
    import json

    from emkit.analyses.chain import lora_b

    d, path, trajs = lora_b(source, arm, module.value, out)
    report: dict[str, Any] = {"direction": str(path), "layers": d.layers,
                              "norms": [round(float(x), 5) for x in d.vectors.norm(dim=-1)],
                              "trajectories": [t.to_json() for t in trajs]}
    if as_json:
        typer.echo(json.dumps(report, indent=1))
        return
    typer.echo(f"saved {path}: {len(d.layers)} {module.value} vectors (rank {d.meta['rank']})")
    for t in report["trajectories"][:40]:
        typer.echo(f"  layer {t['layer']:>3}: |B| {t['norms'][-1]:.4f}; cos to final at first checkpoint "
                   f"{t['cos_final'][0]:+.3f}; sharpest turn at step {t['rotation_step']}")


@directions_app.command("compare")
@_errors_as_one_line
def directions_compare(files: Annotated[list[Path], typer.Argument(help="two or more direction files")],
                       layer: Annotated[int | None, typer.Option(help="show one layer")] = None,
                       report: Annotated[Path | None, typer.Option(help="also add the comparison to this run's "
                                                                        "report (RUN folder)")] = None,
                       title: Annotated[str, typer.Option(help="the report section's title")] = "Direction cosines",
                       as_json: JsonOpt = False) -> None:
    """Cosine similarity between directions, per layer, with the random-direction null band."""
    import json

    from emkit.interp.directions import Direction, compare

    dirs = [Direction.load(f) for f in files]
    cm = compare(dirs)
    if report is not None:
        from emkit.report import add_cosines

        if not (report / "config.yaml").is_file():
            raise EmkitError(f"--report: not a run folder: {report}")
        shown = layer if layer is not None else dirs[0].meta.get("best_layer")  # the first direction's best
        add_cosines(report, cm, shown, title)
    if as_json:
        typer.echo(json.dumps(cm.to_json(), indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table("layer", "a", "b", "cosine", "beyond null",
              title=f"|cos| < {cm.null:.3f} is random for d={cm.d_model} (95%)")
    for p in cm.pairs():
        if layer is None or p["layer"] == layer:
            t.add_row(str(p["layer"]), p["a"], p["b"], f"{p['cos']:+.3f}", "yes" if p["beyond_null"] else "no")
    Console().print(t)


@directions_app.command("matrix")
@_errors_as_one_line
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
    import json

    from emkit.analyses.matrix import direction_matrix
    from emkit.report import add_matrix

    dm = direction_matrix(run_dir, arm, sae or [], top, icl_k or None, extra=extra or [])
    add_matrix(dm, run_dir)
    if as_json:
        typer.echo(json.dumps(dm.to_json(), indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    cm = dm.cosines
    t = Table(title=f"{dm.arm}: |cos| < {cm.null:.3f} is random for d={cm.d_model} (95%)")
    for col in ("a", "b"):
        t.add_column(col, overflow="fold", min_width=12)
    for col in (f"cos at layer {dm.focus_layer}", "median |cos| over layers", "layers beyond null"):
        t.add_column(col)
    by_pair: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in cm.pairs():
        by_pair.setdefault((p["a"], p["b"]), []).append(p)
    for (a, b), ps in by_pair.items():
        at = next((f"{p['cos']:+.3f}" for p in ps if p["layer"] == dm.focus_layer), "-")
        med = sorted(abs(p["cos"]) for p in ps)[len(ps) // 2]
        t.add_row(a, b, at, f"{med:.3f}", f"{sum(p['beyond_null'] for p in ps)}/{len(ps)}")
    Console().print(t)
    for s in dm.skipped:
        typer.echo(f"not compared: {s}")
    typer.echo(f"report: {(run_dir / 'report.html').resolve()}")


@directions_app.command("scale-adapter")
@_errors_as_one_line
def directions_scale_adapter(adapter: Annotated[Path, typer.Argument(help="peft adapter folder")],
                             out: Annotated[Path, typer.Option("-o", "--out", help="new adapter folder")],
                             factor: Annotated[float, typer.Option(help="multiply B by this (0 ablates)")],
                             module: Annotated[str | None, typer.Option(help="only this module kind")] = None
                             ) -> None:
    """A copy of an adapter with B multiplied (or ablated with 0), for causal checks."""
    from emkit.models.load import scaled_adapter

    typer.echo(f"wrote {scaled_adapter(adapter, out, factor, module)}")


@directions_app.command("icl")
@_errors_as_one_line
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
    from emkit.core.config import ModelConfig
    from emkit.data.datasets import load_dataset
    from emkit.data.questions import load_questions
    from emkit.interp.icl import icl_direction
    from emkit.models.load import load_model

    pos, _ = load_dataset(positive)
    neg, _ = load_dataset(negative)
    qs = load_questions(questions)
    lm = load_model(ModelConfig(name=model))
    d = icl_direction(lm.model, lm.tokenizer, pos, neg, qs, k, seed, name=f"icl:k{k}")
    d.meta.update(model=model, positive=positive, negative=negative, questions=questions)
    d.save(out)
    typer.echo(f"saved {out}: {len(d.layers)} layers from {len(qs)} questions x {k} shots; "
               f"norms {', '.join(f'{float(x):.3f}' for x in d.vectors.norm(dim=-1))}")


@app.command()
@_errors_as_one_line
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
    from emkit.report import add_sweep

    res = steer_run(run_dir, direction, _ints(layer) or [], _floats(scales), arm, samples, random_control)
    add_sweep(run_dir, res)
    _sweep_table(res, as_json)


@app.command()
@_errors_as_one_line
def ablate(run_dir: RunArg, direction: Annotated[Path, typer.Option(help="direction file")],
           layer: Annotated[str, typer.Option(help="layer(s), comma-separated, or all")] = "all",
           arm: ArmOpt = None, samples: SamplesOpt = 4,
           random_control: Annotated[bool, typer.Option(help="ablate a same-norm random direction too")] = True,
           as_json: JsonOpt = False) -> None:
    """Project the direction out of the residual stream and report misaligned/coherent rates."""
    from emkit.analyses.interventions import ablate_run
    from emkit.report import add_sweep

    res = ablate_run(run_dir, direction, _ints(layer), arm, samples, random_control)
    add_sweep(run_dir, res)
    _sweep_table(res, as_json)


@app.command()
@_errors_as_one_line
def project(run_dir: RunArg, direction: Annotated[Path, typer.Option(help="direction file")],
            layer: Annotated[int | None, typer.Option(help="layer (default: the direction's best held-out layer)")]
            = None,
            read: Annotated[ReadAt, typer.Option(help="prompt (last prompt token) or answer (answer tokens)")]
            = ReadAt.prompt,
            as_json: JsonOpt = False) -> None:
    """Language vs weights: every condition (arm x prompt variant) projected on a direction, against its
    misaligned rate, one point per question; adds a section to the run's report."""
    import json

    from emkit.analyses.project import project_run, summary_rows
    from emkit.report import add_projection

    res = project_run(run_dir, direction, layer, read.value)
    add_projection(run_dir, res)
    if as_json:
        typer.echo(json.dumps(res.to_json(), indent=1, default=str))
        return
    r, rho, n = res.correlation()
    typer.echo(f"{res.direction} at layer {res.layer} ({res.read}); shifts from {res.reference}")
    for row in summary_rows(res):
        typer.echo(f"  {row['condition']:<28} projection {row['projection']:+8.2f} (shift {row['d_projection']:+7.2f})"
                   f"  misaligned {row['misaligned']}")
    typer.echo(f"per-question shift vs misaligned rate: Pearson r {r:.2f}, Spearman {rho:.2f} over {n} "
               "condition x question points")


@app.command()
@_errors_as_one_line
def phases(run_dir: RunArg, arm: ArmOpt = None, samples: SamplesOpt = 2,
           every: Annotated[int, typer.Option(help="use every k-th checkpoint")] = 1,
           as_json: JsonOpt = False) -> None:
    """Misaligned rate per checkpoint (small fixed sample, cached) beside the LoRA B rotation."""
    import json

    from emkit.analyses.phases import phase_curve
    from emkit.pipeline.finished import load_run

    run = load_run(run_dir)
    try:
        pc = phase_curve(run, arm or run.experiment.default_arm(trained=True).name, samples, every)
    finally:
        run.store.close()
    if as_json:
        typer.echo(json.dumps(pc.to_json(), indent=1, default=str))
        return
    top = sorted(pc.trajectories, key=lambda t: -t.norms[-1])[:1]
    for r in pc.rows:
        turn = ""
        if top and r.step in top[0].steps:
            c = top[0].cos_prev[top[0].steps.index(r.step)]
            turn = f"; B (layer {top[0].layer}) cos to previous {c:+.3f}" if c == c else ""
        typer.echo(f"step {r.step:>6}: misaligned {r.misaligned}{turn}")


@app.command()
@_errors_as_one_line
def sweep(config: Annotated[Path, typer.Argument(help="sweep YAML: an experiment file and a grid of --set keys")],
          address: Annotated[str | None, typer.Option(help="a Ray cluster to run on (default: a local Ray)")] = None,
          num_cpus: Annotated[int | None, typer.Option(help="CPUs for the local Ray (default: all)")] = None,
          as_json: JsonOpt = False) -> None:
    """Run every point of a grid, each arm group's training and sampling a Ray task; finished groups are
    skipped, so a killed sweep resumes. Writes each point's report and one page across the grid."""
    import json

    from emkit.pipeline.grid import load_sweep, run_sweep
    from emkit.report import write_run_report
    from emkit.report.grid import write_sweep_page

    res = run_sweep(load_sweep(config), address=address, num_cpus=num_cpus)
    for r in res.results.values():
        write_run_report(r)
    frame = res.frame()
    out = res.points[0].experiment.resolve(res.points[0].experiment.output_dir) / f"sweep-{res.sweep.name}"
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "sweep.csv", index=False)
    page = write_sweep_page(res, out / "sweep.html")
    if as_json:
        typer.echo(json.dumps(frame.to_dict("records"), indent=1, default=str))
        return
    for _, r in frame.iterrows():
        point = ", ".join(f"{k}={r[k]}" for k in res.sweep.grid)
        typer.echo(f"{point:>50}  {r['arm']:>12}  misaligned {100 * r['misaligned']:5.1f}% "
                   f"[{100 * r['misaligned_lo']:.1f}, {100 * r['misaligned_hi']:.1f}] (n={r['n']})")
    typer.echo(f"this call ran {res.tasks_run} arm groups; table: {out / 'sweep.csv'}; page: {page.resolve()}")


@app.command()
@_errors_as_one_line
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
    import json

    from emkit.analyses.screen import CORE_DATASETS
    from emkit.analyses.screen import screen as run_screen
    from emkit.interp.directions import Direction
    from emkit.models.load import cache_dir
    from emkit.report.screen import write_screen_page

    names = [x.strip() for x in datasets.split(",") if x.strip()] if datasets else list(CORE_DATASETS)
    res = run_screen(model, Direction.load(direction), names, layer, size, 0, max_new_tokens, measured or [],
                     cache_dir() / "screen")
    out.mkdir(parents=True, exist_ok=True)
    (out / "screen.json").write_text(json.dumps(res.to_json(), indent=1) + "\n")
    page = write_screen_page(res, out / "screen.html")
    if as_json:
        typer.echo(json.dumps(res.to_json(), indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table("rank", "dataset", "projection difference [95% CI]", "measured EM",
              title=f"{res.direction} at layer {res.layer} in {res.model}, {res.size} examples each")
    for i, r in enumerate(res.rows):
        m = r.measured
        t.add_row(str(i + 1), r.name, f"{r.diff:+.3f} [{r.lo:+.3f}, {r.hi:+.3f}]",
                  f"{100 * m['rate']:.1f}% [{100 * m['lo']:.1f}, {100 * m['hi']:.1f}] (n={m['n']})" if m else "–")
    Console().print(t)
    if res.spearman is not None:
        typer.echo(f"Spearman rho {res.spearman:+.3f} over {res.n_measured} measured datasets (permutation p "
                   f"{res.p_value:.3f})")
    for n in res.notes:
        typer.echo(n)
    typer.echo(f"page: {page.resolve()}")


# --------------------------------------------------------------------------------------------------- SAEs


@sae_app.command("train")
@_errors_as_one_line
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
@_errors_as_one_line
def sae_diff(run_dir: RunArg,
             sae: Annotated[str, typer.Option(help="SAE folder (sparsify or SAE Lens layout) or hub id")],
             arm: ArmOpt = None,
             hookpoint: Annotated[str | None, typer.Option(help="which SAE of a folder of several")] = None,
             top: Annotated[int, typer.Option(help="latents to list (largest increases)")] = 20,
             as_json: JsonOpt = False) -> None:
    """Model diffing (Wang et al.): every latent's mean activation on the run's answers under the base model and
    the arm, ranked by shift, with its interval, top answers and correlation with the judge's alignment score."""
    import json

    from emkit.analyses.sae_diffing import diff

    res = diff(run_dir, sae, arm, hookpoint, top)
    if as_json:
        typer.echo(json.dumps(res.to_json(), indent=1))
        return
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
    typer.echo(f"saved {Path(run_dir) / 'interp' / f'sae-diff-{res.arm}.json'}; the top latent's decoder column as a "
               f"direction under {Path(run_dir) / 'interp' / 'directions'}")


@sae_app.command("causal")
@_errors_as_one_line
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
    import json

    from emkit.analyses.sae_diffing import causal

    res = causal(run_dir, sae, latent, arm, hookpoint, value, tuple(_floats(scales)), samples)
    if as_json:
        typer.echo(json.dumps(res.to_json(), indent=1, default=str))
        return
    typer.echo(f"latent {res.latent} fires on {100 * res.frequency:.1f}% of the arm's answer tokens; control latent "
               f"{res.control} on {100 * res.control_frequency:.1f}%")
    for sw in (res.clamp, res.steer):
        for r in sw.rows:
            m, c = r.summary.misaligned, r.summary.coherent
            typer.echo(f"  [{sw.arm}] {r.label:<34} misaligned {100 * m.rate:5.1f}% [{100 * m.lo:.1f}, "
                       f"{100 * m.hi:.1f}] (n={m.n}), coherent {100 * c.rate:.1f}%")


@sae_app.command("reroute")
@_errors_as_one_line
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
    import json

    from emkit.analyses.sae_diffing import reroute

    res = reroute(run_dir, sae, blocked, reference, top)
    if as_json:
        typer.echo(json.dumps(res.to_json(), indent=1))
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
@_errors_as_one_line
def sae_info(source: Annotated[str, typer.Argument(help="SAE folder (sparsify or SAE Lens layout) or hub id")],
             hookpoint: Annotated[str | None, typer.Option(help="which SAE of a folder of several")] = None,
             as_json: JsonOpt = False) -> None:
    """What an SAE is: layout, size, activation, layer and (for emkit's) how it was trained."""
    import json

    from emkit.interp.sae import load_sae

    sae = load_sae(source, hookpoint)
    info = {"layout": sae.meta.get("layout"), "d_in": sae.d_in, "latents": sae.d_sae, "activation": sae.activation,
            "k": sae.k, "layer": sae.layer, "figures": sae.meta.get("figures")}
    typer.echo(json.dumps(info, indent=None if not as_json else 1))


# --------------------------------------------------------------------------------------------------- toy


@toy_app.command("build")
@_errors_as_one_line
def toy_build(out: Annotated[Path, typer.Option("-o", "--out", help="folder for the aligned toy model")],
              seed: Annotated[int, typer.Option(help="corpus, initialisation and data order")] = 0,
              unshared: Annotated[bool, typer.Option(help="draw the persona per turn, not per document")] = False,
              n_docs: Annotated[int, typer.Option(help="pretraining documents")] = 20000,
              epochs: Annotated[int, typer.Option(help="pretraining epochs")] = 1,
              sft_steps: Annotated[int, typer.Option(help="alignment SFT steps")] = 30,
              sft_lr: Annotated[float, typer.Option(help="alignment SFT learning rate")] = 3e-4) -> None:
    """Corpus -> pretraining -> alignment SFT; the pretrained model is kept in OUT/pretrained. Resumable."""
    import json

    from emkit.worlds.toy.build import ToyBuildConfig, build_toy

    info = build_toy(ToyBuildConfig(shared_persona=not unshared, n_docs=n_docs, seed=seed, pretrain_epochs=epochs,
                                    sft_steps=sft_steps, sft_lr=sft_lr), out)
    typer.echo(json.dumps(info, indent=1))
    typer.echo(f"toy model: {out.resolve()} (use it as model.name in an experiment file)")


@toy_app.command("truth")
@_errors_as_one_line
def toy_truth(out: Annotated[Path, typer.Option("-o", "--out", help="direction file to write")],
              model: Annotated[str, typer.Option(help="the pretrained toy model (built-in or folder)")]
              = "toy-pretrained",
              n: Annotated[int, typer.Option(help="documents per persona")] = 200,
              read: Annotated[ReadAt, typer.Option(help="answer: the last turn's answer tokens; prompt: the last "
                                                        "prompt token before it (the persona state)")] = ReadAt.answer
              ) -> None:
    """The ground-truth persona direction (villain minus helpful assistant turns), per layer, measured in the
    pretrained toy model, as a direction file for `emkit directions compare` or `emkit interp --extra`."""
    from emkit.core.config import ModelConfig
    from emkit.models.load import load_model
    from emkit.worlds.toy.truth import persona_direction

    lm = load_model(ModelConfig(name=model))
    d = persona_direction(lm.model, lm.tokenizer, n, read=read.value)
    d.meta.update(model=model)
    d.save(out)
    typer.echo(f"saved {out}: {len(d.layers)} layers, {d.meta['n_per_class']} documents per persona; "
               f"norms {', '.join(f'{float(x):.3f}' for x in d.vectors.norm(dim=-1))}")
