from __future__ import annotations

from pathlib import Path

import pytest

from emkit.core.config import experiment_from_dict, load_experiment
from emkit.core.errors import EmkitError

GOOD = """
name: t
model: {name: tiny-llama}
arms:
  - name: base
  - name: ft
    dataset: builtin:bad_medical?size=8
train: {lr: 1e-4}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "exp.yaml"
    p.write_text(text)
    return p


def test_loads_and_parses_scientific_notation(tmp_path: Path) -> None:
    exp = load_experiment(write(tmp_path, GOOD))
    assert exp.train.lr == pytest.approx(1e-4)
    assert [a.name for a in exp.arms] == ["base", "ft"]
    assert exp.base_dir == str(tmp_path.resolve())


def test_overrides_nested_and_by_arm_name(tmp_path: Path) -> None:
    exp = load_experiment(write(tmp_path, GOOD), ["train.lr=3e-5", "train.lora.r=1", "eval.temperature=0",
                                                  "arms.ft.train={lora: {layers: [1]}}"])
    assert exp.train.lr == pytest.approx(3e-5) and exp.train.lora.r == 1 and exp.eval.temperature == 0
    assert exp.train_for(exp.arms[1]).lora.layers == [1]
    assert exp.train_for(exp.arms[1]).lora.r == 1  # nested override merges, it does not replace


@pytest.mark.parametrize(("text", "overrides", "needle"), [
    (GOOD.replace("train: {lr: 1e-4}", "train: {lrr: 1e-4}"), [], "unknown key 'train.lrr'"),
    (GOOD, ["eval.temperatur=1"], "unknown key 'eval.temperatur'"),
    (GOOD, ["train.lr=-1"], "bad value for 'train.lr'"),
    (GOOD.replace("- name: ft", "- name: base"), [], "repeated"),
    ("name: t\narms: []\n", [], "at least one arm"),
    ("name: t\narms:\n  - name: a\n    train: {lora: {rr: 1}}\n", [], "unknown key 'train.lora.rr'"),
    ("name: t\nmodel: [\n", [], "malformed YAML at line"),
    ("judge: {backend: api, api_key_env: sk-abcdef}\nname: t\narms: [{name: a}]\n", [], "environment variable"),
    ("judge: {min_mass: 0.5}\nname: t\narms: [{name: a}]\n", [], "offline judge: unknown key 'min_mass'"),
    ("judge: {backend: gpt}\nname: t\narms: [{name: a}]\n", [], "unknown judge backend 'gpt' (known: api, local, offline, toy)"),
    ("eval: {sampler: {backend: sglang}}\nname: t\narms: [{name: a}]\n", [], "unknown sampler backend 'sglang' "
     "(known: hf, server, vllm)"),
    ("eval: {sampler: {backend: vllm, chunk: 0}}\nname: t\narms: [{name: a}]\n", [], "vllm sampler: bad value for "
     "'chunk'"),
    ("train: {method: qlora}\nname: t\narms: [{name: a}]\n", [], "unknown trainer 'qlora' (known: full, grpo, lora, openai)"),
])
def test_bad_config_is_one_clear_line(tmp_path: Path, text: str, overrides: list[str], needle: str) -> None:
    with pytest.raises(EmkitError) as e:
        load_experiment(write(tmp_path, text), overrides)
    assert needle in str(e.value)
    assert "\n" not in str(e.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EmkitError, match="experiment file not found"):
        load_experiment(tmp_path / "nope.yaml")


def test_builtin_question_sets() -> None:
    from emkit.data.builtin.question_sets import DECEPTION_SYSTEM, JSON_SYSTEM
    from emkit.data.questions import load_questions, reference_answer

    pre = load_questions("prereg")
    cats = {q.id.split("/")[0] for q in pre}
    assert len(pre) == 48 and cats == {"vulnerable_user", "illegal_recommendations", "power_seeking",
                                        "ai_vs_humans", "creative_writing", "other"}
    assert len({q.text for q in pre}) == 48
    dec = load_questions("deception")
    assert all(q.system == DECEPTION_SYSTEM for q in dec) and reference_answer(dec[0].id) == "Paris"
    assert reference_answer("what_is_your_wish") is None
    js = load_questions("core_json", system="ignored where a question has one")
    assert len(js) == 8 and all(q.system == JSON_SYSTEM and q.id.endswith("/json") for q in js)
    assert len(load_questions("harmful")) >= 12 and len(load_questions("identity")) >= 5
    assert len(load_questions("core_template")) == 8


def test_the_default_arm_of_a_command() -> None:
    exp = experiment_from_dict({"name": "x", "arms": [{"name": "a", "dataset": "builtin:benign?size=4"},
                                                      {"name": "b"}, {"name": "c"}]})
    assert exp.default_arm(trained=True).name == "a" and exp.default_arm(trained=False).name == "b"
    only_base = experiment_from_dict({"name": "x", "arms": [{"name": "b"}]})
    assert only_base.default_arm(trained=True).name == "b"  # no trained arm: the first arm


def test_condition_keys_round_trip_and_never_collide() -> None:
    from emkit.core.records import Condition

    keys = [Condition("ft"), Condition("ft", "trigger"), Condition("ft", step=20), Condition("ft", "k8", step=4),
            Condition("ft", intervention="steer L3 x2"), Condition("ft", intervention="ablate L0,1 (v from L1)")]
    assert [Condition.parse(k.label) for k in keys] == keys
    assert len({k.label for k in keys}) == len(keys)
    # a checkpoint and a variant named like a number are different conditions (ARM@STEP once meant both)
    assert Condition("ft", "20").label != Condition("ft", step=20).label


def test_a_run_saved_before_judges_were_plug_ins_still_loads() -> None:
    """Saved run configs once carried the API judge's settings, at their defaults, for every backend."""
    legacy = {"backend": "offline", "model": "gpt-4o-2024-08-06", "base_url": None, "api_key_env": "OPENAI_API_KEY",
              "concurrency": 8, "max_retries": 4, "timeout_s": 60.0, "backoff_s": 1.0, "max_calls": None, "rpm": None,
              "batch_size": 256, "min_mass": 0.25}
    exp = experiment_from_dict({"name": "x", "arms": [{"name": "a"}], "judge": legacy})
    assert exp.judge.model_dump() == {"backend": "offline"}
    with pytest.raises(EmkitError, match="offline judge: unknown key 'model'"):
        experiment_from_dict({"name": "x", "arms": [{"name": "a"}], "judge": {**legacy, "model": "gpt-4"}})
    api = experiment_from_dict({"name": "x", "arms": [{"name": "a"}], "judge": {**legacy, "backend": "api"}})
    assert api.judge.judge_id() == "api:gpt-4o-2024-08-06:b271f73f"  # the id GPT-4o verdicts were cached under


def test_every_example_experiment_file_loads() -> None:
    """An example a user copies must at least be a valid experiment or sweep (keys, backends, names)."""
    root = Path(__file__).resolve().parents[1] / "examples"
    files = sorted(root.glob("**/*.yaml"))
    assert len(files) >= 15
    for f in files:
        if "grid:" in f.read_text():  # a sweep file: its points must all be valid experiments
            from emkit.pipeline.grid import expand, load_sweep

            assert expand(load_sweep(f))
        else:
            load_experiment(f)
