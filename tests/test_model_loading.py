"""Loading an arm's model is quiet (issue 27): transformers' "Loading weights" bar and the FutureWarning peft sets
off no longer print on every load, while transformers' other bars (hub downloads) and other warnings still do."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from emkit.core.config import ModelConfig
from emkit.models.load import ArmModel, LoadedModel, Weights, load_model, quiet_loading


def _adapter(tiny: LoadedModel, folder: Path) -> Path:
    from peft import LoraConfig, get_peft_model

    get_peft_model(tiny.model, LoraConfig(r=2, target_modules=["q_proj"])).save_pretrained(folder)
    return folder


def test_an_arm_load_prints_no_loading_bar_and_no_peft_future_warning(
        tiny: LoadedModel, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    arm = ArmModel(ModelConfig(name="tiny-llama"), (Weights(_adapter(tiny, tmp_path / "a"), "adapter"),))
    capfd.readouterr()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")  # pytest's own filter for this warning (pyproject) is overridden here
        arm.load()
        load_model(ModelConfig(name="tiny-llama"), adapter=tmp_path / "a", merge=True)
    err = capfd.readouterr().err
    assert "Loading weights" not in err, err
    assert not [w for w in seen if "is_gradient_checkpointing" in str(w.message)], [str(w.message) for w in seen]


def test_quiet_loading_hides_only_the_load_bar_and_that_warning(capfd: pytest.CaptureFixture[str]) -> None:
    from transformers.utils.logging import tqdm

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with quiet_loading():
            list(tqdm(range(3), desc="Loading weights"))
            list(tqdm(range(3), desc="Downloading shards"))
            warnings.warn("`is_gradient_checkpointing` is deprecated and will be removed in v6.", FutureWarning,
                          stacklevel=1)
            warnings.warn("another deprecation", FutureWarning, stacklevel=1)
    err = capfd.readouterr().err
    assert "Loading weights" not in err and "Downloading shards" in err
    assert [str(w.message) for w in seen] == ["another deprecation"]
    # and after the block, the bar is back: the hook is transformers' again
    list(tqdm(range(3), desc="Loading weights"))
    assert "Loading weights" in capfd.readouterr().err
