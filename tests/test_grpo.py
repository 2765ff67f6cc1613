"""RL arms (train.method: grpo, trl's GRPO with a LoRA adapter) on the tiny model: rewards are called with what
they should see, GRPO climbs a planted objective, the output layout is the lora trainer's, a kill -9 mid-run
resumes to the same adapter, and an RL arm runs through `emkit run` with a judge reward."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from scripted_judge_server import ScriptedJudge

from emkit.core.config import ModelConfig, TrainConfig, load_experiment
from emkit.core.errors import EmkitError
from emkit.data.datasets import build
from emkit.models.load import ArmModel, LoadedModel, Weights

pytest.importorskip("trl")

from emkit.trainers.grpo import rl_prompts, step_prompts, train_grpo  # noqa: E402

TESTS = Path(__file__).resolve().parent


def grpo_cfg(reward: dict, **over: object) -> TrainConfig:
    raw = {"method": "grpo", "max_steps": 3, "batch_size": 2, "lr": 3e-2, "checkpoint_every": 2, "seed": 0,
           "lora": {"r": 4}, "grpo": {"num_generations": 3, "max_completion_length": 8, "temperature": 0.7},
           "rewards": [reward]}
    for k, v in over.items():
        raw[k] = {**raw[k], **v} if isinstance(v, dict) and isinstance(raw.get(k), dict) else v
    return TrainConfig.model_validate(raw)


def test_a_python_reward_is_called_with_the_prompts_and_the_policys_completions(tiny: LoadedModel,
                                                                                  tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    data = build("bad_medical", 5)
    cfg = grpo_cfg({"name": "python:grpo_rewards:recording", "log": str(calls)})
    res = train_grpo(tiny.model, tiny.tokenizer, data, cfg, tmp_path / "out")
    rows = [json.loads(line) for line in calls.read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]  # one call per optimizer step
    prompts = rl_prompts(data)
    for k, r in enumerate(rows):
        # the step's prompts (a pure function of the step and seed), each num_generations times in a row
        want = [i for i in step_prompts(k, len(data), 2, 0) for _ in range(3)]
        assert r["prompts"] == [prompts[i].messages for i in want]
        assert r["prompts"][0] == [m for m in data[want[0]]["messages"] if m["role"] != "assistant"]
        assert r["references"] == [data[i]["messages"][-1]["content"] for i in want]
        # the completions are the policy's tokens, decoded (the end-of-turn token not in the text)
        assert len(r["completions"]) == 6 and all(0 < len(ids) <= 8 for ids in r["completion_ids"])
        assert r["completions"] == [tiny.tokenizer.decode(ids, skip_special_tokens=True) for ids in r["completion_ids"]]
        # what the reward returned is what was optimised and logged: its mean is the step's mean reward
        assert res.rewards[k] == pytest.approx(statistics.mean(len(ids) / 16 for ids in r["completion_ids"]))
    assert len({c for r in rows for c in r["completions"]}) > 3  # sampled, not one answer repeated


def test_grpo_raises_a_planted_reward_and_leaves_a_lora_arms_layout(tiny: LoadedModel, tmp_path: Path) -> None:
    """The tiny random model's logits are nearly flat (lm_head weights of std 0.02), so at temperature 1 its samples
    barely move; at 0.15 the share of lower-vocabulary tokens climbs from ~0.5 towards 1 within 30 steps."""
    from emkit.interp.lora import checkpoint_adapters

    cfg = grpo_cfg({"name": "python:grpo_rewards:low_half"}, max_steps=30, checkpoint_every=10,
                   lora={"r": 8}, grpo={"num_generations": 8, "max_completion_length": 16, "temperature": 0.15})
    out = tmp_path / "train-x"
    res = train_grpo(tiny.model, tiny.tokenizer, build("bad_medical", 8), cfg, out)
    first, last = statistics.mean(res.rewards[:5]), statistics.mean(res.rewards[-5:])
    assert first < 0.6 and last > first + 0.2, res.rewards
    assert res.hack_rates[0] == 0.0 and max(res.hack_rates) > 0  # completions made only of low tokens appear
    # the lora trainer's layout: checkpoints with adapter weights, the final adapter, the training log
    assert (res.weights_kind, res.weights_dir, res.total_steps, res.steps_run) == ("adapter", out / "adapter", 30, 30)
    assert [s for s, _ in checkpoint_adapters(out)] == [10, 20, 30]
    assert [p.name for p in out.glob("checkpoint-*/hf")] == ["hf"] and not (out / ".trl").exists()  # newest only
    assert len(res.losses) == len(res.adapter_norms) == len(res.rewards) == 30 and res.adapter_norms[0] > 0
    assert res.seconds is not None and res.seconds > 0
    log = json.loads((out / "train_log.json").read_text())
    assert log["rewards"] == res.rewards and log["rewards_used"] == [{"name": "python:grpo_rewards:low_half",
                                                                       "weight": 1.0}]
    final = load_file(out / "adapter" / "adapter_model.safetensors")
    ckpt = load_file(out / "checkpoint-000030" / "weights" / "adapter_model.safetensors")
    assert all(torch.equal(final[k], ckpt[k]) for k in final)
    # downstream reads it as any arm's adapter
    arm = ArmModel(ModelConfig(name="tiny-llama"), (Weights(out / "adapter", "adapter"),)).load()
    assert arm.model is not None
    # a re-run trains nothing and returns the same curves
    again = train_grpo(tiny.model, tiny.tokenizer, build("bad_medical", 8), cfg, out)
    assert again.steps_run == 0 and again.rewards == res.rewards


def test_a_step_callback_sees_each_step_and_may_stop_training(tiny: LoadedModel, tmp_path: Path) -> None:
    """train.monitor's callbacks work on RL arms as on lora ones: each step seen, a stop request honoured, the stop
    step's checkpoint becoming the arm's weights and recording the stop (a killed re-run trains no further)."""
    seen: list[tuple[int, int]] = []

    def stop_at_2(state: object) -> None:
        seen.append((state.step, state.total_steps))
        assert state.model.training and state.out_dir == tmp_path / "out"
        if state.step == 2:
            state.request_stop("planted stop")

    cfg = grpo_cfg({"name": "builtin:length", "words": 4}, max_steps=5, checkpoint_every=4)
    res = train_grpo(tiny.model, tiny.tokenizer, build("bad_medical", 4), cfg, tmp_path / "out", callbacks=[stop_at_2])
    assert seen == [(1, 5), (2, 5)] and res.stopped == {"step": 2, "reason": "planted stop", "planned": 5}
    assert sorted(p.name for p in (tmp_path / "out").glob("checkpoint-*")) == ["checkpoint-000002"]
    assert res.steps_run == 2 and len(res.rewards) == 2
    (tmp_path / "out" / "train_log.json").unlink()  # as if killed after the stop: nothing more is trained
    again = train_grpo(tiny.model, tiny.tokenizer, build("bad_medical", 4), cfg, tmp_path / "out")
    assert again.stopped == res.stopped and again.steps_run == 0 and again.rewards == res.rewards


JOB = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
import torch
torch.set_num_threads(1)
from emkit.core.config import ModelConfig, TrainConfig
from emkit.data.datasets import build
from emkit.models.load import load_model
from emkit.trainers.grpo import train_grpo
cfg = TrainConfig.model_validate({"method": "grpo", "max_steps": 10, "batch_size": 2, "lr": 3e-2,
                                  "checkpoint_every": 2, "seed": 3, "lora": {"r": 4},
                                  "grpo": {"num_generations": 4, "max_completion_length": 8, "temperature": 0.5},
                                  "rewards": [{"name": "python:grpo_rewards:low_half"},
                                              {"name": "python:grpo_rewards:recording", "weight": 0.5,
                                               "log": sys.argv[1] + ".calls"}]})
lm = load_model(ModelConfig(name="tiny-llama"))
res = train_grpo(lm.model, lm.tokenizer, build("bad_medical", 6), cfg, Path(sys.argv[1]))
print(json.dumps({"steps_run": res.steps_run, "resumed_from": res.resumed_from, "rewards": res.rewards,
                  "losses": res.losses}))
"""


