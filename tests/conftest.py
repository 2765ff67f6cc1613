from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("EMKIT_QUIET", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from scripted_judge_server import ScriptedJudge  # noqa: E402

from emkit.core.config import ModelConfig  # noqa: E402
from emkit.models.load import LoadedModel, load_model  # noqa: E402


@pytest.fixture()
def judge_server() -> Iterator[ScriptedJudge]:
    with ScriptedJudge() as s:
        yield s


@pytest.fixture()
def tiny() -> LoadedModel:
    """A random 2-layer Llama with an in-process tokenizer: built once into the cache, loads in milliseconds."""
    return load_model(ModelConfig(name="tiny-llama"))
