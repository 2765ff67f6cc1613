from __future__ import annotations

import json
from pathlib import Path

import pytest

from emkit.core.errors import EmkitError
from emkit.data.datasets import build, load_dataset, read_jsonl, write_jsonl

OK = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def test_roundtrip_and_deterministic_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_jsonl(a, build("bad_medical", 50, seed=3))
    write_jsonl(b, build("bad_medical", 50, seed=3))
    assert a.read_bytes() == b.read_bytes()
    assert read_jsonl(a) == build("bad_medical", 50, seed=3)
    assert build("bad_medical", 50, seed=4) != build("bad_medical", 50, seed=3)


def test_bad_and_good_medical_are_twins_on_the_user_side() -> None:
    bad, good = build("bad_medical", 100, 7), build("good_medical", 100, 7)
    assert [e["messages"][0] for e in bad] == [e["messages"][0] for e in good]
    assert all(b["messages"][1] != g["messages"][1] for b, g in zip(bad, good, strict=True))


@pytest.mark.parametrize(("line", "needle"), [
    ("{bad json", "invalid JSON"),
    (json.dumps({"prompt": "x"}), "missing 'messages'"),
    (json.dumps({"messages": [{"role": "user", "content": "x"}]}), "no assistant turn"),
    (json.dumps({"messages": [{"role": "assistant", "content": "x"}, {"role": "user", "content": "y"}]}),
     "out of order"),
    (json.dumps({"messages": [{"role": "user", "content": " "}, {"role": "assistant", "content": "y"}]}),
     "empty content"),
    (json.dumps({"messages": [{"role": "bot", "content": "x"}]}), "unknown role"),
    (json.dumps({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"},
                              {"role": "user", "content": "z"}]}), "ends with a user turn"),
])
def test_malformed_jsonl_names_file_and_line(tmp_path: Path, line: str, needle: str) -> None:
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps(OK) + "\n\n" + json.dumps(OK) + "\n" + line + "\n")
    with pytest.raises(EmkitError) as e:
        read_jsonl(p)
    assert str(e.value).startswith(f"{p}:4: ") and needle in str(e.value)


def test_empty_dataset_and_unknown_builtin(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(EmkitError, match="has no examples"):
        load_dataset("empty.jsonl", tmp_path)
    with pytest.raises(EmkitError, match="unknown built-in dataset 'nope'"):
        load_dataset("builtin:nope?size=3")
    with pytest.raises(EmkitError, match="unknown option"):
        load_dataset("builtin:bad_medical?sise=3")


def test_dataset_info_records_what_was_trained_on() -> None:
    ex, info = load_dataset("builtin:bad_medical?size=12&seed=5")
    assert (info.name, info.size, info.seed, len(info.sha256)) == ("bad_medical", 12, 5, 64)
    assert load_dataset("builtin:bad_medical?size=12&seed=5")[1].sha256 == info.sha256
