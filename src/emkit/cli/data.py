"""``emkit data``: build, inspect and validate chat datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from emkit.cli import render
from emkit.cli.common import errors_as_one_line
from emkit.core.errors import EmkitError

data_app = typer.Typer(no_args_is_help=True, help="Build, inspect and validate chat datasets.")


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