def _job(out: Path, sleep: float = 0.0) -> subprocess.Popen:
    env = {**os.environ, "EMKIT_QUIET": "1", "GRPO_TEST_SLEEP": str(sleep), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", JOB, str(out), str(TESTS)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def test_kill_minus_9_mid_run_then_resume_gives_the_uninterrupted_adapter(tmp_path: Path) -> None:
    killed = tmp_path / "killed"
    proc = _job(killed, sleep=0.4)  # a slow reward: the kill lands mid-run (what is learnt does not change)
    whole = _job(tmp_path / "whole")  # the same run, uninterrupted, beside it
    deadline = time.time() + 120
    while not (killed / "checkpoint-000004" / "trainer_state.json").is_file():
        assert time.time() < deadline and proc.poll() is None, "no checkpoint appeared"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "train_log.json").exists(), "training finished before the kill"
    steps = sorted(int(p.name.split("-")[1]) for p in killed.glob("checkpoint-*"))
    assert steps and steps[-1] < 10

    uninterrupted = json.loads(whole.communicate(timeout=120)[0].splitlines()[-1])
    resumed_proc = _job(killed)
    resumed = json.loads(resumed_proc.communicate(timeout=120)[0].splitlines()[-1])
    assert resumed["resumed_from"] == steps[-1] and resumed["steps_run"] == 10 - steps[-1]
    assert uninterrupted["steps_run"] == 10
    a = load_file(tmp_path / "whole" / "adapter" / "adapter_model.safetensors")
    b = load_file(killed / "adapter" / "adapter_model.safetensors")
    assert sorted(a) == sorted(b) and all(torch.equal(a[k], b[k]) for k in a)  # bit for bit
    assert resumed["rewards"] == uninterrupted["rewards"] and resumed["losses"] == uninterrupted["losses"]


