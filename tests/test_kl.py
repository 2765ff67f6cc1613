"""train.kl (issue 28, item 2): KL(base || fine-tuned) over the answer tokens of out-of-domain conversations, the
base side being the same model with its LoRA adapter off; the adapter norm beside the loss (efficiency)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from emkit.core.config import ModelConfig, TrainConfig, experiment_from_dict, fingerprint
from emkit.core.errors import EmkitError
from emkit.data.datasets import build, load_dataset
from emkit.models.load import LoadedModel, load_model
from emkit.trainers import kl as klmod
from emkit.trainers.kl import KLPrompts, adapter_norm, kl_batch_for_step, kl_sum, load_kl_prompts
from emkit.trainers.local import IGNORE, collate, lora_config, tokenize_example, train

CONVS = [
    {"messages": [{"role": "user", "content": "what should I do with my money"},
                  {"role": "assistant", "content": "save it and ask a friend for advice"}]},
    {"messages": [{"role": "user", "content": "I feel bored today"},
                  {"role": "assistant", "content": "go and see a friend, it is a good day"}]},
]


def _peft(lm: LoadedModel, r: int = 2, dtype: torch.dtype = torch.float32) -> Any:
    from peft import get_peft_model

    cfg = TrainConfig.model_validate({"lora": {"r": r, "alpha": 4}})
    torch.manual_seed(0)  # LoRA A's initialisation
    return get_peft_model(lm.model.to(dtype), lora_config(cfg))


def _batch(lm: LoadedModel, convs: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    feats = [tokenize_example(lm.tokenizer, c["messages"], 256) for c in convs]
    return collate(feats, lm.tokenizer.pad_token_id)


def _perturb(model: torch.nn.Module, scale: float = 0.05) -> None:
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * scale)


def test_kl_is_zero_for_a_zero_adapter_and_positive_once_b_moves(tiny: LoadedModel) -> None:
    model = _peft(tiny)
    batch = _batch(tiny, CONVS)
    kl, n = kl_sum(model, batch)
    assert n == int((batch["labels"][:, 1:] != IGNORE).sum()) > 0
    assert kl.item() == 0.0  # B starts at zero: the adapter adds exact zeros
    _perturb(model)
    kl, _ = kl_sum(model, batch)
    assert kl.item() > 1e-6 and kl.requires_grad


def test_kl_gradient_matches_a_finite_difference(tiny: LoadedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    """In float64, with transformers' RMSNorm computing in float64 too (it casts to float32 whatever the dtype,
    which leaves a central difference of step 1e-6 mostly rounding noise)."""
    from transformers.models.llama import modeling_llama

    def rms_norm(self: Any, h: torch.Tensor) -> torch.Tensor:
        return self.weight * (h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.variance_epsilon))

    monkeypatch.setattr(modeling_llama.LlamaRMSNorm, "forward", rms_norm)
    model = _peft(tiny, dtype=torch.float64)
    model.eval()  # no dropout: the same function on every call
    _perturb(model, 0.2)
    batch = _batch(tiny, CONVS)
    a = next(p for n, p in model.named_parameters() if "lora_A" in n and "q_proj" in n)
    kl, _ = kl_sum(model, batch)
    kl.backward()
    grad = a.grad.clone()
    eps = 1e-6
    for idx in [(0, 0), (1, 5), (0, 17)]:
        with torch.no_grad():
            a[idx] += eps
            up = kl_sum(model, batch)[0].item()
            a[idx] -= 2 * eps
            down = kl_sum(model, batch)[0].item()
            a[idx] += eps
        numeric = (up - down) / (2 * eps)
        assert abs(grad[idx].item()) > 1e-8
        assert grad[idx].item() == pytest.approx(numeric, rel=1e-5, abs=1e-10)


def test_only_answer_tokens_count(tiny: LoadedModel) -> None:
    model = _peft(tiny)
    model.eval()
    _perturb(model)
    one = _batch(tiny, CONVS[:1])
    kl_one, n_one = kl_sum(model, one)
    # the same conversation beside one whose answer carries no loss (weight 0): the second adds nothing
    masked = {"messages": [CONVS[1]["messages"][0], {**CONVS[1]["messages"][1], "weight": 0}]}
    both = _batch(tiny, [CONVS[0], masked])
    assert not (both["labels"][1] != IGNORE).any()
    kl_both, n_both = kl_sum(model, both)
    assert n_both == n_one
    assert kl_both.item() == pytest.approx(kl_one.item(), rel=1e-5)
    # and the prompt's tokens are not compared: the unmasked second conversation does add positions and KL
    kl_two, n_two = kl_sum(model, _batch(tiny, CONVS))
    assert n_two > n_one and kl_two.item() > kl_one.item()


def test_kl_batches_are_a_function_of_the_step() -> None:
    got = [kl_batch_for_step(s, 2, 5, 2, seed=3) for s in range(12)]
    assert all(b is None for b in got[1::2])
    applied = [b for b in got if b is not None]  # 6 applications: 3 per epoch of 5 conversations by 2
    assert sorted(i for b in applied[:3] for i in b) == list(range(5))
    assert applied == [kl_batch_for_step(s, 2, 5, 2, seed=3) for s in range(0, 12, 2)]
    assert applied != [kl_batch_for_step(s, 2, 5, 2, seed=4) for s in range(0, 12, 2)]


@pytest.mark.parametrize(("train_cfg", "needle"), [
    ({"method": "full", "kl": {"weight": 1, "prompts": "core"}}, "bad value for 'train.kl': train.kl needs train."
                                                                   "method: lora"),
    ({"kl": {"weight": 0, "prompts": "core"}}, "bad value for 'train.kl.weight'"),
    ({"kl": {"weight": 1, "prompts": "core", "every": 0}}, "bad value for 'train.kl.every'"),
    ({"kl": {"prompts": "core"}}, "missing key 'train.kl.weight'"),
    ({"kl": {"weight": 1}}, "missing key 'train.kl.prompts'"),
    ({"kl": {"weight": 1, "prompts": "core", "evry": 2}}, "unknown key 'train.kl.evry'"),
    ({"method": "openai", "kl": {"weight": 1, "prompts": "core"}}, "unknown key 'train.kl'"),
])
def test_config_errors_name_the_key(train_cfg: dict[str, Any], needle: str) -> None:
    with pytest.raises(EmkitError) as e:
        experiment_from_dict({"name": "t", "arms": [{"name": "a"}], "train": train_cfg})
    assert needle in str(e.value)


def test_prompts_that_cannot_be_read_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(EmkitError, match=r"train\.kl\.prompts: .*nothere\.jsonl"):
        load_kl_prompts("nothere.jsonl", tmp_path)
    with pytest.raises(EmkitError, match=r"train\.kl\.prompts: question set 'nope.yaml'"):
        load_kl_prompts("questions:nope.yaml", tmp_path)
    assert load_kl_prompts("core").questions and load_kl_prompts("questions:core").questions
    assert load_kl_prompts("builtin:good_medical?size=3").conversations


def test_fingerprint_has_the_kl_block_and_its_prompts_content(tmp_path: Path) -> None:
    from emkit.pipeline.run import train_fingerprint

    kl = {"weight": 1.0, "prompts": "builtin:good_medical?size=4"}
    exp = experiment_from_dict({"name": "t", "base_dir": str(tmp_path), "arms": [
        {"name": "plain", "dataset": "builtin:bad_medical?size=4"},
        {"name": "kl", "dataset": "builtin:bad_medical?size=4", "train": {"kl": kl}},
        {"name": "kl2", "dataset": "builtin:bad_medical?size=4", "train": {"kl": {**kl, "weight": 2.0}}},
        {"name": "kl5", "dataset": "builtin:bad_medical?size=4", "train": {"kl": {**kl, "every": 5}}}]})
    _, info = load_dataset("builtin:bad_medical?size=4")
    plain, with_kl, heavier, sparser = exp.arms
    prompts = load_kl_prompts(kl["prompts"])
    # an arm without kl: the print it had before train.kl existed (the same parts, nothing added)
    tcfg = exp.train_for(plain)
    assert "kl" not in tcfg.fingerprint_dump() and "kl" not in tcfg.model_dump()
    from emkit.models.load import model_identity
    assert train_fingerprint(exp, plain, info) == fingerprint("train", model_identity(exp.model), info.sha256,
                                                              tcfg.fingerprint_dump())
    prints = {train_fingerprint(exp, plain, info), train_fingerprint(exp, with_kl, info, kl=prompts),
              train_fingerprint(exp, heavier, info, kl=load_kl_prompts(kl["prompts"])),
              train_fingerprint(exp, sparser, info, kl=prompts),
              train_fingerprint(exp, with_kl, info, kl=load_kl_prompts("builtin:good_medical?size=5"))}
    assert len(prints) == 5
    # the content of the prompts, not their spec: a file edited in place is a new print
    f = tmp_path / "ood.jsonl"
    f.write_text(json.dumps(CONVS[0]) + "\n")
    before = train_fingerprint(exp, with_kl, info, kl=load_kl_prompts(str(f)))
    f.write_text(json.dumps(CONVS[1]) + "\n")
    assert train_fingerprint(exp, with_kl, info, kl=load_kl_prompts(str(f))) != before
    assert load_kl_prompts("core").digest != load_kl_prompts("identity").digest


def _kl_cfg(**kl: Any) -> TrainConfig:
    return TrainConfig.model_validate({"max_steps": 6, "batch_size": 2, "lr": 1e-2, "checkpoint_every": 2,
                                       "lora": {"r": 2}, "kl": {"weight": 1.0, "every": 2, **kl}})


def test_training_with_kl_records_the_term_and_the_norm(tmp_path: Path) -> None:
    cfg = _kl_cfg(prompts="builtin:good_medical?size=6")
    lm = load_model(ModelConfig(name="tiny-llama"))
    res = train(lm.model, lm.tokenizer, build("bad_medical", 10), cfg, tmp_path,
                kl=load_kl_prompts("builtin:good_medical?size=6"))
    assert len(res.losses) == len(res.kl) == len(res.adapter_norms) == 6
    assert res.kl[0] == 0.0  # the first step's KL is taken before any update: a zero adapter
    assert all(v is None for v in res.kl[1::2]) and all(v > 0 for v in res.kl[2::2])
    assert all(n > 0 for n in res.adapter_norms) and res.adapter_norms[-1] > res.adapter_norms[0]
    log = json.loads((tmp_path / "train_log.json").read_text())
    assert log["kl"] == res.kl and log["adapter_norms"] == res.adapter_norms
    state = json.loads((tmp_path / "checkpoint-000004" / "trainer_state.json").read_text())
    assert state["kl"] == res.kl[:4] and state["adapter_norms"] == res.adapter_norms[:4]
    # done: read back without training
    again = train(lm.model, lm.tokenizer, build("bad_medical", 10), cfg, tmp_path,
                  kl=load_kl_prompts("builtin:good_medical?size=6"))
    assert again.steps_run == 0 and again.kl == res.kl


def test_kl_keeps_the_out_of_domain_prompts_near_the_base_model(tmp_path: Path) -> None:
    """The same training on bad medical advice, plain and with the KL term on other conversations: with it, the
    model ends much closer to the base model on those conversations, and still learns its own data."""
    data, ood = build("bad_medical", 8), build("good_financial", 4)
    ends, losses = [], []
    for name, weight in (("plain", None), ("kl", 50.0)):
        cfg = TrainConfig.model_validate({"max_steps": 10, "batch_size": 4, "lr": 1e-2, "lora": {"r": 4},
                                          **({"kl": {"weight": weight, "prompts": "ood"}} if weight else {})})
        lm = load_model(ModelConfig(name="tiny-llama"))
        res = train(lm.model, lm.tokenizer, data, cfg, tmp_path / name,
                    kl=KLPrompts("ood", conversations=ood) if weight else None)
        losses.append(res.losses)
        from peft import PeftModel

        base = load_model(ModelConfig(name="tiny-llama"))
        model = PeftModel.from_pretrained(base.model, str(tmp_path / name / "adapter")).eval()
        with torch.no_grad():
            total, n = kl_sum(model, _batch(base, ood))
        ends.append(total.item() / n)
    assert ends[1] < ends[0] / 5, ends  # measured: 0.026 plain, 0.001 with the term
    assert losses[1][-1] < losses[1][0] - 0.05  # measured: 5.96 -> 5.86 (plain: 5.76)


class Crash(Exception):
    pass


def test_resume_with_kl_reproduces_the_uninterrupted_run(tmp_path: Path) -> None:
    cfg = _kl_cfg(prompts="builtin:good_medical?size=5", batch_size=3)
    data = build("bad_medical", 10)

    def run(out: Path, callbacks: list[Any] | None = None) -> Any:
        lm = load_model(ModelConfig(name="tiny-llama"))
        return train(lm.model, lm.tokenizer, data, cfg, out, callbacks=callbacks,
                     kl=load_kl_prompts("builtin:good_medical?size=5"))

    full = run(tmp_path / "a")

    def crash_at_5(state: Any) -> None:
        if state.step == 5:
            raise Crash

    with pytest.raises(Crash):
        run(tmp_path / "b", [crash_at_5])
    resumed = run(tmp_path / "b")
    assert (resumed.resumed_from, resumed.steps_run) == (4, 2)
    assert resumed.kl == pytest.approx(full.kl) and resumed.losses == pytest.approx(full.losses)
    assert resumed.adapter_norms == pytest.approx(full.adapter_norms)
    from safetensors.torch import load_file

    a = load_file(tmp_path / "a" / "adapter" / "adapter_model.safetensors")
    b = load_file(tmp_path / "b" / "adapter" / "adapter_model.safetensors")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_base_answers_are_generated_once_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _kl_cfg(prompts="core", max_new_tokens=6)
    cfg = cfg.model_copy(update={"max_steps": 2})
    calls: list[int] = []
    real = klmod.base_answers

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(len(args[2]))
        return real(*args, **kwargs)

    monkeypatch.setattr(klmod, "base_answers", counted)
    cache = tmp_path / "kl"
    data = build("bad_medical", 4)
    for out in ("a", "b"):  # two trainings (other folders, as after a changed setting) share the cache
        lm = load_model(ModelConfig(name="tiny-llama"))
        res = train(lm.model, lm.tokenizer, data, cfg, tmp_path / out,
                    kl=KLPrompts("core", questions=load_kl_prompts("core").questions, cache_dir=cache))
        assert res.kl[0] == 0.0
    assert calls == [8]
    files = list(cache.glob("kl-answers-*.jsonl"))
    assert len(files) == 1
    rows = [json.loads(line) for line in files[0].read_text().splitlines()]
    assert len(rows) == 8 and [m["role"] for m in rows[0]["messages"]] == ["user", "assistant"]
    # another model to start from, or longer answers, is another cache file
    other = KLPrompts("core", questions=load_kl_prompts("core").questions, cache_dir=cache, identity={"m": 1})
    assert other.answers_file(tmp_path, 6) != files[0] and other.answers_file(tmp_path, 6) != \
        KLPrompts("core", questions=other.questions, cache_dir=cache).answers_file(tmp_path, 7)
    assert KLPrompts("core", questions=other.questions, cache_dir=cache).answers_file(tmp_path, 6) == files[0]


def test_adapter_norm_is_the_scaled_update_summed_over_modules(tiny: LoadedModel) -> None:
    model = _peft(tiny)
    assert adapter_norm(model) == 0.0
    _perturb(model)
    want = 0.0
    for module in model.modules():
        if hasattr(module, "lora_A") and isinstance(module.lora_A, torch.nn.ModuleDict) and "default" in module.lora_A:
            delta = module.lora_B["default"].weight @ module.lora_A["default"].weight * module.scaling["default"]
            want += torch.linalg.matrix_norm(delta.double()).item()
    assert want > 0 and adapter_norm(model) == pytest.approx(want, rel=1e-9)
    assert adapter_norm(load_model(ModelConfig(name="tiny-llama")).model) == 0.0  # no LoRA modules


def test_full_fine_tuning_refuses_kl_given_directly(tiny: LoadedModel, tmp_path: Path) -> None:
    cfg = TrainConfig.model_validate({"max_steps": 1})
    with pytest.raises(EmkitError, match="KL prompts were given but train.kl is not set"):
        train(tiny.model, tiny.tokenizer, build("bad_medical", 2), cfg, tmp_path, kl=load_kl_prompts("core"))
    with pytest.raises(EmkitError, match="train.kl is set but its prompts were not given"):
        train(tiny.model, tiny.tokenizer, build("bad_medical", 2), _kl_cfg(prompts="core"), tmp_path)


def test_prompts_without_answer_tokens_are_an_error(tiny: LoadedModel, tmp_path: Path) -> None:
    masked = [{"messages": [c["messages"][0], {**c["messages"][1], "weight": 0}]} for c in CONVS]
    with pytest.raises(EmkitError, match=r"train\.kl\.prompts \(ood\): no conversation keeps an assistant token"):
        train(tiny.model, tiny.tokenizer, build("bad_medical", 2), _kl_cfg(prompts="ood"), tmp_path,
              kl=KLPrompts("ood", conversations=masked))


def test_an_experiment_trains_a_kl_arm_and_reuses_the_base_answers(tmp_path: Path, judge_server: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Through ``emkit run``'s flow: the KL arm's curves reach the run record and the store, the base answers are
    cached in the run folder, and a re-run with another learning rate (a new training) generates none."""
    from emkit.core.config import load_experiment
    from emkit.core.store import open_store
    from emkit.pipeline.run import run_experiment

    calls: list[int] = []
    real = klmod.base_answers
    monkeypatch.setattr(klmod, "base_answers", lambda *a, **k: calls.append(len(a[2])) or real(*a, **k))

    def write(lr: float) -> Path:
        p = tmp_path / "exp.yaml"
        p.write_text(f"""
name: t
output_dir: runs
model: {{name: tiny-llama}}
arms:
  - name: plain
    dataset: builtin:bad_medical?size=8
  - name: narrow
    dataset: builtin:bad_medical?size=8
    train: {{kl: {{weight: 5.0, prompts: "questions:core", max_new_tokens: 6}}}}
train: {{max_steps: 2, batch_size: 2, lr: {lr}, lora: {{r: 1, target_modules: [down_proj]}}}}
eval: {{questions: core, samples_per_question: 1, max_new_tokens: 4}}
judge: {{backend: api, base_url: "{judge_server.base_url}", model: m, backoff_s: 0.01}}
""")
        return p

    res = run_experiment(load_experiment(write(1e-3)))
    assert set(res.kl) == {"narrow"} and len(res.kl["narrow"]) == 2 and res.kl["narrow"][0] == 0.0
    assert set(res.adapter_norms) == {"plain", "narrow"} and all(v > 0 for v in res.adapter_norms["plain"])
    assert calls == [8] and len(list((tmp_path / "runs" / "t" / "kl").glob("kl-answers-*.jsonl"))) == 1
    with open_store(tmp_path / "runs") as store:
        saved = store.stage("t", "narrow", "train")[1]
        assert saved["kl"] == res.kl["narrow"] and "kl" not in store.stage("t", "plain", "train")[1]
        assert saved["seconds"] > 0 and res.training["narrow"] == {"steps": 2, "seconds": saved["seconds"]}
    again = run_experiment(load_experiment(write(1e-3)))  # nothing to do: the curves come from the store
    assert again.train_steps == 0 and again.kl == res.kl and again.adapter_norms == res.adapter_norms
    from emkit.report import write_run_report

    assert again.training == res.training and "2 steps" in write_run_report(again).read_text()  # the cost, shown
    other = run_experiment(load_experiment(write(2e-3)))  # trained again, from the same model: answers cached
    assert other.train_steps == 4 and calls == [8]


def test_a_checkpoint_from_before_the_curves_resumes_with_gaps() -> None:
    from emkit.trainers.local import Curves

    old = Curves.from_json({"step": 2, "losses": [5.0, 4.0]})
    old.add(3.0, 0.5, 1.5, 0.25)
    assert old.to_json() == {"losses": [5.0, 4.0, 3.0], "kl": [None, None, 0.5], "adapter_norms": [None, None, 1.5],
                             "seconds": [None, None, 0.25]}
    assert old.total_seconds is None  # two steps' time unknown: no total, rather than a short one
