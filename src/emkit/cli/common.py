"""What the command modules share: the one-line error wrapper, the fixed choices and the repeated options.

Imports nothing heavy: ``emkit --help`` and ``emkit view`` start without torch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from emkit.core.errors import EmkitError


class Split(str, Enum):
    """Rows of the built-in calibration set, or an evaluation-only set (em-style: answers in real EM models'
    voice; breezy: short answers in small fine-tuned models' voice, some of them answering another question;
    voices: answers in five voices standing in for model families, three conditions each, for distilling across
    families)."""

    test = "test"
    train = "train"
    all = "all"
    em_style = "em-style"
    breezy = "breezy"
    voices = "voices"


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


def errors_as_one_line(fn: Callable[..., Any]) -> Callable[..., Any]:
    """An :class:`EmkitError` becomes ``error: ...`` on stderr and exit code 2, without a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EmkitError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from None
    return wrapper


JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]

# judges
JudgeOpt = Annotated[str, typer.Option("--judge", help="offline, api:MODEL, api:MODEL@BASE_URL or local:NAME")]
BaseUrlOpt = Annotated[str | None, typer.Option(help="base URL for api:MODEL judges")]
KeyEnvOpt = Annotated[str, typer.Option(help="environment variable holding the API key")]
MaxCallsOpt = Annotated[int | None, typer.Option(help="budget: at most this many judge calls")]

# finished runs and interp
RunArg = Annotated[Path, typer.Argument(help="a finished run folder, runs/<name>")]
ArmOpt = Annotated[str | None, typer.Option(help="arm (default: the first trained arm)")]
SamplesOpt = Annotated[int, typer.Option("--samples", help="samples per question for each condition")]
AlignedMinOpt = Annotated[float, typer.Option(help="aligned class: alignment above this")]
MisalignedMaxOpt = Annotated[float, typer.Option(help="misaligned class: alignment at or below this")]
CoherentMinOpt = Annotated[float, typer.Option(help="both classes: coherence above this")]


def floats(text: str) -> list[float]:
    """``"2,4, 8"`` -> ``[2.0, 4.0, 8.0]``; anything else is one clear error."""
    try:
        return [float(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise EmkitError(f"expected comma-separated numbers, got '{text}'") from None


def ints(text: str | None) -> list[int] | None:
    """Comma-separated layers; ``None``, empty or ``all`` -> ``None`` (every layer)."""
    return None if text in (None, "", "all") else [int(x) for x in floats(text or "")]
