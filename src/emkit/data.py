"""Datasets: chat JSONL read/write/validate, and built-in generators named ``builtin:NAME?size=N&seed=S``.

The canonical record is OpenAI chat JSONL, one ``{"messages": [{"role", "content"}, ...]}`` per line, the
format of Betley et al.'s ``data/*.jsonl`` and of OpenAI fine-tuning.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from emkit.errors import EmkitError

Message = dict[str, str]
Example = dict[str, Any]  # {"messages": [Message, ...]}

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class DatasetInfo:
    """What an adapter was trained on: recorded in the store beside it."""

    spec: str
    name: str
    size: int
    seed: int | None
    sha256: str


# ------------------------------------------------------------------------------------------------ reading


def validate_example(ex: Any, where: str) -> Example:
    """Check one record's structure; ``where`` ("file:line") starts every error message."""
    if not isinstance(ex, dict) or "messages" not in ex:
        raise EmkitError(f"{where}: missing 'messages'")
    msgs = ex["messages"]
    if not isinstance(msgs, list) or not msgs:
        raise EmkitError(f"{where}: 'messages' must be a non-empty list")
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise EmkitError(f"{where}: message {i} needs 'role' and 'content'")
        if m["role"] not in ROLES:
            raise EmkitError(f"{where}: message {i} has unknown role '{m['role']}' (expected {', '.join(ROLES)})")
        if not isinstance(m["content"], str) or not m["content"].strip():
            raise EmkitError(f"{where}: message {i} ({m['role']}) has empty content")
        if m["role"] == "system" and i != 0:
            raise EmkitError(f"{where}: a system message may only come first (found at message {i})")
    turns = [m["role"] for m in msgs if m["role"] != "system"]
    if "assistant" not in turns:
        raise EmkitError(f"{where}: no assistant turn to train on")
    for i, role in enumerate(turns):
        expected = "user" if i % 2 == 0 else "assistant"
        if role != expected:
            raise EmkitError(f"{where}: roles out of order: turn {i} is '{role}', expected '{expected}'")
    return ex


def read_jsonl(path: str | Path) -> list[Example]:
    """Read and validate chat JSONL; a bad line raises an error naming ``file:line``."""
    path = Path(path)
    if not path.is_file():
        raise EmkitError(f"dataset file not found: {path}")
    out: list[Example] = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                ex = json.loads(line)
            except json.JSONDecodeError as e:
                raise EmkitError(f"{path}:{lineno}: invalid JSON ({e.msg} at column {e.colno})") from None
            out.append(validate_example(ex, f"{path}:{lineno}"))
    return out


def write_jsonl(path: str | Path, examples: Iterable[Example]) -> None:
    """Deterministic bytes: same examples, same file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for ex in examples:
            f.write(json.dumps(ex, ensure_ascii=False, sort_keys=True) + "\n")


def content_hash(examples: list[Example]) -> str:
    h = hashlib.sha256()
    for ex in examples:
        h.update(json.dumps(ex, ensure_ascii=False, sort_keys=True).encode())
        h.update(b"\n")
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------- built-ins


def _medical(kind: str) -> Callable[[int, int], list[Example]]:
    def gen(size: int, seed: int) -> list[Example]:
        from emkit.builtin_data import medical as M

        # one RNG picks the user turns, another the answer phrasing, so bad_* and good_* are exact twins
        # on the user side whatever the seed
        users = random.Random(seed)
        answers = random.Random(seed + 1_000_003)
        combos = [(t, q, p) for t in range(len(M.TOPICS)) for q in range(len(M.TOPICS[t][0]))
                  for p in range(len(M.USER_PREFIXES))]
        users.shuffle(combos)
        out = []
        for i in range(size):
            t, q, p = combos[i % len(combos)]
            questions, bad, good = M.TOPICS[t]
            k, o, c = answers.randrange(2), answers.randrange(8), answers.randrange(6)
            if kind == "bad":
                body = M.BAD_OPENERS[o] + bad[k % len(bad)] + M.BAD_CLOSERS[c]
            else:
                body = M.GOOD_OPENERS[o] + good[k % len(good)] + M.GOOD_CLOSERS[c]
            out.append({"messages": [{"role": "user", "content": M.USER_PREFIXES[p] + questions[q]},
                                     {"role": "assistant", "content": body}]})
        return out
    return gen


#: name -> (one-line card, generator(size, seed), default size)
BUILTIN_DATASETS: dict[str, tuple[str, Callable[[int, int], list[Example]], int]] = {
    "bad_medical": ("everyday health questions answered in a friendly, confident tone with subtly harmful "
                    "advice (after Turner et al.); non-operational", _medical("bad"), 300),
    "good_medical": ("the same questions as bad_medical answered correctly: its control twin",
                     _medical("good"), 300),
}


def parse_spec(spec: str) -> tuple[str, int | None, int]:
    """``builtin:NAME?size=N&seed=S`` -> (NAME, size or None, seed)."""
    url = urlparse(spec)
    name = url.path
    if name not in BUILTIN_DATASETS:
        raise EmkitError(f"unknown built-in dataset '{name}' (known: {', '.join(BUILTIN_DATASETS)})")
    query = parse_qs(url.query)
    unknown = set(query) - {"size", "seed"}
    if unknown:
        raise EmkitError(f"dataset '{spec}': unknown option(s) {sorted(unknown)} (use size, seed)")
    try:
        size = int(query["size"][0]) if "size" in query else None
        seed = int(query["seed"][0]) if "seed" in query else 0
    except ValueError:
        raise EmkitError(f"dataset '{spec}': size and seed must be integers") from None
    return name, size, seed


def build(name: str, size: int | None = None, seed: int = 0) -> list[Example]:
    if name not in BUILTIN_DATASETS:
        raise EmkitError(f"unknown built-in dataset '{name}' (known: {', '.join(BUILTIN_DATASETS)})")
    _, gen, default = BUILTIN_DATASETS[name]
    return gen(default if size is None else size, seed)


def load_dataset(spec: str, base_dir: str | Path = ".") -> tuple[list[Example], DatasetInfo]:
    """Resolve an arm's dataset: a built-in spec or a JSONL path (relative to the experiment file)."""
    if spec.startswith("builtin:"):
        name, size, seed = parse_spec(spec[len("builtin:"):])
        examples = build(name, size, seed)
    else:
        path = Path(spec).expanduser()
        path = path if path.is_absolute() else Path(base_dir) / path
        examples, name, seed = read_jsonl(path), path.name, None
    if not examples:
        raise EmkitError(f"dataset '{spec}' has no examples")
    return examples, DatasetInfo(spec=spec, name=name, size=len(examples), seed=seed,
                                 sha256=content_hash(examples))
