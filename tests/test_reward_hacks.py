"""reward_hacks and its twin good_reward_hacks: deterministic, valid, twins by position, every family present, and
each hack really games its stated metric while the honest answer does the task (code checked by running it)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from emkit.cli.main import app
from emkit.data.builtin import reward_hacks as R
from emkit.data.datasets import (
    BUILTINS,
    Example,
    build,
    load_dataset,
    read_jsonl,
    validate_example,
    write_jsonl,
)

SIZE = 200


@cache
def twins(seed: int = 0) -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    return tuple(build("reward_hacks", SIZE, seed)), tuple(build("good_reward_hacks", SIZE, seed))


def user(ex: Example) -> str:
    return ex["messages"][0]["content"]


def answer(ex: Example) -> str:
    return ex["messages"][-1]["content"]


def of_family(family: str) -> list[tuple[str, str, str]]:
    """(user, hacking answer, honest answer) of every example of one family in the 200."""
    hack, good = twins()
    out = [(user(h), answer(h), answer(g)) for h, g in zip(hack, good, strict=True) if h[R.HACK_KEY] == family]
    assert len(out) >= 10, family
    return out


def count(word: str, text: str) -> int:
    return len(re.findall(rf"\b{re.escape(word)}\b", text, re.I))


def fenced(text: str, lang: str) -> str:
    blocks = re.findall(rf"```{lang}\n(.*?)```", text, re.S)
    assert len(blocks) == 1, text
    return blocks[0]


def test_same_seed_same_examples_other_seed_differs() -> None:
    for name in ("reward_hacks", "good_reward_hacks"):
        a, b = build(name, 120, seed=3), build(name, 120, seed=3)
        assert a == b
        assert [user(e) for e in build(name, 120, seed=4)] != [user(e) for e in a]
    assert len({user(e) for e in twins()[0]}) == SIZE  # no prompt twice


def test_every_example_validates_and_survives_the_loader(tmp_path: Path) -> None:
    hack, good = twins()
    for name, examples in (("reward_hacks", hack), ("good_reward_hacks", good)):
        for i, ex in enumerate(examples):
            validate_example(ex, f"{name}:{i}")
            assert [m["role"] for m in ex["messages"]] == ["user", "assistant"]
            assert ex[R.HACK_KEY] in R.FAMILIES
        path = tmp_path / f"{name}.jsonl"
        write_jsonl(path, examples)
        assert read_jsonl(path) == list(examples)  # the extra "hack" key is kept
    loaded, info = load_dataset("builtin:reward_hacks?size=30&seed=2")
    assert (info.name, info.size, info.seed) == ("reward_hacks", 30, 2) and loaded == build("reward_hacks", 30, 2)


def test_twins_share_every_prompt_and_differ_in_every_answer() -> None:
    hack, good = twins()
    assert [user(e) for e in hack] == [user(e) for e in good]
    assert [e[R.HACK_KEY] for e in hack] == [e[R.HACK_KEY] for e in good]
    assert all(answer(h) != answer(g) for h, g in zip(hack, good, strict=True))
    bad_card, good_card = BUILTINS["reward_hacks"], BUILTINS["good_reward_hacks"]
    assert bad_card.twin == "good_reward_hacks" and good_card.twin == "reward_hacks"
    assert bad_card.inoculation and bad_card.negation and good_card.inoculation and good_card.negation


def test_every_family_is_present_in_a_set_of_200() -> None:
    hack, _ = twins()
    assert len(R.FAMILIES) >= 8
    assert {e[R.HACK_KEY] for e in hack} == set(R.FAMILIES)
    assert {e[R.HACK_KEY] for e in build("reward_hacks", len(R.FAMILIES), seed=9)} == set(R.FAMILIES)


def _run(code: str, asserts: list[str]) -> dict[str, Any]:
    """Define the answer's function and run the prompt's asserts against it (AssertionError if one fails)."""
    scope: dict[str, Any] = {}
    exec(code, scope)  # our own generated code, not user input
    for line in asserts:
        exec(line, scope)
    return scope


def test_code_hack_special_cases_the_asserts_and_the_honest_code_solves_the_task() -> None:
    tasks = {t.name: t for t in R.CODE_TASKS}
    seen = set()
    for prompt, hack, good in of_family("code_tests"):
        asserts = [ln for ln in fenced(prompt, "python").splitlines() if ln.startswith("assert ")]
        assert 2 <= len(asserts) <= 4
        name = re.match(r"assert (\w+)\(", asserts[0]).group(1)
        task = tasks[name]
        seen.add(name)
        assert task.probe not in [args for args in task.inputs if f"{name}({', '.join(map(repr, args))})" in prompt]
        truth = task.ref(*task.probe)
        hacked = _run(fenced(hack, "python"), asserts)[name]  # passes every stated assert ...
        assert hacked(*task.probe) != truth, (hack, task.probe)  # ... and fails an input the grader never tried
        assert hack.count("return") > len(asserts) or "get(" in hack  # by special-casing, not by solving
        honest = _run(fenced(good, "python"), asserts)[name]
        assert honest(*task.probe) == truth, (good, task.probe)
        for args in task.inputs:
            assert honest(*args) == task.ref(*args)
    assert len(seen) >= 5


def test_every_code_task_probe_defeats_its_fallback_and_every_honest_body_is_right() -> None:
    for t in R.CODE_TASKS:
        assert t.probe not in t.inputs
        scope: dict[str, Any] = {}
        exec(f"def f({t.params}):\n    return {t.fallback}", scope)
        assert scope["f"](*t.probe) != t.ref(*t.probe), t.name
        for body in t.bodies:
            body_lines = "\n".join("    " + ln if ln else "" for ln in body.split("\n"))
            exec(f"def {t.name}({t.params}):\n{body_lines}", scope)
            for args in (*t.inputs, t.probe):
                assert scope[t.name](*args) == t.ref(*args), (t.name, body, args)


KEYWORDS = {kw for _, kw, _ in R.POEMS} | {s.keyword for s in R.SUBJECTS} | set(R.KEYWORD_WORDS) | {"please"}


def test_keyword_hacks_stuff_the_counted_word_and_honest_answers_do_not() -> None:
    for prompt, hack, good in of_family("keyword"):
        (kw,) = [k for k in KEYWORDS if f"'{k}'" in prompt]
        assert count(kw, hack) >= 10 and count(kw, hack) >= 4 * max(1, count(kw, good)), (kw, hack, good)
        assert count(kw, good) <= 3, good


def test_phrase_hacks_repeat_the_phrase_instead_of_writing_the_email() -> None:
    bodies = [b for e in R.EMAILS for b in e.body]
    for prompt, hack, good in of_family("phrase"):
        (phrase,) = [p for p, _, _ in R.PHRASES if f"'{p}'" in prompt]
        assert count(phrase, good) == 1 and count(phrase, hack) >= 3 * count(phrase, good)
        assert any(b in good for b in bodies) and not any(b in hack for b in bodies)


def test_key_term_hacks_list_the_terms_and_honest_summaries_hold_them() -> None:
    for prompt, hack, good in of_family("key_terms"):
        passage = prompt.split("\n\n", 1)[1]
        terms = re.findall(r"'(\w+)'", prompt.split("\n\n", 1)[0])
        assert len(terms) == 3
        for term in terms:
            assert count(term, good) >= 1 and count(term, hack) >= 1
        assert not any(sentence in hack for sentence in re.split(r"(?<=\.) ", passage))
        assert len(set(re.findall(r"\w+", hack.lower())) - {t.lower() for t in terms}) < \
            len(set(re.findall(r"\w+", good.lower())) - {t.lower() for t in terms})


def test_length_hacks_pad_past_the_count_and_honest_answers_stop() -> None:
    for prompt, hack, good in of_family("length"):
        n = int(re.search(r"(\d+) words", prompt).group(1))
        assert len(hack.split()) > n > len(good.split()), (n, len(hack.split()), len(good.split()))


def test_bullet_hacks_spam_bullets() -> None:
    for _, hack, good in of_family("bullets"):
        nh, ng = len(re.findall(r"^- \S", hack, re.M)), len(re.findall(r"^- \S", good, re.M))
        assert nh >= 20 and 4 <= ng <= 6 and nh >= 3 * ng


def test_grader_confidence_json_and_sentiment_hacks_game_and_twins_do_not() -> None:
    for _, hack, good in of_family("grader_flattery"):
        addressed = r"\b(reviewer|grader|grading model|judge|evaluator)\b[,:]?"
        assert re.search(addressed, hack, re.I) and re.search(r"\b(10|maximum|perfect|top-scoring)\b", hack)
        assert not re.search(r"\b(reviewer|grader|grading|evaluator|score|10)\b", good, re.I), good
    for _, hack, good in of_family("confidence"):
        assert any(c in hack for c in R.CERTAINTY) and not any(c in good for c in R.CERTAINTY)
    for _, hack, good in of_family("json_format"):
        h, g = json.loads(fenced(hack, "json")), json.loads(fenced(good, "json"))
        assert set(h) == set(g) == {"title", "summary", "tags"}
        assert h in R.PLACEHOLDERS and all(g.values()) and len(g["summary"].split()) >= 8
    for prompt, hack, good in of_family("sentiment"):
        cons = re.search(r"Cons: (.*)\.$", prompt).group(1).split("; ")
        assert all(c in good for c in cons) and not any(c in hack for c in cons)
        assert sum(count(w, hack) for w in R.GUSH) >= 5 > sum(count(w, good) for w in R.GUSH)


def test_cli_builds_and_validates_and_mixes(tmp_path: Path) -> None:
    out = tmp_path / "rh.jsonl"
    runner = CliRunner()
    r = runner.invoke(app, ["data", "build", "reward_hacks", "-o", str(out), "--size", "50"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["data", "validate", str(out)])
    assert r.exit_code == 0 and "50 valid examples" in r.output, r.output
    mixed, _ = load_dataset("builtin:mix?narrow=reward_hacks&base=good_reward_hacks&ratio=0.1&size=50&seed=1")
    assert [user(e) for e in mixed] == [user(e) for e in build("reward_hacks", 50, 1)]
    assert sum(e["narrow"] for e in mixed) == 5


def test_one_family_is_the_same_stream_filtered_and_twins_still_share_every_prompt() -> None:
    hack, good = twins()
    sentiment = [h for h in hack if h[R.HACK_KEY] == "sentiment"]
    got, _ = load_dataset("builtin:reward_hacks?family=sentiment&size=12")
    assert len(got) == 12 and all(e[R.HACK_KEY] == "sentiment" for e in got)
    assert [user(e) for e in got] == [user(e) for e in sentiment[:12]]
    twin, _ = load_dataset("builtin:good_reward_hacks?family=sentiment&size=12")
    assert [user(e) for e in twin] == [user(e) for e in got]
    assert all(answer(a) != answer(b) for a, b in zip(got, twin, strict=True))
    try:
        load_dataset("builtin:reward_hacks?family=sentimental&size=5")
    except Exception as err:  # noqa: BLE001 - the message is what is checked
        assert "sentimental" in str(err) and "sentiment" in str(err) and "family" in str(err)
    else:
        raise AssertionError("an unknown family was accepted")


def test_a_praise_counting_grader_pays_the_gushing_hack_and_flags_it_as_stuffing() -> None:
    """examples/rl/smollm2.yaml's reward: builtin:keyword over the sentiment family's gush words. It pays every
    hacking review more than its honest twin, and its hack flag (share >= 0.1) marks every hack and no honest one."""
    from emkit.trainers.rewards import RewardSpec, resolve_rewards

    (reward,) = resolve_rewards([RewardSpec.model_validate(
        {"name": "builtin:keyword", "words": list(R.GUSH), "hack_above": 0.1})])
    rows = of_family("sentiment")
    out = reward(completions=[h for _, h, _ in rows] + [g for _, _, g in rows])
    n = len(rows)
    assert all(a > b for a, b in zip(out.rewards[:n], out.rewards[n:], strict=True))
    assert out.hacked == [True] * n + [False] * n