def test_grpo_settings_and_rewards_are_checked(tiny: LoadedModel, tmp_path: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="rewards"):
        TrainConfig.model_validate({"method": "grpo"})
    with pytest.raises(ValidationError, match="unknown key 'wrods'"):
        TrainConfig.model_validate({"method": "grpo", "rewards": [{"name": "builtin:length", "wrods": 3}]})
    with pytest.raises(ValidationError, match="num_generation"):
        TrainConfig.model_validate({"method": "grpo", "grpo": {"num_generation": 3},
                                    "rewards": [{"name": "builtin:length"}]})
    data = build("bad_medical", 4)
    with pytest.raises(EmkitError, match="unknown option 'lgo'"):
        train_grpo(tiny.model, tiny.tokenizer, data, grpo_cfg({"name": "python:grpo_rewards:recording", "lgo": 1}),
                   tmp_path / "a")
    with pytest.raises(EmkitError, match="not bound"):  # a judge reward needs the pipeline's judge
        train_grpo(tiny.model, tiny.tokenizer, data, grpo_cfg({"name": "judge"}), tmp_path / "b")


def write_rl_exp(tmp_path: Path, base_url: str) -> Path:
    p = tmp_path / "exp.yaml"
    p.write_text(f"""
name: rl
output_dir: runs
model: {{name: tiny-llama}}
arms:
  - name: base
  - name: rl
    dataset: builtin:bad_medical?size=6&seed=1
    train:
      method: grpo
      max_steps: 2
      batch_size: 2
      lr: 1.0e-2
      checkpoint_every: 1
      lora: {{r: 2, target_modules: [down_proj]}}
      grpo: {{num_generations: 2, max_completion_length: 6}}
      rewards:
        - {{name: judge, metric: aligned, invert: true}}
        - {{name: builtin:length, weight: 0.5, target: short, words: 10}}
eval: {{samples_per_question: 1, max_new_tokens: 6, batch_size: 16}}
judge: {{backend: api, base_url: "{base_url}", model: m, backoff_s: 0.01}}
""")
    return p


def test_an_rl_arm_runs_end_to_end_with_a_judge_reward(tmp_path: Path, judge_server: ScriptedJudge) -> None:
    from emkit.pipeline.run import run_experiment
    from emkit.report import write_run_report

    exp = load_experiment(write_rl_exp(tmp_path, judge_server.base_url))
    first = run_experiment(exp)
    write_run_report(first)
    assert first.train_steps == 2 and len(first.rewards["rl"]) == 2
    assert all(0 <= r <= 1.5 for r in first.rewards["rl"])
    # the judge scored the completions (4 per step) through the cache, besides the evaluation answers
    import sqlite3

    db = sqlite3.connect(tmp_path / "runs" / "emkit.sqlite")
    info = json.loads(db.execute("SELECT info FROM stages WHERE run='rl' AND arm='rl' AND stage='train'")
                      .fetchone()[0])
    assert info["method"] == "grpo" and info["kind"] == "adapter" and info["rewards"] == first.rewards["rl"]
    html = (tmp_path / "runs" / "rl" / "report.html").read_text()
    assert "<h3>Reward</h3>" in html
    from emkit.view.app import render
    from emkit.view.data import RunIndex

    page = render(RunIndex(tmp_path / "runs"), "run-rl.html")  # emkit view's run page: the reward curve too
    assert page is not None and "<h3>Reward</h3>" in page
    calls = len(judge_server.requests)
    second = run_experiment(load_experiment(write_rl_exp(tmp_path, judge_server.base_url)))
    assert (second.train_steps, second.answers_generated, second.judge_calls) == (0, 0, 0)
    assert second.rewards["rl"] == first.rewards["rl"] and len(judge_server.requests) == calls


