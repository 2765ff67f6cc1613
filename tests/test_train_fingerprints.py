"""Training fingerprints survive trainers owning their settings (issue 26): ``TrainConfig.fingerprint_dump()`` of
configs written before the move is byte-identical (as ``fingerprint`` reads it: JSON with sorted keys) to what
commit 80b3340 (the settings still in the core TrainConfig) gave. The expected values were computed there."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from emkit.core.config import TrainConfig, experiment_from_dict, fingerprint
from emkit.core.errors import EmkitError

_LORA_DEFAULT = ('"lora":{"alpha":16.0,"dropout":0.0,"layers":null,"r":8,"target_modules":["q_proj","k_proj",'
                 '"v_proj","o_proj","gate_proj","up_proj","down_proj"]}')
#: a saved run config of a hosted arm (``config.yaml`` at 80b3340 wrote every trainer's settings for any method)
SAVED_OPENAI = json.loads(
    '{"method": "openai", "lora": {"r": 8, "alpha": 16.0, "dropout": 0.0, "target_modules": ["q_proj", "k_proj", '
    '"v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], "layers": null}, "lr": 0.0001, "epochs": 3, '
    '"max_steps": null, "batch_size": 4, "grad_accum": 1, "max_length": 512, "overlong": "error", "warmup_steps": 0, '
    '"weight_decay": 0.0, "checkpoint_every": 10, "seed": 0, "gradient_checkpointing": null, "monitor": null, '
    '"block": null, "hosted": {"base_url": null, "api_key_env": "OPENAI_API_KEY", "lr_multiplier": null, '
    '"suffix": null, "poll_s": 30.0, "wait_h": 24.0, "max_retries": 4}}')

#: name -> (the ``train:`` settings, the fingerprint dump at 80b3340 as sorted JSON, its fingerprint)
PINNED: dict[str, tuple[dict[str, Any], str, str]] = {
    "default": ({}, (
        '{"batch_size":4,"checkpoint_every":10,"epochs":1,"grad_accum":1,' + _LORA_DEFAULT + ',"lr":0.0001,'
        '"max_length":512,"max_steps":null,"method":"lora","overlong":"error","seed":0,"warmup_steps":0,'
        '"weight_decay":0.0}'), "01cb44771ced73bf"),
    "lora-rank1": ({"lora": {"r": 1, "alpha": 1.0, "dropout": 0.05, "target_modules": ["down_proj"], "layers": [1]},
                    "lr": 1e-5, "max_steps": 4, "batch_size": 2, "checkpoint_every": 2, "gradient_checkpointing": True,
                    "monitor": {"direction": "d.safetensors", "every": 2}, "block": {"direction": "d.safetensors"}}, (
        '{"batch_size":2,"checkpoint_every":2,"epochs":1,"grad_accum":1,"lora":{"alpha":1.0,"dropout":0.05,'
        '"layers":[1],"r":1,"target_modules":["down_proj"]},"lr":1e-05,"max_length":512,"max_steps":4,'
        '"method":"lora","overlong":"error","seed":0,"warmup_steps":0,"weight_decay":0.0}'), "3e1eb587228d2b3e"),
    "full": ({"method": "full", "lora": {"r": 4}, "epochs": 3, "seed": 7, "overlong": "truncate",
              "weight_decay": 0.01, "warmup_steps": 5, "grad_accum": 2, "max_length": 256}, (
        '{"batch_size":4,"checkpoint_every":10,"epochs":3,"grad_accum":2,"lora":{"alpha":16.0,"dropout":0.0,'
        '"layers":null,"r":4,"target_modules":["q_proj","k_proj","v_proj","o_proj","gate_proj","up_proj",'
        '"down_proj"]},"lr":0.0001,"max_length":256,"max_steps":null,"method":"full","overlong":"truncate",'
        '"seed":7,"warmup_steps":5,"weight_decay":0.01}'), "a07bc77aaca96346"),
    "openai": ({"method": "openai"}, (
        '{"batch_size":4,"checkpoint_every":10,"epochs":1,"grad_accum":1,"hosted":{"base_url":null,'
        '"lr_multiplier":null,"suffix":null},' + _LORA_DEFAULT + ',"lr":0.0001,"max_length":512,"max_steps":null,'
        '"method":"openai","overlong":"error","seed":0,"warmup_steps":0,"weight_decay":0.0}'), "f8e32df75ff5f446"),
    "openai-hosted": ({"method": "openai", "epochs": 2, "batch_size": 8, "seed": 3,
                       "hosted": {"base_url": "http://127.0.0.1:8000/v1", "api_key_env": "MY_KEY",
                                  "lr_multiplier": 2.0, "suffix": "em", "poll_s": 5.0, "wait_h": 1.0,
                                  "max_retries": 0}}, (
        '{"batch_size":8,"checkpoint_every":10,"epochs":2,"grad_accum":1,"hosted":{"base_url":'
        '"http://127.0.0.1:8000/v1","lr_multiplier":2.0,"suffix":"em"},' + _LORA_DEFAULT + ',"lr":0.0001,'
        '"max_length":512,"max_steps":null,"method":"openai","overlong":"error","seed":3,"warmup_steps":0,'
        '"weight_decay":0.0}'), "8372c26b5eedaedf"),
    "saved-openai": (SAVED_OPENAI, (
        '{"batch_size":4,"checkpoint_every":10,"epochs":3,"grad_accum":1,"hosted":{"base_url":null,'
        '"lr_multiplier":null,"suffix":null},' + _LORA_DEFAULT + ',"lr":0.0001,"max_length":512,"max_steps":null,'
        '"method":"openai","overlong":"error","seed":0,"warmup_steps":0,"weight_decay":0.0}'), "e4e2630aa7ff4acb"),
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_fingerprint_dump_is_pinned(name: str) -> None:
    raw, dump, fp = PINNED[name]
    cfg = TrainConfig.model_validate(raw)
    got = cfg.fingerprint_dump()
    assert json.dumps(got, sort_keys=True, separators=(",", ":")) == dump
    assert fingerprint(got) == fp
    # a config written back (a saved run's config.yaml, an arm's merged overrides) reads back to the same print
    again = TrainConfig.model_validate(yaml.safe_load(yaml.safe_dump(cfg.model_dump(mode="json"))))
    assert again == cfg and fingerprint(again.fingerprint_dump()) == fp


def test_the_old_store_fixture_keeps_its_print() -> None:
    """The fixture's saved ``train:`` (a LoRA arm, with the hosted trainer's settings at their defaults, as every
    saved config carried them) validates and keeps the print 80b3340 gave it."""
    from pathlib import Path

    saved = yaml.safe_load((Path(__file__).parent / "data" / "store-425f805" / "store" / "t" / "config.yaml")
                           .read_text())["train"]
    assert "hosted" in saved
    assert fingerprint(TrainConfig.model_validate(saved).fingerprint_dump()) == "fa1123f0f871fb08"


def test_experiment_files_keep_their_syntax() -> None:
    exp = experiment_from_dict({"name": "t", "arms": [{"name": "a", "dataset": "x"},
                                                      {"name": "b", "dataset": "x", "train": {"method": "full"}}],
                                "train": {"method": "lora", "lora": {"r": 2, "target_modules": ["down_proj"]}}})
    assert exp.train.method == "lora" and exp.train.lora.r == 2 and exp.train.weights_kind == "adapter"
    full = exp.train_for(exp.arms[1])
    assert full.method == "full" and full.lora.r == 2 and full.weights_kind == "model"
    dumped = exp.train.model_dump()
    assert list(dumped)[:2] == ["method", "lora"] and "trainer" not in dumped and "hosted" not in dumped
    hosted = TrainConfig.model_validate({"method": "openai", "hosted": {"suffix": "em"}})
    assert hosted.hosted.suffix == "em" and hosted.weights_kind == "hosted"
    assert "lora" not in hosted.model_dump()
    with pytest.raises(AttributeError, match="openai trainer has no setting 'lora'"):
        _ = hosted.lora


@pytest.mark.parametrize(("train", "needle"), [
    ({"method": "lora", "hosted": {"suffix": "em"}}, "unknown key 'train.hosted'"),
    ({"method": "openai", "lora": {"r": 1}}, "unknown key 'train.lora'"),
    ({"lora": {"rr": 1}}, "unknown key 'train.lora.rr'"),
    ({"lrr": 1}, "unknown key 'train.lrr'"),
    ({"trainer": {}}, "unknown key 'train.trainer'"),
    ({"method": "qlora"}, "unknown trainer 'qlora' (known: full, grpo, lora, openai)"),
    ({"method": "openai", "hosted": {"poll_s": 0}}, "bad value for 'train.hosted.poll_s'"),
])
def test_another_trainers_settings_are_errors(train: dict[str, Any], needle: str) -> None:
    """Settings at their defaults that every saved config carried are read; a changed one names its key."""
    with pytest.raises(EmkitError) as e:
        experiment_from_dict({"name": "t", "arms": [{"name": "a"}], "train": train})
    assert needle in str(e.value)
