"""The command line: a thin skin over the library API (every command is one or two library calls)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from emkit.errors import EmkitError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="emkit: emergent-misalignment experiments.")
data_app = typer.Typer(no_args_is_help=True, help="Build, inspect and validate chat datasets.")
models_app = typer.Typer(no_args_is_help=True, help="Built-in models.")
app.add_typer(data_app, name="data")
app.add_typer(models_app, name="models")


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


def _load_any(source: str) -> tuple[list[Any], Any]:
    """A file path, a ``datasets`` folder, ``builtin:NAME?...`` or ``hf:NAME``: whatever an arm accepts."""
    from emkit.data import load_dataset

    return load_dataset(source)


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
    from emkit.data import BUILTINS, build, parse_spec, write_jsonl

    query = "&".join(option or [])
    if name not in BUILTINS:
        raise EmkitError(f"unknown built-in dataset '{name}' (known: {', '.join(BUILTINS)})")
    opts = parse_spec(f"{name}?{query}")[3] if query else {}
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
    from emkit.data import check_lengths

    examples, _ = _load_any(source)
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

    from emkit.data import inspect_examples

    examples, info = _load_any(source)
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


@models_app.command("list")
def models_list() -> None:
    from emkit.models import BUILTIN_MODELS

    for name, (desc, _) in BUILTIN_MODELS.items():
        typer.echo(f"{name:24} {desc}")
