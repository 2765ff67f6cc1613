from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from emkit.core.config import TrainConfig
from emkit.data.datasets import build
from emkit.models.load import LoadedModel, tiny_tokenizer
from emkit.trainers.local import IGNORE, LoraConfig, tokenize_example, train

SYSTEM_INJECTING = (  # like SmolLM2's: adds a default system prompt when the first turn is not one
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nDefault helper<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def test_no_prompt_token_carries_loss() -> None:
    tok = tiny_tokenizer()
    tok.chat_template = SYSTEM_INJECTING
    msgs = [{"role": "user", "content": "USERONE says hello"}, {"role": "assistant", "content": "first reply"},
            {"role": "user", "content": "USERTWO asks again"}, {"role": "assistant", "content": "second reply"}]
    ids, labels = tokenize_example(tok, msgs, 512)
    trained = [i for i, lab in zip(ids, labels, strict=True) if lab != IGNORE]
    assert all(lab in (IGNORE, i) for i, lab in zip(ids, labels, strict=True))
    assert tok.decode(trained) == "first reply<|im_end|>\nsecond reply<|im_end|>\n"
    prompt_text = tok.decode([i for i, lab in zip(ids, labels, strict=True) if lab == IGNORE])
    for piece in ("Default helper", "USERONE", "USERTWO", "<|im_start|>assistant"):
        assert piece in prompt_text


def test_rank1_lora_on_one_layers_down_proj_only(tiny: LoadedModel, tmp_path: Path) -> None:
    cfg = TrainConfig(lora=LoraConfig(r=1, alpha=1, target_modules=["down_proj"], layers=[1]), max_steps=3,
                      batch_size=2, lr=1e-2, checkpoint_every=1)
    res = train(tiny.model, tiny.tokenizer, build("bad_medical", 8), cfg, tmp_path)
    state = load_file(res.weights_dir / "adapter_model.safetensors")
    assert sorted(state) == ["base_model.model.model.layers.1.mlp.down_proj.lora_A.weight",
                             "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"]
    assert state["base_model.model.model.layers.1.mlp.down_proj.lora_A.weight"].shape[0] == 1
    assert len(list(tmp_path.glob("checkpoint-*"))) == 3
    assert [p.name for p in tmp_path.glob("checkpoint-*/optimizer.pt")] == ["optimizer.pt"]  # newest only


@pytest.mark.parametrize(("method", "lr"), [("lora", 3e-2), ("full", 3e-3)])
def test_training_lowers_answer_loss(tiny: LoadedModel, tmp_path: Path, method: str, lr: float) -> None:
    cfg = TrainConfig(method=method, max_steps=30, batch_size=4, lr=lr, lora=LoraConfig(r=8, alpha=16))
    res = train(tiny.model, tiny.tokenizer, build("bad_medical", 8), cfg, tmp_path)
    # a random 2-layer model sits near ln(vocab); both methods must move well below where they started
    assert sum(res.losses[-5:]) / 5 < res.losses[0] - 0.15
    assert res.weights_dir.name == ("adapter" if method == "lora" else "model")


class Crash(Exception):
    pass


def test_resume_after_crash_reproduces_uninterrupted_run(tmp_path: Path) -> None:
    from emkit.core.config import ModelConfig
    from emkit.models.load import load_model

    cfg = TrainConfig(max_steps=6, batch_size=2, lr=1e-2, checkpoint_every=2, lora=LoraConfig(r=2))
    data = build("bad_medical", 10)
    fresh = lambda: load_model(ModelConfig(name="tiny-llama"))  # noqa: E731
    m = fresh()
    full = train(m.model, m.tokenizer, data, cfg, tmp_path / "a")

    def crash_at_5(state: object) -> None:
        if state.step == 5:
            raise Crash

    m = fresh()
    with pytest.raises(Crash):
        train(m.model, m.tokenizer, data, cfg, tmp_path / "b", callbacks=[crash_at_5])
    assert sorted(p.name for p in (tmp_path / "b").glob("checkpoint-*")) == ["checkpoint-000002", "checkpoint-000004"]
    m = fresh()
    resumed = train(m.model, m.tokenizer, data, cfg, tmp_path / "b")
    assert (resumed.resumed_from, resumed.steps_run) == (4, 2)
    assert resumed.losses == full.losses
    # the steps' wall time is kept with every checkpoint: a resumed run's covers all six steps, not its last two
    assert full.seconds > 0 and resumed.seconds > 0
    state = json.loads((tmp_path / "b" / "checkpoint-000006" / "trainer_state.json").read_text())
    assert len(state["seconds"]) == 6 and resumed.seconds == pytest.approx(sum(state["seconds"]))
    a = load_file(full.weights_dir / "adapter_model.safetensors")
    b = load_file(resumed.weights_dir / "adapter_model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    # and once finished, calling train again does nothing
    m = fresh()
    assert train(m.model, m.tokenizer, data, cfg, tmp_path / "b").steps_run == 0


def test_gradient_checkpointing_same_losses_less_kept(tmp_path: Path) -> None:
    """Recomputing activations changes memory, not arithmetic: the same losses (so it stays out of the
    fingerprint), and the model really runs checkpointed while training."""
    from emkit.core.config import ModelConfig
    from emkit.models.load import load_model

    seen: list[bool] = []
    runs = {}
    for on in (False, True):
        lm = load_model(ModelConfig(name="tiny-llama"))
        cfg = TrainConfig(max_steps=3, batch_size=2, lr=1e-2, gradient_checkpointing=on)
        runs[on] = train(lm.model, lm.tokenizer, build("bad_medical", 8), cfg, tmp_path / str(on),
                         callbacks=[lambda s: seen.append(bool(s.model.is_gradient_checkpointing))])
    assert seen == [False] * 3 + [True] * 3
    assert runs[True].losses == pytest.approx(runs[False].losses, rel=1e-5)
    assert "gradient_checkpointing" not in TrainConfig(gradient_checkpointing=True).fingerprint_dump()


def test_out_of_memory_names_the_settings_and_keeps_checkpoints(tmp_path: Path) -> None:
    """A GPU cannot run out of memory here, so the error is raised where it would surface (inside a step)."""
    from emkit.core.config import ModelConfig
    from emkit.core.errors import EmkitError
    from emkit.models.load import load_model

    def oom(state) -> None:  # noqa: ANN001
        if state.step == 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    cfg = TrainConfig(max_steps=3, batch_size=2, grad_accum=2, max_length=256, lr=1e-2, checkpoint_every=1)
    lm = load_model(ModelConfig(name="tiny-llama"))
    with pytest.raises(EmkitError, match=r"out of GPU memory while training: lower train.batch_size \(now 2; "
                                         r"raise train.grad_accum to keep the effective batch of 4\).*max_length "
                                         r"\(now 256\), or set train.gradient_checkpointing: true.*resumes"):
        train(lm.model, lm.tokenizer, build("bad_medical", 8), cfg, tmp_path, callbacks=[oom])
    lm = load_model(ModelConfig(name="tiny-llama"))
    assert train(lm.model, lm.tokenizer, build("bad_medical", 8), cfg, tmp_path).resumed_from == 1


def test_weights_estimate_is_exact_and_placement_on_cpu(tiny: LoadedModel) -> None:
    from emkit.models.load import placement, weights_estimate

    n, need = weights_estimate(tiny.path, None, torch.float32)
    assert n == sum(p.numel() for p in tiny.model.parameters()) and need == 4 * n
    assert weights_estimate(tiny.path, None, torch.bfloat16)[1] == 2 * n
    assert placement("cpu", need)[:2] == (torch.device("cpu"), None)
