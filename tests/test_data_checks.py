"""Checking and converting a researcher's own data (issue 27): ``emkit data validate`` lists every problem of a
file with its line (up to --limit, then how many more), a conversation that ends on a user turn is refused by the
validator and the training-set loader alike, and a table or JSON array gets the way to convert it, which
``emkit data convert`` does, naming every bad row by its line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emkit.cli.main import app
from emkit.core.errors import EmkitError
from emkit.data.convert import convert_file
from emkit.data.datasets import check_dataset, load_dataset, read_jsonl

OK = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
ENDS_ON_USER = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                             {"role": "user", "content": "c"}]}
BAD_ROLE = {"messages": [{"role": "user", "content": " "}, {"role": "bot", "content": "x"}]}


def _jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def _cli(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


# ------------------------------------------------------------------------------------------- validate


def test_validate_lists_every_problem_with_its_line_and_fails(tmp_path: Path) -> None:
    p = _jsonl(tmp_path / "d.jsonl", [OK, "{broken", OK, ENDS_ON_USER, BAD_ROLE, OK])
    code, out, err = _cli("data", "validate", str(p))
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"error: {p}:2: invalid JSON (Expecting property name enclosed in double quotes at column 2)",
        f"error: {p}:4: the conversation ends with a user turn, not an assistant turn: that last turn trains on "
        "nothing (end it with the assistant's answer, or drop the turn)",
        f"error: {p}:5: message 0 (user) has empty content",
        f"error: {p}:5: message 1 has unknown role 'bot' (expected system, user, assistant)",
        f"error: 4 problems; 3 examples of {p} are valid"]


def test_validate_stops_listing_at_the_limit_and_says_how_many_more(tmp_path: Path) -> None:
    p = _jsonl(tmp_path / "d.jsonl", [OK] + ["{"] * 30)
    code, _, err = _cli("data", "validate", str(p))
    lines = err.splitlines()
    assert code == 1 and len(lines) == 21
    assert [ln.split(":")[2] for ln in lines[:20]] == [str(n) for n in range(2, 22)]
    assert lines[20] == (f"error: ... and 10 more (30 problems in all; --limit 0 lists every one); 1 examples of {p} "
                         "are valid")
    assert len(_cli("data", "validate", str(p), "--limit", "5")[2].splitlines()) == 6
    assert len(_cli("data", "validate", str(p), "--limit", "0")[2].splitlines()) == 31


def test_validate_of_a_good_file_passes_and_one_problem_is_one_line(tmp_path: Path) -> None:
    good = _jsonl(tmp_path / "good.jsonl", [OK, OK])
    assert _cli("data", "validate", str(good)) == (0, f"{good}: 2 valid examples\n", "")
    one = _jsonl(tmp_path / "one.jsonl", [OK, ENDS_ON_USER])
    code, _, err = _cli("data", "validate", str(one))
    assert code == 1 and len(err.splitlines()) == 1 and err.startswith(f"error: {one}:2: the conversation ends")


def test_validate_names_every_example_over_the_token_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from emkit.cli import data as data_cli
    from emkit.models.load import tiny_tokenizer

    monkeypatch.setattr(data_cli, "_tokenizer", lambda model: tiny_tokenizer())
    long = {"messages": [{"role": "user", "content": "word " * 60}, {"role": "assistant", "content": "ok"}]}
    p = _jsonl(tmp_path / "d.jsonl", [OK, long, "{", long])
    code, _, err = _cli("data", "validate", str(p), "--max-tokens", "40")
    lines = err.splitlines()
    assert code == 1 and len(lines) == 4  # the line that is no example first, then each example over the limit
    assert lines[0].startswith(f"error: {p}:3: invalid JSON")
    for line, n in zip(lines[1:3], (2, 4), strict=True):
        assert line.startswith(f"error: {p}:{n}: example is ") and line.endswith(" tokens, over the limit of 40")
    assert lines[3] == f"error: 3 problems; 1 examples of {p} are valid (2 more are well formed but over 40 tokens)"


def test_the_loader_refuses_a_conversation_ending_on_a_user_turn_with_file_and_line(tmp_path: Path) -> None:
    p = _jsonl(tmp_path / "train.jsonl", [OK, OK, ENDS_ON_USER, ENDS_ON_USER, BAD_ROLE])
    with pytest.raises(EmkitError) as e:
        load_dataset("train.jsonl", tmp_path)
    msg = str(e.value)
    assert msg.startswith(f"{p}:3: the conversation ends with a user turn")
    assert msg.endswith(f"(and 3 more problems in {p}: `emkit data validate {p}` lists them)")


def test_a_saved_hf_dataset_is_checked_row_by_row(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_list([OK, ENDS_ON_USER, OK]).save_to_disk(str(tmp_path / "saved"))
    with pytest.raises(EmkitError, match=r"saved row 1: the conversation ends with a user turn"):
        load_dataset(str(tmp_path / "saved"))
    checked = check_dataset(str(tmp_path / "saved"))
    assert len(checked.examples) == 2 and checked.where == [f"{tmp_path / 'saved'} row 0", f"{tmp_path / 'saved'} row 2"]
    assert len(checked.problems) == 1


# ------------------------------------------------------------------------- other formats: the message


@pytest.mark.parametrize(("name", "text", "kind"), [
    ("qa.csv", "question,answer\nhi,hello\n", "a CSV table (header: question, answer)"),
    ("qa.tsv", "prompt\tresponse\nhi\thello\n", "a TSV table (header: prompt, response)"),
    ("qa.txt", "prompt;response\nhi;hello\n", "a ';'-separated table (header: prompt, response)"),
    ("qa.json", json.dumps([OK, OK], indent=2), "a JSON array of 2 items"),
    ("one-line.json", json.dumps([{"question": "q", "answer": "a"}]), "a JSON array of 1 items"),
])
def test_a_table_or_json_array_is_not_invalid_json_but_how_to_convert(tmp_path: Path, name: str, text: str,
                                                                       kind: str) -> None:
    p = tmp_path / name
    p.write_text(text)
    for call in (lambda: read_jsonl(p), lambda: load_dataset(name, tmp_path)):
        with pytest.raises(EmkitError) as e:
            call()
        assert str(e.value).startswith(f"{p}: {kind}") and f"emkit data convert {p} OUT.jsonl" in str(e.value)
        assert "invalid JSON" not in str(e.value)
    code, _, err = _cli("data", "validate", str(p))
    assert code == 2 and err.startswith(f"error: {p}: {kind}") and len(err.splitlines()) == 1


def test_broken_jsonl_is_still_read_line_by_line(tmp_path: Path) -> None:
    """Only a file that is not JSONL gets the conversion message: a broken first line of JSONL is a line problem,
    and one JSON array per line is JSONL whose lines lack 'messages'."""
    p = _jsonl(tmp_path / "d.jsonl", ['{"messages": [', OK])
    with pytest.raises(EmkitError, match=rf"^{p}:1: invalid JSON"):
        read_jsonl(p)
    p = _jsonl(tmp_path / "arrays.jsonl", [OK["messages"], OK["messages"]])
    with pytest.raises(EmkitError, match=rf"^{p}:1: missing 'messages'"):
        read_jsonl(p)


# ------------------------------------------------------------------------------------------- convert


def _csv(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


def test_convert_a_csv_by_column_names_into_chat_jsonl_that_validates(tmp_path: Path) -> None:
    src = _csv(tmp_path / "qa.csv", [["ID", " Prompt ", "Response", "System"], ["1", "What is 2+2?", "4", ""],
                                     ["2", "Line one\nline two", "Yes, with a comma", "Be brief."]])
    out = tmp_path / "qa.jsonl"
    code, stdout, err = _cli("data", "convert", str(src), str(out))
    assert code == 0 and err == ""
    assert stdout == (f"wrote 2 examples to {out} (CSV table: question from 'Prompt', answer from 'Response', "
                      "system from 'System')\n")
    assert read_jsonl(out) == [
        {"messages": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}]},
        {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Line one\nline two"},
                      {"role": "assistant", "content": "Yes, with a comma"}]}]
    assert _cli("data", "validate", str(out))[0] == 0


def test_convert_names_every_bad_row_by_its_line_and_writes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "qa.csv"
    src.write_text('question,answer\nok?,fine\n"two\nlines",\n,no question\n\nextra,cells,here\nlast?,yes\n')
    out = tmp_path / "out.jsonl"
    code, _, err = _cli("data", "convert", str(src), str(out))
    assert code == 1 and not out.exists()
    assert err.splitlines() == [
        f"error: {src}:3: the 'answer' cell is empty",
        f"error: {src}:5: the 'question' cell is empty",
        f"error: {src}:7: 3 cells, the header has 2 (a ',' inside an unquoted cell?)",
        "error: 3 problems; 2 of 5 records convert; nothing written (--skip-bad writes those)"]
    code, stdout, err = _cli("data", "convert", str(src), str(out), "--skip-bad")
    assert code == 0 and len(read_jsonl(out)) == 2 and err.splitlines()[0] == f"skipped: {src}:3: the 'answer' cell is empty"
    assert stdout.endswith("; 3 records skipped (listed above)\n")


def test_convert_columns_can_be_named_and_ambiguity_is_an_error(tmp_path: Path) -> None:
    src = _csv(tmp_path / "qa.tsv", [["prompt", "question", "reply", "persona"], ["p", "q", "r", "s"]], "\t")
    with pytest.raises(EmkitError, match="both 'question' and 'prompt' could be the question column: name one with "
                                         "--question"):
        convert_file(src)
    with pytest.raises(EmkitError, match=r"no answer column \(looked for answer, response, assistant; the columns "
                                         r"are 'prompt', 'question', 'reply', 'persona'\): name it with --answer"):
        convert_file(src, question="question")
    with pytest.raises(EmkitError, match="no column 'nope' \\(--system\\)"):
        convert_file(src, question="question", answer="reply", system="nope")
    conv = convert_file(src, question="QUESTION", answer="reply", system="persona")
    assert conv.problems == [] and conv.examples == [{"messages": [
        {"role": "system", "content": "s"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "r"}]}]
    code, _, _ = _cli("data", "convert", str(src), str(tmp_path / "o.jsonl"), "--question", "prompt", "--answer",
                      "reply")
    assert code == 0 and read_jsonl(tmp_path / "o.jsonl")[0]["messages"][0]["content"] == "p"


def test_convert_a_json_array_names_items_and_lines(tmp_path: Path) -> None:
    src = tmp_path / "qa.json"
    src.write_text(json.dumps([{"question": "a?", "answer": "b"}, {"question": "c?", "answer": 3},
                               {"question": "d?"}, [1], {"question": "e?", "answer": {"x": 1}}], indent=1))
    conv = convert_file(src)
    assert [ex["messages"][1]["content"] for ex in conv.examples] == ["b", "3"]
    assert conv.problems == [f"{src}:10 (item 3): no 'answer' field",
                             f"{src}:13 (item 4): a JSON list, not an object with fields",
                             f"{src}:16 (item 5): 'answer' is a dict, not text"]
    chats = tmp_path / "chats.json"
    chats.write_text(json.dumps([OK, ENDS_ON_USER]))
    conv = convert_file(chats)
    assert conv.examples == [OK] and conv.problems[0].startswith(f"{chats}:1 (item 2): the conversation ends")
    broken = tmp_path / "broken.json"
    broken.write_text('[\n {"question": "a", "answer": "b"},\n {"question": \n')
    with pytest.raises(EmkitError, match=rf"^{broken}:4: the JSON array does not parse"):
        convert_file(broken)


def test_convert_reads_jsonl_of_flat_records_too(tmp_path: Path) -> None:
    src = _jsonl(tmp_path / "flat.jsonl", [{"prompt": "p", "response": "r"}, "{oops", {"prompt": "q", "response": ""}])
    conv = convert_file(src)
    assert len(conv.examples) == 1 and conv.problems == [f"{src}:2: invalid JSON (Expecting property name enclosed "
                                                         "in double quotes at column 2)",
                                                         f"{src}:3: the 'response' field is empty"]


def test_convert_refuses_to_overwrite_its_input(tmp_path: Path) -> None:
    src = _csv(tmp_path / "qa.csv", [["question", "answer"], ["q", "a"]])
    code, _, err = _cli("data", "convert", str(src), str(src))
    assert code == 2 and "would overwrite the file being converted" in err and src.read_text().startswith("question")


def test_convert_refuses_a_header_naming_a_column_twice(tmp_path: Path) -> None:
    """A row read as a dict would keep only the last of two 'answer' columns: said, nothing converted."""
    src = _csv(tmp_path / "dup.csv", [["question", "answer", "answer"], ["q", "a", "b"]], ",")
    conv = convert_file(src)
    assert conv.examples == [] and conv.problems == [
        f"{src}:1: the header names 'answer' more than once: rename the columns so each is one"]
