"""``emkit data``: build, inspect, validate and convert chat datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from emkit.cli import render
from emkit.cli.common import errors_as_one_line
from emkit.core.errors import EmkitError

data_app = typer.Typer(no_args_is_help=True, help="Build, inspect, validate and convert chat datasets.")

LimitOpt = Annotated[int, typer.Option(help="problems to list (0: every one)")]


def _problems(problems: list[str], limit: int, summary: str, prefix: str = "error") -> None:
    """Each problem as its own ``error:`` line on stderr, at most ``limit`` (then how many more), and with more
    than one a last line summing them up: one pass over a file shows what to fix, not one line per run."""
    shown = problems if limit <= 0 else problems[:limit]
    for p in shown:
        typer.echo(f"{prefix}: {p}", err=True)
    if len(problems) > len(shown):
        typer.echo(f"{prefix}: ... and {len(problems) - len(shown)} more ({len(problems)} problems in all; --limit 0 "
                   f"lists every one); {summary}", err=True)
    elif len(problems) > 1:
        typer.echo(f"{prefix}: {len(problems)} problems; {summary}", err=True)


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

    width = max(16, *(len(c.name) for c in BUILTINS.values()))
    for c in BUILTINS.values():
        typer.echo(f"{c.name:{width}} {c.default_size:>5}  {c.summary}")


@data_app.command("card")
@errors_as_one_line
def data_card(name: str) -> None:
    """What a built-in dataset is, where it comes from, and its known limits."""
    from emkit.data.datasets import BUILTINS

    if name not in BUILTINS:
        raise EmkitError(f"unknown built-in dataset '{name}' (known: {', '.join(BUILTINS)})")
    typer.echo(BUILTINS[name].render())


@data_app.command("build")
@errors_as_one_line
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
@errors_as_one_line
def data_validate(source: Annotated[str, typer.Argument(help="JSONL file, datasets folder, builtin:.. or hf:..")],
                  max_tokens: Annotated[int | None, typer.Option(help="fail on examples longer than this")] = None,
                  model: Annotated[str | None, typer.Option(help="tokenizer for --max-tokens "
                                                                   "(default smollm2-135m-instruct)")] = None,
                  limit: LimitOpt = 20) -> None:
    """Check a dataset: every problem as file:line (the token count of each example over --max-tokens), up to
    --limit. Exit 1 when there is any, 2 when the source cannot be read at all (a CSV says how to convert it)."""
    from emkit.data.datasets import check_dataset, length_problems

    checked = check_dataset(source)
    counts: list[int] = []
    too_long: list[str] = []
    if max_tokens is not None and checked.examples:
        counts, too_long = length_problems(checked, _tokenizer(model or "smollm2-135m-instruct"), max_tokens)
    problems = checked.problems + too_long
    if not problems and not checked.examples:
        raise EmkitError(f"dataset '{source}' has no examples")
    if problems:
        _problems(problems, limit, f"{len(checked.examples) - len(too_long)} examples of {source} are valid"
                  + (f" ({len(too_long)} more are well formed but over {max_tokens} tokens)" if too_long else ""))
        raise typer.Exit(1)
    msg = f"{source}: {len(checked.examples)} valid examples"
    if counts:
        msg += f", longest {max(counts)} tokens (limit {max_tokens})"
    typer.echo(msg)


@data_app.command("convert")
@errors_as_one_line
def data_convert(source: Annotated[Path, typer.Argument(help="CSV or TSV table, JSON array, or JSONL of "
                                                             "question/answer records")],
                 out: Annotated[Path, typer.Argument(help="chat JSONL to write")],
                 question: Annotated[str | None, typer.Option(help="the question column (default: question, "
                                                                   "prompt or user)")] = None,
                 answer: Annotated[str | None, typer.Option(help="the answer column (default: answer, response "
                                                                 "or assistant)")] = None,
                 system: Annotated[str | None, typer.Option(help="the system prompt column (default: system or "
                                                                 "system_prompt, if there is one)")] = None,
                 skip_bad: Annotated[bool, typer.Option("--skip-bad", help="write the rows without problems and "
                                                                          "list the others")] = False,
                 limit: LimitOpt = 20) -> None:
    """Turn question/answer pairs into chat JSONL ({"messages": [system?, user, assistant]} per line). Every
    row's problems are listed with its line; with any, nothing is written (unless --skip-bad) and the exit is 1."""
    from emkit.data.convert import convert_file
    from emkit.data.datasets import write_jsonl

    if out.resolve() == source.resolve():
        raise EmkitError(f"{out}: the output would overwrite the file being converted; name another")
    conv = convert_file(source, question, answer, system)
    if conv.problems and not skip_bad:
        _problems(conv.problems, limit, f"{len(conv.examples)} of {conv.records} records convert; nothing "
                                        f"written (--skip-bad writes those)")
        raise typer.Exit(1)
    if not conv.examples:
        _problems(conv.problems, limit, "no record converts; nothing written")
        raise typer.Exit(1)
    write_jsonl(out, conv.examples)
    cols = ", ".join(f"{part} from '{col}'" for part, col in conv.columns.items() if col) or "chat records"
    skipped = f"; {conv.records - len(conv.examples)} records skipped (listed above)" if conv.problems else ""
    if conv.problems:
        _problems(conv.problems, limit, "those records are left out (--skip-bad)", prefix="skipped")
    typer.echo(f"wrote {len(conv.examples)} examples to {out} ({conv.kind}: {cols}){skipped}")


@data_app.command("inspect")
@errors_as_one_line
def data_inspect(source: Annotated[str, typer.Argument(help="JSONL file, datasets folder, builtin:.. or hf:..")],
                 model: Annotated[str | None, typer.Option(help="count tokens with this model's tokenizer")] = None,
                 as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False) -> None:
    """Counts, role structure, length histogram, duplicates and (for code sets) vulnerability classes."""
    from emkit.data.datasets import inspect_examples, load_dataset

    examples, info = load_dataset(source)
    rep = inspect_examples(examples, _tokenizer(model))
    if as_json:
        render.json({"source": source, "sha256": info.sha256, **rep})
        return
    render.dataset_inspection(source, info.sha256, rep)
