"""Models behind a server: the server sampler and hosted fine-tuning, over real HTTP to a scripted stand-in of an
OpenAI-compatible server (tests/scripted_openai_server.py), through the real ``openai`` client."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scripted_judge_server import ScriptedJudge
from scripted_openai_server import ScriptedOpenAI

from emkit.core.config import EvalConfig, ModelConfig, TrainConfig, load_experiment
from emkit.core.errors import EmkitError
from emkit.core.records import Question, read_answers
from emkit.data.datasets import load_dataset
from emkit.models.load import ArmModel, Weights
from emkit.pipeline.run import run_experiment
from emkit.samplers.server import ServerSampler, ServerSamplerConfig
from emkit.trainers.openai import HostedTrainer

SERVED = ArmModel(ModelConfig(name="gpt-4o-mini-2024-07-18", served=True))


@pytest.fixture()
def server() -> ScriptedOpenAI:
    with ScriptedOpenAI() as s:
        yield s


def questions(*extra: str) -> list[Question]:
    return [Question(f"q{i}", f"question {i}?") for i in range(3)] + [Question(f"x{i}", t) for i, t in enumerate(extra)]


def test_server_sampler_resumes_asking_only_for_what_is_missing(tmp_path: Path, server: ScriptedOpenAI) -> None:
    s = ServerSampler(ServerSamplerConfig(base_url=server.base_url, concurrency=3))
    cfg = EvalConfig(samples_per_question=3, max_new_tokens=8, temperature=0.7, top_p=0.9, seed=5)
    out = tmp_path / "samples.jsonl"
    first = s.sample(SERVED, questions("retried [[429x2]]"), cfg, "base", out)
    assert [(a.question_id, a.sample_idx) for a in first] == [(q.id, i) for q in questions("r") for i in range(3)]
    # the eval settings reach the server; every pair has its own seed; a 429 is retried by the client
    assert {(b["temperature"], b["top_p"], b["max_tokens"], b["model"]) for b in server.chats} == {
        (0.7, 0.9, 8, "gpt-4o-mini-2024-07-18")}
    assert len({b["seed"] for b in server.chats}) == 12 and len(server.chats) == 12 + 2
    assert [a.seed for a in first] == [5 * 1_000_003 + k for k in range(12)]
    # a kill mid-write: the file lost its last two answers and ends in a cut line
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:-2]) + "\n" + lines[-1][:20])
    before = len(server.chats)
    again = s.sample(SERVED, questions("retried [[429x2]]"), cfg, "base", out)
    assert len(server.chats) - before == 2  # only the missing pairs were asked for
    assert [a.text for a in again] == [a.text for a in first]  # per-pair seeds: the same answers
    assert len(read_answers(out)) == 12 and len(out.read_text().splitlines()) == 12


def test_server_sampler_failure_keeps_what_came_and_says_what_failed(tmp_path: Path, server: ScriptedOpenAI) -> None:
    s = ServerSampler(ServerSamplerConfig(base_url=server.base_url, max_retries=0))
    out = tmp_path / "samples.jsonl"
    with pytest.raises(EmkitError, match=r"2 of 8 answers could not be sampled.*question x0 sample 0.*re-run"):
        s.sample(SERVED, questions("broken [[500]]"), EvalConfig(samples_per_question=2), "base", out)
    assert {a.question_id for a in read_answers(out)} == {"q0", "q1", "q2"}  # nothing that came is lost
    # local weights are not on the server: said, with the two ways out
    local = ArmModel(ModelConfig(name="tiny-llama"), (Weights(tmp_path / "adapter", "lora"),))
    with pytest.raises(EmkitError, match=r"\[ft@v\].*local.*eval.sampler.models: \{ft: NAME\}"):
        s.sample(local, questions(), EvalConfig(), "ft@v", out)
    # ... unless the server holds them under a name
    named = ServerSampler(ServerSamplerConfig(base_url=server.base_url, models={"ft": "my-lora"}))
    named.sample(local, questions(), EvalConfig(samples_per_question=1), "ft@v", tmp_path / "ft.jsonl")
    assert server.chats[-1]["model"] == "my-lora"


def test_sampler_identity_leaves_out_transport() -> None:
    a = EvalConfig(sampler={"backend": "server", "base_url": "http://x/v1", "concurrency": 2})
    b = EvalConfig(sampler={"backend": "server", "base_url": "http://x/v1", "concurrency": 32, "timeout_s": 5})
    c = EvalConfig(sampler={"backend": "server", "base_url": "http://y/v1"})
    assert a.fingerprint_dump() == b.fingerprint_dump() != c.fingerprint_dump()
    assert "sampler" not in EvalConfig().fingerprint_dump()  # the default keeps old fingerprints


def write_exp(tmp_path: Path, server: ScriptedOpenAI, judge: ScriptedJudge, base: str = "gpt-4o-mini-2024-07-18"
              ) -> Path:
    p = tmp_path / "exp.yaml"
    p.write_text(f"""
name: hosted
output_dir: runs
model: {{name: {base}, served: true}}
arms:
  - name: base
  - name: ft
    dataset: builtin:bad_medical?size=16&seed=1
train:
  method: openai
  epochs: 2
  batch_size: 4
  seed: 3
  hosted: {{base_url: "{server.base_url}", poll_s: 0.01, lr_multiplier: 2.0, suffix: em}}
eval:
  questions: core
  samples_per_question: 1
  max_new_tokens: 8
  sampler: {{backend: server, base_url: "{server.base_url}"}}
