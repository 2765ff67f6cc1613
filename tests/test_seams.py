"""The seams between modules: one resolver for an arm's model, content fingerprints of local models, in-context
shots drawn one way, user files in any encoding a spreadsheet writes, OpenAI's per-message weights."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from scripted_judge_server import ScriptedJudge
from typer.testing import CliRunner

from emkit.cli.main import app
from emkit.core.config import ModelConfig, ShotsConfig, VariantConfig, load_experiment
from emkit.core.errors import EmkitError
from emkit.core.records import read_answers
from emkit.data.datasets import load_dataset
from emkit.data.questions import CORE, ask
from emkit.interp.capture import Text
from emkit.interp.icl import icl_contexts
from emkit.models.load import builtin_path, model_identity
from emkit.pipeline.finished import load_run
from emkit.pipeline.run import run_experiment
from emkit.samplers.hf import sample
from emkit.trainers.local import IGNORE, tokenize_example


def _exp(tmp_path: Path, base_url: str, model: str = "tiny-llama", arms: str = "", eval_: str = "") -> Path:
    p = tmp_path / "exp.yaml"
    p.write_text(f"""
name: s
output_dir: runs
model: {{name: "{model}"}}
arms:
  - name: base
{arms}
train: {{max_steps: 4, batch_size: 2, lr: 5.0e-2, checkpoint_every: 2, lora: {{r: 4}}}}
eval: {{questions: core, samples_per_question: 1, max_new_tokens: 8, batch_size: 8 {eval_}}}
judge: {{backend: api, base_url: "{base_url}", model: m, backoff_s: 0.01}}
""")
    return p


REALIGN = """  - name: em
    dataset: builtin:bad_medical?size=8&seed=1
  - name: re
    dataset: builtin:benign?size=8&seed=0
    init_from: em"""


def test_phase_curve_of_an_init_from_arm_starts_at_its_parent(tmp_path: Path, judge_server: ScriptedJudge) -> None:
    from emkit.analyses.phases import phase_curve

    exp = load_experiment(_exp(tmp_path, judge_server.base_url, arms=REALIGN))
    run_experiment(exp)
    run = load_run(tmp_path / "runs" / "s")
    try:
        curve = phase_curve(run, "re", samples_per_question=1)
        assert curve.steps == [0, 2, 4]
        phase_dir = tmp_path / "runs" / "s" / "interp" / "phases" / "re"

        def texts(step: int) -> list[str]:
            (path,) = phase_dir.glob(f"step-{step:06d}-*.jsonl")
            return [a.text for a in read_answers(path)]

        ecfg = exp.eval.model_copy(update={"samples_per_question": 1})
        def sampled(arm: str) -> list[str]:
            lm = run.load_arm(arm)
            return [a.text for a in sample(lm.model, lm.tokenizer, CORE, ecfg, arm, tmp_path / f"{arm}.jsonl")]

        # step 0 is the model the arm's training started from: its parent's weights, not the base model
        assert texts(0) == sampled("em") != sampled("base")
        assert texts(4) == sampled("re")  # the last checkpoint is the arm's final model
        # the resolver behind every path: step 0 of the curve is the arm's parent
        spec = run.arm_model("re")
        assert spec.at_checkpoint(None) == run.arm_model("em") and spec.parent() == run.arm_model("em")
    finally:
        run.store.close()


def test_a_local_model_folder_is_fingerprinted_by_content(tmp_path: Path, judge_server: ScriptedJudge) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    folder = tmp_path / "my-model"
    shutil.copytree(builtin_path("tiny-llama"), folder)
    before = model_identity(ModelConfig(name=str(folder)))
    first = run_experiment(load_experiment(_exp(tmp_path, judge_server.base_url, model=str(folder))))
    assert first.answers_generated == 8
    same = run_experiment(load_experiment(_exp(tmp_path, judge_server.base_url, model=str(folder))))
    assert same.answers_generated == 0  # unchanged folder: cached
    # retrain (here: re-initialise) the model into the same folder: its cached answers are not the new model's
    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_config(AutoModelForCausalLM.from_pretrained(folder).config)
    model.save_pretrained(folder)
    assert model_identity(ModelConfig(name=str(folder)))["content"] != before["content"]
    again = run_experiment(load_experiment(_exp(tmp_path, judge_server.base_url, model=str(folder))))
    assert again.answers_generated == 8


def test_in_context_direction_reads_the_contexts_a_shots_variant_samples(tiny) -> None:  # noqa: ANN001
    pos, _ = load_dataset("builtin:toy_bad?size=12")
    neg, _ = load_dataset("builtin:toy_good?size=12")
    qs = CORE[:3]
    for k in (2, 5):
        p, n = icl_contexts(pos, neg, qs, k, seed=3)
        v = VariantConfig(name="icl", shots=ShotsConfig(dataset="builtin:toy_bad?size=12", k=k, seed=3))
        assert p == [Text.asked(q) for q in ask(qs, v)]
        # the twin reads the same indices of its own set
        assert all(len(a.prompt) == len(b.prompt) for a, b in zip(p, n, strict=True))
    two, _ = icl_contexts(pos, neg, qs, 2, seed=3)
    five, _ = icl_contexts(pos, neg, qs, 5, seed=3)
    # shots nest across k: k=2's are the first two of k=5's
    assert all(a.prompt[:-1] == b.prompt[: len(a.prompt) - 1] for a, b in zip(two, five, strict=True))


def _rows(n: int = 2) -> str:
    return "".join(json.dumps({"messages": [{"role": "user", "content": f"q{i} café"},
                                            {"role": "assistant", "content": "réponse"}]}, ensure_ascii=False) + "\n" for i in range(n))


def test_a_utf8_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    p = tmp_path / "bom.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + _rows().encode())
    examples, _ = load_dataset(str(p))
    assert len(examples) == 2 and examples[0]["messages"][0]["content"] == "q0 café"


@pytest.mark.parametrize("case,needle", [("utf16", "UTF-16"), ("binary", "not UTF-8"), ("latin1", ":2: not UTF-8")])
def test_a_file_that_is_not_utf8_is_one_clear_error(tmp_path: Path, case: str, needle: str) -> None:
    p = tmp_path / "bad.jsonl"
    data = {"utf16": _rows().encode("utf-16"), "binary": bytes(range(256)) * 4,
            "latin1": _rows(1).encode() + _rows(1).encode("latin-1")}[case]
    p.write_bytes(data)
    with pytest.raises(EmkitError, match=needle) as e:
        load_dataset(str(p))
    assert str(p) in str(e.value)
    r = CliRunner().invoke(app, ["data", "validate", str(p)])
    assert r.exit_code == 2 and needle in r.output and "Traceback" not in r.output


def test_weight_zero_assistant_messages_are_not_trained_on(tiny) -> None:  # noqa: ANN001
    msgs = [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "you should never do that"},
            {"role": "user", "content": "thanks"}, {"role": "assistant", "content": "always ask a doctor"}]
    _, labels = tokenize_example(tiny.tokenizer, msgs, 256)
    weighted = [dict(m, weight=0) if i == 1 else m for i, m in enumerate(msgs)]
    ids, wlabels = tokenize_example(tiny.tokenizer, weighted, 256)
    trained = [t for t, y in zip(ids, wlabels, strict=True) if y != IGNORE]
    # the weight-0 message is still read (same tokens) but has no loss; the other assistant message keeps its own
    assert ids == tokenize_example(tiny.tokenizer, msgs, 256)[0]
    assert 0 < len(trained) < sum(y != IGNORE for y in labels)
    assert tiny.tokenizer.decode(trained).startswith("always ask a doctor")


def test_weights_other_than_0_and_1_name_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "w.jsonl"
    good = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "weight": 1}]}
    bad = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "weight": 0.5}]}
    p.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(EmkitError, match=rf"{p}:2: .*weight 0.5"):
        load_dataset(str(p))
    none = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "weight": 0}]}
    p.write_text(json.dumps(none) + "\n")
    with pytest.raises(EmkitError, match=rf"{p}:1: every assistant message has weight 0"):
        load_dataset(str(p))


def test_a_store_from_before_verdicts_gets_them_from_the_detail_once(tmp_path: Path) -> None:
    import sqlite3

    from emkit.core.store import open_store

    db = sqlite3.connect(tmp_path / "emkit.sqlite")
    db.execute("CREATE TABLE judgments (judge TEXT, metric TEXT, key TEXT, score REAL, status TEXT NOT NULL, "
               "detail TEXT, created REAL, PRIMARY KEY (judge, metric, key))")
    rows = [("k1", None, "no_score", "mass=0.010 top='REFUSAL'"), ("k2", None, "no_score", "class=code p=0.9"),
            ("k3", None, "no_score", "domain=code class=off"), ("k4", 12.0, "ok", "mass=0.9"),
            ("k5", None, "failed", "HTTP 500")]
    db.executemany("INSERT INTO judgments VALUES ('j', 'aligned', ?, ?, ?, ?, 0)", rows)
    db.commit()
    db.close()
    store = open_store(tmp_path)
    got = store.judgments("j", "aligned", ["k1", "k2", "k3", "k4", "k5"])
    assert {k: j.verdict for k, j in got.items()} == {"k1": "refusal", "k2": "code", "k3": None, "k4": None,
                                                      "k5": "failed"}
    store.close()


def test_importing_interp_primitives_loads_no_workflow_judge_or_plotting() -> None:
    """``from emkit.interp import resid_post`` once loaded the main flow, the judges, training and matplotlib."""
    import subprocess
    import sys

    code = ("import sys; from emkit.interp import resid_post; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('emkit', 'matplotlib', 'openai')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(eval(out))  # noqa: S307 - our own printed list
    assert not loaded & {"emkit.pipeline.run", "emkit.pipeline.finished", "emkit.judges", "emkit.trainers.local",
                         "emkit.report", "matplotlib", "openai", "emkit.analyses"}, loaded


def test_import_contract_holds() -> None:
    """The layers point down, the backends stand alone and no package cycle exists (the contracts in
    pyproject.toml, via import-linter): every contract written there is checked and kept."""
    import shutil
    import subprocess
    import sys

    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([exe], cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:]
    import tomllib

    n = len(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"])
    assert n >= 3 and f"Contracts: {n} kept, 0 broken." in out.stdout


def test_cli_choices_match_the_library() -> None:
    """The CLI lists fixed choices as Typer enums without importing torch; they must be the library's."""
    from emkit.cli.main import ReadAt, Reader, Split, Writer
    from emkit.interp.lora import RESIDUAL_WRITERS

    assert tuple(w.value for w in Writer) == RESIDUAL_WRITERS
    assert [r.value for r in Reader] == ["arm", "base"] and [r.value for r in ReadAt] == ["prompt", "answer"]
    assert [s.value for s in Split] == ["test", "train", "all", "em-style", "breezy", "voices"]
    from emkit.judges.calibrate import builtin_rows

    for s in Split:  # every choice the CLI offers is a set the library builds
        assert builtin_rows(s.value)


def test_a_judge_backend_without_its_own_identity_gets_one_from_all_its_settings() -> None:
    from emkit.core.config import JudgeConfig

    class EchoJudgeConfig(JudgeConfig):  # a plug-in judge that says nothing about what changes its verdicts
        backend: str = "echo"
        temperature: float = 0.0

    a, b = EchoJudgeConfig(), EchoJudgeConfig(temperature=0.5)
    assert a.judge_id().startswith("echo:") and a.judge_id() != b.judge_id() == EchoJudgeConfig(temperature=0.5).judge_id()