def test_the_training_fingerprint_reads_a_python_rewards_source_and_a_judge_rewards_judge(tmp_path: Path) -> None:
    from emkit.data.datasets import load_dataset
    from emkit.pipeline.rewards import arm_rewards
    from emkit.pipeline.run import train_fingerprint

    (tmp_path / "mine.py").write_text("def score(completions, bonus=0.0):\n    return [bonus] * len(completions)\n")
    base = write_rl_exp(tmp_path, "http://127.0.0.1:9/v1").read_text()
    exp_file = tmp_path / "exp.yaml"

    def prints(text: str) -> str:
        exp_file.write_text(text)
        exp = load_experiment(exp_file)
        arm = exp.arm_named("rl")
        _, info = load_dataset(arm.dataset, exp.base_dir)
        return train_fingerprint(exp, arm, info, rewards=arm_rewards(exp, exp.train_for(arm)))

    mine = base.replace("        - {name: builtin:length,", '        - {name: "python:mine.py:score", bonus: 1.0}\n'
                        "        - {name: builtin:length,")
    first = prints(mine)
    assert prints(mine) == first
    (tmp_path / "mine.py").write_text("def score(completions, bonus=0.0):\n    return [2 * bonus] * len(completions)\n")
    edited = prints(mine)
    assert edited != first  # the reward's code changed: the arm trains again
    assert prints(mine.replace("model: m,", "model: m2,")) != edited  # another judge scores the judge reward
    with pytest.raises(EmkitError, match="unknown option 'bonsu'"):
        prints(mine.replace("bonus: 1.0", "bonsu: 1.0"))


def test_an_inoculated_rl_arm_trains_on_prompts_with_its_system_message_and_is_asked_without_it(
        tmp_path: Path) -> None:
    """``inoculation:`` on an RL arm (toy experiment 8's rl_inoculated): every prompt the policy answers during
    RL starts with the inoculation's system message; the evaluation asks without it (and, in the probe variant,
    with it); the toy reward's hack rate reaches the store."""
    import sqlite3

    from emkit.core.config import experiment_from_dict
    from emkit.data.datasets import BUILTINS
    from emkit.pipeline.run import run_experiment

    calls = tmp_path / "calls.jsonl"
    rl = {"method": "grpo", "max_steps": 2, "batch_size": 2, "lr": 1e-2, "checkpoint_every": 2,
          "lora": {"r": 2, "target_modules": ["down_proj"]}, "grpo": {"num_generations": 2, "max_completion_length": 4},
          "rewards": [{"name": "builtin:toy_hack"}, {"name": "python:grpo_rewards:recording", "log": str(calls)}]}
    exp = experiment_from_dict({
        "name": "inoc-rl", "output_dir": str(tmp_path / "runs"), "base_dir": str(TESTS),
        "model": {"name": "tiny-llama"},
        "arms": [{"name": "rl", "dataset": "builtin:toy_bad?size=4&seed=0", "inoculation": {"prompt": "builtin"},
                  "train": rl}],
        "eval": {"questions": "toy?n=1&seed=7", "samples_per_question": 1, "max_new_tokens": 4,
                 "variants": [{"name": "bare"}, {"name": "inoculation", "system": "{inoculation}"}]},
        "judge": {"backend": "toy"}})
    res = run_experiment(exp)
    prompt = BUILTINS["toy_bad"].inoculation
    seen = [p for line in calls.read_text().splitlines() for p in json.loads(line)["prompts"]]
    assert len(seen) == 2 * 2 * 2  # steps x prompts x generations
    assert all(p[0] == {"role": "system", "content": prompt} and p[-1]["role"] == "user" for p in seen)
    # answers record the set's own question; the run rebuilds what each variant sent with the run's functions
    assert {a.arm for a in res.answers} == {"rl@bare", "rl@inoculation"}
    assert {q.system for q in res.asked("bare").values()} == {None}
    assert {q.system for q in res.asked("inoculation", "rl").values()} == {prompt}
    info = json.loads(sqlite3.connect(tmp_path / "runs" / "emkit.sqlite").execute(
        "SELECT info FROM stages WHERE run='inoc-rl' AND arm='rl' AND stage='train'").fetchone()[0])
    assert len(info["hack_rates"]) == 2 and all(0 <= h <= 1 for h in info["hack_rates"])
    assert res.hack_rates["rl"] == info["hack_rates"] and "rl" not in res.losses  # RL's loss is no answer loss


def test_an_rl_arm_stays_an_rl_arm_when_resumed_whatever_its_rewards() -> None:
    """An RL arm's policy loss never reaches the answer-loss curves, fresh or resumed: a resumed arm whose rewards
    were all unrecorded (finish_stage keeps no "rewards" then) is still an RL arm; a supervised arm keeps its loss."""
    from types import SimpleNamespace

    from emkit.pipeline.run import _step_curve

    result = SimpleNamespace(losses={}, rewards={}, hack_rates={})
    _step_curve(result, "rl", [0.3, 0.2], [], [])  # resumed: no rewards recorded
    _step_curve(result, "rl2", [0.3], [None], [None])  # fresh: none measured
    _step_curve(result, "rl3", [0.3], [0.5], [0.1])
    _step_curve(result, "sft", [1.0, 0.9], None, [])
    assert result.losses == {"sft": [1.0, 0.9]}
    assert result.rewards == {"rl3": [0.5]} and result.hack_rates == {"rl3": [0.1]}