judge: {{backend: api, base_url: "{judge.base_url}", model: m, backoff_s: 0.01}}
""")
    return p


def test_hosted_fine_tuning_end_to_end(tmp_path: Path, server: ScriptedOpenAI, judge_server: ScriptedJudge) -> None:
    res = run_experiment(load_experiment(write_exp(tmp_path, server, judge_server)))
    # one upload holding the arm's examples as chat JSONL, one job with the experiment's settings
    examples, _ = load_dataset("builtin:bad_medical?size=16&seed=1")
    (upload,) = server.files.values()
    assert [json.loads(line)["messages"] for line in upload.decode().splitlines()] == [e["messages"] for e in examples]
    (job,) = server.created
    assert job["model"] == "gpt-4o-mini-2024-07-18" and job["seed"] == 3 and job["suffix"] == "em"
    assert job["method"]["supervised"]["hyperparameters"] == {"n_epochs": 2, "batch_size": 4,
                                                               "learning_rate_multiplier": 2.0}
    # the fine-tuned model is what the ft arm's answers came from; the base arm asked the base model
    models = {b["model"] for b in server.chats}
    assert models == {"gpt-4o-mini-2024-07-18", "ft:gpt-4o-mini-2024-07-18:emkit:em:ftjob-0"}
    assert {a.arm for a in res.answers} == {"base", "ft"} and res.losses["ft"] == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4])
    assert res.answers_generated == 2 * len([a for a in res.answers if a.arm == "base"])
    # a re-run starts no job and asks for nothing
    chats = len(server.chats)
    again = run_experiment(load_experiment(write_exp(tmp_path, server, judge_server)))
    assert len(server.created) == 1 and len(server.chats) == chats and again.answers_generated == 0


def test_failed_job_is_an_error_and_is_not_started_again(tmp_path: Path, server: ScriptedOpenAI,
                                                         judge_server: ScriptedJudge) -> None:
    for _ in range(2):
        with pytest.raises(EmkitError, match=r"job ftjob-0 failed: invalid_training_file: the scripted server.*"
                                             r"delete that file to start a new job"):
            run_experiment(load_experiment(write_exp(tmp_path, server, judge_server, base="gpt-fail")))
    assert len(server.created) == 1


def test_hosted_settings_errors(tmp_path: Path) -> None:
    examples = [{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}]
    with pytest.raises(EmkitError, match="set model.served: true"):
        HostedTrainer().train(ArmModel(ModelConfig(name="tiny-llama")), examples,
                              TrainConfig(method="openai"), tmp_path / "a")
    with pytest.raises(EmkitError, match="counts epochs"):
        HostedTrainer().train(SERVED, examples, TrainConfig(method="openai", max_steps=3), tmp_path / "b")
    # local hosted settings do not touch a local run's fingerprint; a hosted one reads them
    assert "hosted" not in TrainConfig().fingerprint_dump()
    assert TrainConfig(method="openai").fingerprint_dump()["hosted"] == {"base_url": None, "lr_multiplier": None,
                                                                          "suffix": None}
    with pytest.raises(EmkitError, match="is served .* nothing of it can be loaded here"):
        SERVED.load()


KILLED = """
import sys, time
from pathlib import Path
from emkit.core.config import ModelConfig, TrainConfig
from emkit.trainers.openai import HostedTrainer
from emkit.models.load import ArmModel
examples = [{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}]
cfg = TrainConfig(method="openai", hosted={"base_url": sys.argv[1], "poll_s": 0.05})
HostedTrainer().train(ArmModel(ModelConfig(name="gpt-4o-mini-2024-07-18", served=True)), examples, cfg,
                      Path(sys.argv[2]))
"""


def test_kill_minus_9_while_polling_then_rerun_polls_the_same_job(tmp_path: Path, server: ScriptedOpenAI) -> None:
    out = tmp_path / "train-abc"
    server.hold = True  # the job stays running until released
    proc = subprocess.Popen([sys.executable, "-c", KILLED, server.base_url, str(out)],
                            env={**os.environ, "EMKIT_QUIET": "1"})
    deadline = time.time() + 60
    while not ((out / "job.json").is_file() and "job" in json.loads((out / "job.json").read_text() or "{}")):
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    server.hold = False
    cfg = TrainConfig(method="openai", hosted={"base_url": server.base_url, "poll_s": 0.01})
    examples = [{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}]
    res = HostedTrainer().train(SERVED, examples, cfg, out)
    assert len(server.created) == 1 and json.loads((res.weights_dir / "hosted.json").read_text())["job"] == "ftjob-0"
    # died after creating the job but before writing its id down: found by its metadata, not created again
    (out / "job.json").unlink()
    (res.weights_dir / "hosted.json").unlink()
    HostedTrainer().train(SERVED, examples, cfg, out)
    assert len(server.created) == 1


def test_server_sampler_refuses_checkpoints_and_scaled_adapters() -> None:
    """A server holds whole arms: asked for a checkpoint (ARM#STEP) or a scaled adapter (ARM|...) it would answer
    with the arm itself, and the phase curve or sweep would cache those answers as the checkpoint's."""
    from emkit.core.errors import EmkitError

    sampler = ServerSampler(ServerSamplerConfig(base_url="http://127.0.0.1:1/v1", models={"ft": "served-ft"}))
    assert sampler.served_id(None, "ft") == "served-ft"
    assert sampler.served_id(None, "ft@evil") == "served-ft"
    for label in ("ft#10", "ft|lora_scale=0"):
        with pytest.raises(EmkitError, match="whole arms"):
            sampler.served_id(None, label)
