"""``emkit data convert``: question/answer pairs kept as a table (CSV, TSV), a JSON array or JSONL of flat records,
turned into chat JSONL, the one format every emkit command reads.

Columns are picked by name (question/prompt/user, answer/response/assistant, an optional system; options name
others), and every row's problems are collected with the row's line in the file, not just the first: a sheet
exported with a stray comma or an empty answer cell is fixed in one pass. Records that already hold ``messages``
(a JSON array of chat records) are checked as chat records and written one per line.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emkit.core.errors import EmkitError
from emkit.core.textfile import read_text
from emkit.data.datasets import Example, example_problems, table_format

#: column names tried for each part of a conversation, in order (case and outer spaces ignored)
QUESTION_COLUMNS = ("question", "prompt", "user")
ANSWER_COLUMNS = ("answer", "response", "assistant")
SYSTEM_COLUMNS = ("system", "system_prompt")


@dataclass
class Converted:
    """The chat examples made from a file, every problem found (each naming its line), and the columns read."""

    examples: list[Example] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    columns: dict[str, str | None] = field(default_factory=dict)  # question/answer/system -> the column used
    records: int = 0
    kind: str = ""


@dataclass
class _Records:
    kind: str  # what the file was read as, for the summary line
    columns: list[str]  # in order of first appearance
    rows: list[tuple[str, Any]]  # (file:line, the record: a dict of cells, or whatever a JSON item was)
    problems: list[str]


def convert_file(path: str | Path, question: str | None = None, answer: str | None = None,
                 system: str | None = None) -> Converted:
    """Every record of ``path`` as a chat example ``[system], user, assistant``, or the record's problems, each
    ``file:line: what``. A column that cannot be found or chosen (two candidates) is one error for the file."""
    path = Path(path)
    if path.is_dir():
        raise EmkitError(f"{path}: a folder, not a file to convert")
    if not path.is_file():
        raise EmkitError(f"file not found: {path}")
    recs = _read_records(path, read_text(path))
    # records: every row or line met, the ones that could not be read as a record (their problems) included
    out = Converted(problems=list(recs.problems), records=len(recs.rows) + len(recs.problems), kind=recs.kind)
    if not recs.rows and not recs.problems:
        raise EmkitError(f"{path}: no records to convert")
    flat = [(w, r) for w, r in recs.rows if not (isinstance(r, dict) and "messages" in r)]
    if flat:
        out.columns = {"question": _pick(path, recs.columns, question, QUESTION_COLUMNS, "question", True),
                       "answer": _pick(path, recs.columns, answer, ANSWER_COLUMNS, "answer", True),
                       "system": _pick(path, recs.columns, system, SYSTEM_COLUMNS, "system", system is not None)}
    for where, rec in recs.rows:
        if not isinstance(rec, dict):
            out.problems.append(f"{where}: a JSON {type(rec).__name__}, not an object with fields")
            continue
        if "messages" in rec:  # already a chat record
            ex, found = rec, example_problems(rec, where)
        else:
            ex, found = _example(where, rec, out.columns, "cell" if recs.kind.endswith("table") else "field")
        if found:
            out.problems += found
        else:
            out.examples.append(ex)
    out.problems.sort(key=lambda p: _line_of(p, path))  # rows that could not be read, in their place
    return out


def _line_of(problem: str, path: Path) -> int:
    """The line a problem names (every one starts ``path:line``)."""
    digits = problem[len(str(path)) + 1:].split(":")[0].split(" ")[0]
    return int(digits) if digits.isdigit() else 0


def _example(where: str, rec: dict[str, Any], columns: dict[str, str | None], noun: str
             ) -> tuple[Example, list[str]]:
    problems: list[str] = []
    texts: dict[str, str] = {}
    for part in ("system", "question", "answer"):
        col = columns.get(part)
        if col is None:
            continue
        value = rec.get(col)
        if isinstance(value, bool) or not isinstance(value, str | int | float | None):
            problems.append(f"{where}: '{col}' is a {type(value).__name__}, not text")
            continue
        text = "" if value is None else str(value)
        if not text.strip():
            if part != "system":  # an empty system cell: that row has no system turn
                problems.append(f"{where}: the '{col}' {noun} is empty" if col in rec else f"{where}: no '{col}' field")
            continue
        texts[part] = text
    if problems:
        return {}, problems
    msgs = ([{"role": "system", "content": texts["system"]}] if "system" in texts else []) + [
        {"role": "user", "content": texts["question"]}, {"role": "assistant", "content": texts["answer"]}]
    ex = {"messages": msgs}
    return ex, example_problems(ex, where)


def _pick(path: Path, columns: list[str], given: str | None, candidates: tuple[str, ...], part: str,
          required: bool) -> str | None:
    """The column holding ``part``: the one named (``given``), else the one candidate present."""
    by_name: dict[str, list[str]] = {}
    for c in columns:
        by_name.setdefault(c.strip().lower(), []).append(c)
    listed = ", ".join(repr(c) for c in columns) or "none"
    if given is not None:
        found = by_name.get(given.strip().lower(), [])
        if not found:
            raise EmkitError(f"{path}: no column '{given}' (--{part}); the columns are {listed}")
        return found[0]
    present = [by_name[c][0] for c in candidates if c in by_name]
    if len(present) > 1:
        raise EmkitError(f"{path}: both {' and '.join(repr(c) for c in present)} could be the {part} column: "
                         f"name one with --{part}")
    if not present and required:
        raise EmkitError(f"{path}: no {part} column (looked for {', '.join(candidates)}; the columns are "
                         f"{listed}): name it with --{part}")
    return present[0] if present else None


def _read_records(path: Path, text: str) -> _Records:
    body = text.lstrip()
    if body.startswith("["):
        return _json_array(path, text)
    first = next((line for line in text.split("\n") if line.strip()), "")
    if first.lstrip().startswith("{"):
        return _jsonl(path, text)
    return _table(path, text, first)


def _columns(rows: list[tuple[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for _, r in rows:
        if isinstance(r, dict):
            seen.update(dict.fromkeys(r))
    return list(seen)


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _json_array(path: Path, text: str) -> _Records:
    """The items of a JSON array, each with the line it starts on (an array that does not parse is one error)."""
    dec = json.JSONDecoder()
    rows: list[tuple[str, Any]] = []
    pos = text.index("[") + 1
    try:
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if pos < len(text) and text[pos] == "]" and not rows:
                break
            item, end = dec.raw_decode(text, pos)
            rows.append((f"{path}:{_line(text, pos)} (item {len(rows) + 1})", item))
            pos = end
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if pos < len(text) and text[pos] == ",":
                pos += 1
                continue
            if pos < len(text) and text[pos] == "]":
                break
            raise json.JSONDecodeError("expected ',' or ']' after an item", text, pos)
    except json.JSONDecodeError as e:
        raise EmkitError(f"{path}:{e.lineno}: the JSON array does not parse ({e.msg} at column {e.colno})") from None
    if text[pos + 1:].strip():
        raise EmkitError(f"{path}:{_line(text, pos + 1)}: text after the JSON array's closing ']'")
    return _Records("JSON array", _columns(rows), rows, [])


def _jsonl(path: Path, text: str) -> _Records:
    rows: list[tuple[str, Any]] = []
    problems: list[str] = []
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            rows.append((f"{path}:{n}", json.loads(line)))
        except json.JSONDecodeError as e:
            problems.append(f"{path}:{n}: invalid JSON ({e.msg} at column {e.colno})")
    return _Records("JSONL", _columns(rows), rows, problems)


def _table(path: Path, text: str, first: str) -> _Records:
    """A CSV/TSV table under a header row; each row named by the line it starts on (a quoted cell may span
    lines), and a row with more or fewer cells than the header is a problem, not silently shifted cells."""
    delimiter, kind = table_format(path, first) or (",", "CSV table")  # one column and no separator: a CSV
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows: list[tuple[str, Any]] = []
    problems: list[str] = []
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            problems.append(f"{path}:{start}: not readable as a {kind} row ({e}); nothing after it was read")
            break
        where, start = f"{path}:{start}", reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = [c.strip() for c in cells]
            if dup := sorted({c for c in header if header.count(c) > 1}):  # a dict of the row would keep the last
                problems.append(f"{where}: the header names {', '.join(map(repr, dup))} more than once: rename "
                                "the columns so each is one")
                break
            continue
        if len(cells) != len(header):
            hint = f" (a {'tab' if delimiter == chr(9) else repr(delimiter)} inside an unquoted cell?)" \
                if len(cells) > len(header) else ""
            problems.append(f"{where}: {len(cells)} cells, the header has {len(header)}{hint}")
            continue
        rows.append((where, dict(zip(header, cells, strict=True))))
    return _Records(kind, header or [], rows, problems)
