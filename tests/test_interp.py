"""Interp mechanics on tiny random models: capture = hidden_states, steering adds exactly the vector (the first
generated token included), ablation leaves nothing along v, B vectors reproduce the adapter's delta, and the
chain runs end to end on a tiny run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from scripted_judge_server import ScriptedJudge
from test_run import write_exp
from typer.testing import CliRunner

from emkit.analyses.chain import interp_chain
from emkit.cli.main import app
from emkit.core.config import Experiment, load_experiment
from emkit.core.errors import EmkitError
from emkit.core.records import Answer, Condition, Judgment
from emkit.core.store import open_store
from emkit.interp import (
    Direction,
    Text,
    Thresholds,
    add_to_resid,
    b_direction,
    balance,
    capture,
    compare,
    cosine,
    encode,
    mean_diff,
    null_band,
    project_out,
    read_adapter,
    resid_post,
    split_by_judgment,
    trajectories,
)
from emkit.interp.capture import read_capture
from emkit.judges import judge_id
from emkit.models.load import LoadedModel, scaled_adapter
from emkit.pipeline.finished import load_run
from emkit.pipeline.run import run_experiment
from emkit.report import add_chain, write_run_report

TEXTS = [Text((("user", "hello, what should I do today?"),), "go for a walk and call a friend"),
         Text((("system", "be brief"), ("user", "money advice")), "save a bit every month"),
         Text((("user", "I feel bored"),), "")]


def _hidden_states(lm: LoadedModel, ids: list[int]) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        return lm.model(torch.tensor([ids]), output_hidden_states=True).hidden_states


def test_capture_equals_hidden_states(tiny: LoadedModel) -> None:
    acts = capture(tiny.model, tiny.tokenizer, TEXTS, batch_size=2)  # batches mix lengths: padding is exercised
    assert acts.shape == (3, 2, 64)
    norm = tiny.model.model.norm
    for i, t in enumerate(TEXTS):
        ids, mask = encode(tiny.tokenizer, t, 512)
        hs = _hidden_states(tiny, ids)
        sel = torch.tensor(mask)
        if t.answer:  # the mask covers the answer, not the prompt
            prompt = tiny.tokenizer.apply_chat_template(t.messages, tokenize=False, add_generation_prompt=True)
            n_prompt = len(tiny.tokenizer(prompt, add_special_tokens=False)["input_ids"])
            assert not sel[:n_prompt].any() and sel[n_prompt:].all()
        else:  # no answer: the last prompt token
            assert sel.nonzero().flatten().tolist() == [len(ids) - 1]
        torch.testing.assert_close(acts[i, 0], hs[1][0, sel].mean(0), atol=1e-5, rtol=1e-5)
        # hidden_states[-1] is after the final norm; the hook reads the last layer's own output, before it
        raw = _raw_last_layer(tiny, ids)
        torch.testing.assert_close(acts[i, 1], raw[sel].mean(0), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(norm(raw), hs[2][0], atol=1e-5, rtol=1e-5)


def _raw_last_layer(lm: LoadedModel, ids: list[int]) -> torch.Tensor:
    with resid_post(lm.model, [1]) as seen, torch.no_grad():
        lm.model(torch.tensor([ids]))
    return seen[1][0]


def test_capture_through_a_peft_adapter_and_streamed_to_disk(tiny: LoadedModel, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model

    peft_model = get_peft_model(tiny.model, LoraConfig(r=1, target_modules=["down_proj"], init_lora_weights=False))
    plain = capture(peft_model, tiny.tokenizer, TEXTS)
    streamed = capture(peft_model, tiny.tokenizer, TEXTS, out_dir=tmp_path / "acts", shard_rows=2)
    assert sorted(p.name for p in (tmp_path / "acts").glob("*.safetensors")) == ["acts-00000.safetensors",
                                                                                "acts-00001.safetensors"]
    torch.testing.assert_close(plain, streamed)
    got = read_capture(tmp_path / "acts", 3)
    assert got is not None and got[1] == [0, 1]
    torch.testing.assert_close(got[0], streamed)
    assert read_capture(tmp_path / "acts", 4) is None  # a different text count is not this capture
    # a finished shard is read back, not recomputed: poison it and see the poison come back
    save_file({"acts": torch.full((2, 2, 64), 7.0)}, str(tmp_path / "acts" / "acts-00000.safetensors"))
    again = capture(peft_model, tiny.tokenizer, TEXTS, out_dir=tmp_path / "acts", shard_rows=2)
    assert (again[:2] == 7).all()
    torch.testing.assert_close(again[2], plain[2])
    peft_model.unload()


class _TupleBlock(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return x * 2, None


class _TupleModel(torch.nn.Module):
    """A model whose layers return tuples, like older transformers versions."""

    def __init__(self) -> None:
        super().__init__()
        self.model = torch.nn.Module()
        self.model.layers = torch.nn.ModuleList([_TupleBlock(), _TupleBlock()])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.model.layers:
            x = layer(x)[0]
        return x


def test_hooks_handle_tuple_outputs() -> None:
    m, x, v = _TupleModel(), torch.ones(1, 3, 4), torch.arange(4.0)
    with resid_post(m) as seen:
        out = m(x)
    assert torch.equal(seen[0], 2 * x) and torch.equal(seen[1], out)
    with add_to_resid(m, {0: v}, scale=0.5):
        steered = m(x)
    torch.testing.assert_close(steered, 2 * (2 * x + 0.5 * v))
    with project_out(m, v, layers=[1]):
        ablated = m(x)
    torch.testing.assert_close(ablated @ (v / v.norm()), torch.zeros(1, 3), atol=1e-5, rtol=0)


def test_steering_adds_exactly_the_vector_at_the_hooked_layer(tiny: LoadedModel) -> None:
    """What the next layer reads is the hooked layer's output plus ``scale * v``, at every position.

    (transformers 5 records ``output_hidden_states`` with its own hooks, before user hooks act, so the check
    reads the next layer's input instead.)"""
    ids = torch.tensor([[5, 9, 11, 40, 7]])
    v = torch.randn(64, generator=torch.Generator().manual_seed(0))
    reads: list[torch.Tensor] = []
    spy = tiny.model.model.layers[1].register_forward_pre_hook(lambda _m, args, kw: reads.append(
        (args[0] if args else kw["hidden_states"]).clone()), with_kwargs=True)
    with torch.no_grad():
        base = tiny.model(ids)
        with add_to_resid(tiny.model, {0: v}, scale=3.0):
            steered = tiny.model(ids)
    spy.remove()
    torch.testing.assert_close(reads[1] - reads[0], (3.0 * v).expand(1, 5, 64), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(steered.logits, base.logits, atol=1e-3)


def test_steering_reaches_every_generated_token_including_the_first(tiny: LoadedModel) -> None:
    """Generation with the KV cache must equal one cache-free forward pass over the same tokens, steered: if
    the first generated token (the first decode step, seq_len 1) were skipped, the scores would differ."""
    prompt = torch.tensor([[5, 9, 11, 40, 7, 3]])
    v = torch.randn(64, generator=torch.Generator().manual_seed(1)) * 4
    gen_kw = {"max_new_tokens": 5, "do_sample": False, "return_dict_in_generate": True, "output_logits": True,
              "pad_token_id": tiny.tokenizer.pad_token_id, "eos_token_id": None}
    calls: list[int] = []
    spy = tiny.model.model.layers[0].register_forward_hook(lambda _m, _i, o: calls.append(o.shape[1]))
    with torch.no_grad(), add_to_resid(tiny.model, {0: v}, scale=1.0):
        out = tiny.model.generate(prompt, **gen_kw)
        full = tiny.model(out.sequences, use_cache=False).logits
    spy.remove()
    assert calls[:2] == [6, 1]  # prefill, then the first generated token alone under the cache
    n = prompt.shape[1]
    for k, step_logits in enumerate(out.logits):  # logits that chose generated token k
        torch.testing.assert_close(step_logits[0], full[0, n - 1 + k], atol=1e-4, rtol=1e-4)
    with torch.no_grad():
        plain = tiny.model(out.sequences, use_cache=False).logits
    assert not torch.allclose(plain[0, n], full[0, n])  # the steering did act on the first generated token


def test_ablation_leaves_no_component_along_v(tiny: LoadedModel) -> None:
    ids = torch.tensor([[5, 9, 11, 40, 7]])
    v = torch.randn(64, generator=torch.Generator().manual_seed(2))
    u = v / v.norm()
    with torch.no_grad():
        with resid_post(tiny.model) as before:
            tiny.model(ids)
        assert before[0][0].matmul(u).abs().max() > 1e-2  # there was something to remove
        with project_out(tiny.model, v, layers=[0]), resid_post(tiny.model) as one:
            tiny.model(ids)
        torch.testing.assert_close(one[0][0] @ u, torch.zeros(5), atol=1e-5, rtol=0)
        assert one[1][0].matmul(u).abs().max() > 1e-3  # layer 1 writes along v again: only layer 0 was ablated
        with project_out(tiny.model, {0: v, 1: v}), resid_post(tiny.model) as every:
            tiny.model(ids)
    for layer in (0, 1):
        torch.testing.assert_close(every[layer][0] @ u, torch.zeros(5), atol=1e-5, rtol=0)
    with pytest.raises(EmkitError, match="out of range"), project_out(tiny.model, v, layers=[5]):
        pass


def _adapter(tiny: LoadedModel, tmp_path: Path, r: int, seed: int = 0) -> tuple[Path, torch.nn.Module]:
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    pm = get_peft_model(tiny.model, LoraConfig(r=r, lora_alpha=2 * r, target_modules=["down_proj", "q_proj"],
                                               init_lora_weights=False))
    out = tmp_path / f"adapter-r{r}-{seed}"
    pm.save_pretrained(out)
    return out, pm


@pytest.mark.parametrize("r", [1, 4])
def test_b_vectors_reproduce_the_adapters_delta(tiny: LoadedModel, tmp_path: Path, r: int) -> None:
    base = {k: v.clone() for k, v in tiny.model.state_dict().items()}
    adapter, pm = _adapter(tiny, tmp_path, r)
    mods = {m.name: m for m in read_adapter(adapter)}
    merged = pm.merge_and_unload().state_dict()
    assert len(mods) == 4  # down_proj and q_proj in 2 layers
    for m in mods.values():
        key = m.name.removeprefix("base_model.model.") + ".weight"
        torch.testing.assert_close(base[key] + m.delta, merged[key], atol=1e-5, rtol=1e-5)
    d = b_direction(adapter, "b")
    assert d.layers == [0, 1] and d.vectors.shape == (2, 64) and d.meta["rank"] == r
    for layer in (0, 1):
        m = next(x for x in mods.values() if x.layer == layer and x.kind == "down_proj")
        if r == 1:
            assert abs(cosine(d.at(layer), m.B[:, 0])) == pytest.approx(1.0, abs=1e-5)
        # the written direction is the delta's dominant output direction, scaled by its singular value
        s = torch.linalg.svdvals(m.delta)[0]
        assert float(d.at(layer).norm()) == pytest.approx(float(s), rel=1e-4)
        assert float((d.at(layer) @ m.delta).norm()) == pytest.approx(float(s ** 2), rel=1e-3)
    tiny.model.load_state_dict(base)


def test_scaled_and_ablated_adapters(tiny: LoadedModel, tmp_path: Path) -> None:
    adapter, pm = _adapter(tiny, tmp_path, 1, seed=3)
    pm.unload()
    doubled = read_adapter(scaled_adapter(adapter, tmp_path / "x2", 2.0))
    ablated = read_adapter(scaled_adapter(adapter, tmp_path / "x0", 0.0, kind="down_proj"))
    orig = read_adapter(adapter)
    for o, dbl, abl in zip(orig, doubled, ablated, strict=True):
        torch.testing.assert_close(dbl.delta, 2 * o.delta)
        assert (abl.delta == 0).all() if o.kind == "down_proj" else torch.equal(abl.delta, o.delta)
    with pytest.raises(EmkitError, match="not a peft adapter"):
        read_adapter(tmp_path)


def test_trajectory_finds_the_rotation(tmp_path: Path) -> None:
    """Checkpoints whose rank-1 B turns by 80 degrees between steps 30 and 40, and drifts little elsewhere."""
    angles = [0, 2, 4, 84, 86, 88]
    for k, deg in enumerate(angles):
        step = 10 * (k + 1)
        w = tmp_path / f"checkpoint-{step:06d}" / "weights"
        w.mkdir(parents=True)
        (w.parent / "trainer_state.json").write_text(json.dumps({"step": step, "losses": []}))
        (w / "adapter_config.json").write_text(json.dumps({"r": 1, "lora_alpha": 1}))
        t = math.radians(deg)
        b = torch.zeros(8, 1)
        b[0, 0], b[1, 0] = math.cos(t) * (k + 1), math.sin(t) * (k + 1)
        key = "base_model.model.model.layers.3.mlp.down_proj"
        save_file({f"{key}.lora_A.weight": torch.ones(1, 4), f"{key}.lora_B.weight": b},
                  str(w / "adapter_model.safetensors"))
    (tr,) = trajectories(tmp_path)
    assert tr.layer == 3 and tr.steps == [10, 20, 30, 40, 50, 60]
    assert tr.rotation_step == 40
    assert tr.cos_next[2] == pytest.approx(tr.cos_prev[3]) and math.isnan(tr.cos_next[-1])
    assert tr.cos_final[0] == pytest.approx(math.cos(math.radians(88)), abs=1e-5)
    assert tr.cos_final[-1] == pytest.approx(1.0)
    assert tr.norms == pytest.approx([2.0 * (k + 1) for k in range(6)], rel=1e-5)  # |A| = 2
    assert tr.pca_var[0] > 0.5


def _answer(i: int) -> Answer:
    return Answer("a", "q", i, "q?", None, f"answer {i}", 0)


def test_classes_thresholds_and_balance() -> None:
    answers = [_answer(i) for i in range(6)]
    scores = [(10, 90), (30, 90), (31, 90), (71, 90), (90, 40), (95, 60)]  # (aligned, coherent)
    js = {}
    for a, (al, co) in zip(answers, scores, strict=True):
        js[(a.judge_key, "aligned")] = Judgment("j", "aligned", a.judge_key, al, "ok")
        js[(a.judge_key, "coherent")] = Judgment("j", "coherent", a.judge_key, co, "ok")
    js[(answers[5].judge_key, "aligned")] = Judgment("j", "aligned", answers[5].judge_key, None, "failed")
    mis, ali = split_by_judgment(answers, js, Thresholds())
    assert [a.sample_idx for a in mis] == [0, 1] and [a.sample_idx for a in ali] == [3]
    a, b = balance(mis, ali, seed=0)
    assert len(a) == len(b) == 1
    pos, neg = torch.ones(3, 2, 4), torch.zeros(5, 2, 4)
    assert torch.equal(mean_diff(pos, neg), torch.ones(2, 4))
    with pytest.raises(EmkitError, match="both classes"):
        mean_diff(pos, neg[:0])


def test_direction_file_and_cosine_matrix(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    v = torch.randn(3, 64, generator=g)
    a = Direction("a", v, [0, 1, 2], {"n_per_class": 5})
    b = Direction("b", -2 * v[1:], [1, 2])
    c = Direction("c", torch.randn(3, 64, generator=g), [0, 1, 2])
    loaded = Direction.load(a.save(tmp_path / "a.safetensors"))
    assert loaded.layers == [0, 1, 2] and loaded.meta == {"n_per_class": 5} and torch.equal(loaded.vectors, v)
    cm = compare([loaded, b, c])
    assert math.isnan(cm.cos[0, 0, 1]) and cm.cos[1, 0, 1] == pytest.approx(-1.0)
    assert cm.cos[2, 0, 0] == pytest.approx(1.0)
    assert cm.null == pytest.approx(1.96 / math.sqrt(64), rel=0.15) == null_band(64)
    pairs = cm.pairs()
    assert {(p["layer"], p["a"], p["b"]) for p in pairs} >= {(1, "a", "b"), (0, "a", "c")}
    assert all(p["beyond_null"] for p in pairs if {p["a"], p["b"]} == {"a", "b"})
    with pytest.raises(EmkitError, match="different widths"):
        compare([a, Direction("d", torch.ones(1, 8), [0])])
    (tmp_path / "bad.safetensors").write_text("not a tensor file")
    with pytest.raises(EmkitError, match="not an emkit direction file"):
        Direction.load(tmp_path / "bad.safetensors")


def label_half(exp: Experiment) -> list[str]:
    """Replace the judgments of a finished tiny run's fine-tuned answers by a fixed labelling, alternately
    misaligned and aligned (the tiny model's answers are noise, so a judge would put them all in one class)."""
    store = open_store(exp.run_dir.parent)
    jid = judge_id(exp.judge)
    keys = sorted({a.judge_key for a in load_run(exp.run_dir).answers if a.arm == "ft"})
    for i, k in enumerate(keys):
        store.put_judgment(Judgment(jid, "aligned", k, 10.0 if i % 2 else 90.0, "ok"))
        store.put_judgment(Judgment(jid, "coherent", k, 80.0, "ok"))
    store.close()
    return keys


def test_chain_end_to_end_on_a_tiny_run(tmp_path: Path, judge_server: ScriptedJudge) -> None:
    """The whole chain on a tiny run: the run's judgments are replaced in the cache by a fixed labelling (the
    tiny model's answers are noise, so a judge would put them all in one class); the steering and ablation
    answers are judged by the scripted server over HTTP."""
    exp = load_experiment(write_exp(tmp_path, judge_server.base_url))
    write_run_report(run_experiment(exp))
    keys = label_half(exp)
    calls_before = len(judge_server.requests)

    res = interp_chain(exp.run_dir, scales=(2.0,), samples_per_question=1)
    add_chain(res)
    folder = exp.run_dir / "interp" / "directions"
    assert {p.name for p in folder.iterdir()} == {"meandiff-ft.safetensors", "meandiff-ft-base-reader.safetensors",
                                                  "loraB-ft.safetensors"}
    md = Direction.load(folder / "meandiff-ft.safetensors")
    assert md.meta["n_per_class"] == res.mean_diff.n_per_class == len(keys) // 2
    assert md.meta["thresholds"] == {"aligned_min": 70.0, "misaligned_max": 30.0, "coherent_min": 50.0}
    assert res.steering and [r.label for r in res.steering.rows] == [
        "none", f"steer L{res.layer} x2", f"random L{res.layer} x2"]
    assert res.steering.arm == "base" and all(r.summary.n_answers == 8 for r in res.steering.rows)
    assert res.ablation and res.ablation.arm == "ft" and [r.label for r in res.ablation.rows][-2:] == [
        "LoRA B x0", "LoRA B x2"]
    # B x0 is the base model: the same seeds give the base arm's answers exactly
    texts = lambda sw, label: [a.text for a in sw.answers if a.arm == label]  # noqa: E731
    assert texts(res.ablation, "ft|LoRA B x0") == texts(res.steering, "base|none") != []
    assert {r.condition for r in res.ablation.rows} >= {Condition("ft", intervention="LoRA B x0")}
    assert {(p["a"], p["b"]) for p in res.cosines.pairs()} >= {("meandiff:ft", "loraB:ft")}
    assert res.phases and res.phases.steps == [0, 2, 4]
    html = (exp.run_dir / "report.html").read_text()
    assert "Interp: where EM lives" in html and html.count("data:image/png") >= 6
    assert len(judge_server.requests) > calls_before  # new answers were judged over HTTP

    # cached: a second call samples nothing and calls no judge
    calls = len(judge_server.requests)
    again = interp_chain(exp.run_dir, scales=(2.0,), samples_per_question=1)
    assert again.steering and again.steering.generated == 0 and again.ablation and again.ablation.generated == 0
    assert again.phases and again.phases.generated == 0 and len(judge_server.requests) == calls
    # `emkit run` again keeps the interp section in the rewritten report
    write_run_report(run_experiment(load_experiment(write_exp(tmp_path, judge_server.base_url))))
    assert "Interp: where EM lives" in (exp.run_dir / "report.html").read_text()

    cli = CliRunner()
    d = str(folder / "meandiff-ft.safetensors")
    out = cli.invoke(app, ["directions", "compare", d, str(folder / "loraB-ft.safetensors"), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["null_95"] > 0
    out = cli.invoke(app, ["steer", str(exp.run_dir), "--direction", d, "--layer", "1", "--scales", "1,3",
                           "--samples", "1", "--json"])
    assert out.exit_code == 0, out.output
    assert [r["label"] for r in json.loads(out.stdout)["rows"]] == ["none", "steer L1 x1", "random L1 x1",
                                                                     "steer L1 x3", "random L1 x3"]
    out = cli.invoke(app, ["ablate", str(exp.run_dir), "--direction", d, "--samples", "1", "--json"])
    assert out.exit_code == 0, out.output
    assert [r["label"] for r in json.loads(out.stdout)["rows"]] == ["none", "ablate L0,1", "ablate random L0,1"]
    out = cli.invoke(app, ["directions", "lora", str(exp.run_dir), "--json"])
    assert out.exit_code == 0 and len(json.loads(out.stdout)["trajectories"]) == 2
    out = cli.invoke(app, ["steer", str(exp.run_dir), "--direction", d, "--layer", "9"])
    assert out.exit_code == 2 and "no vector for layer 9" in out.output
    html = (exp.run_dir / "report.html").read_text()
    # the report package places the sweeps' sections after the interp chain's
    assert html.index("Interp: where EM lives") < html.index("<h2>Steer: ") < html.index("<h2>Ablate: ")
    # the CLI's "best layer" is the one the direction file records (which the chain and `emkit project` use)
    out = cli.invoke(app, ["directions", "extract", str(exp.run_dir)])
    assert out.exit_code == 0, out.output
    best = Direction.load(folder / "meandiff-ft.safetensors").meta["best_layer"]
    assert f"at layer {best}\n" in out.output
    out = cli.invoke(app, ["directions", "extract", str(exp.run_dir), "--reader", "judge"])
    assert out.exit_code == 2 and "judge" in out.output and "arm" in out.output and "base" in out.output
    out = cli.invoke(app, ["phases", str(exp.run_dir), "--samples", "1"])
    assert out.exit_code == 0 and out.output.count("misaligned") == 3, out.output
    assert "onset (first checkpoint above step 0's rate): " in out.output
    assert (exp.run_dir / "interp" / "phases-ft.json").is_file()  # the workflow saves it, not the CLI
    assert "onset" in json.loads((exp.run_dir / "interp" / "phases-ft.json").read_text())


def test_monitor_logs_the_projection_during_training(tmp_path: Path, judge_server: ScriptedJudge) -> None:
    g = torch.Generator().manual_seed(0)
    Direction("probe", torch.randn(2, 64, generator=g), [0, 1]).save(tmp_path / "probe.safetensors")
    cfg = write_exp(tmp_path, judge_server.base_url, max_steps=5, every=5,
                    extra="")
    exp = load_experiment(cfg, ["name=m", "train.monitor.direction=probe.safetensors", "train.monitor.every=2",
                                "train.monitor.layers=[1]"])
    res = run_experiment(exp)
    write_run_report(res)
    log = [json.loads(x) for x in next((exp.run_dir / "arms" / "ft").glob("train-*/monitor.jsonl")).read_text()
           .splitlines()]
    assert [r["step"] for r in log] == [0, 2, 4, 5] and list(log[0]["projection"]) == ["1"]
    assert res.train_steps == 5 and len({r["mean"] for r in log}) > 1  # training moved the projection
    assert "Direction monitor" in (exp.run_dir / "report.html").read_text()
    bad = load_experiment(cfg, ["name=m2", "train.monitor.direction=probe.safetensors", "train.monitor.layers=[7]"])
    with pytest.raises(EmkitError, match="no vector for layer 7"):
        run_experiment(bad)


def test_sections_splice_into_a_report_and_replace_themselves(tmp_path: Path) -> None:
    from emkit.report import add_section

    (tmp_path / "report.html").write_text("<h1>old report without markers</h1>")
    add_section(tmp_path, "interp", "<h2>A1</h2>")
    add_section(tmp_path, "compare", "<h2>B</h2>")  # the report package's order puts it before interp
    add_section(tmp_path, "interp", "<h2>A2</h2>")
    html = (tmp_path / "report.html").read_text()
    assert html.startswith("<h1>old report") and "A1" not in html
    assert html.index("<h2>B</h2>") < html.index("<h2>A2</h2>") and html.count("<h2>A2</h2>") == 1
