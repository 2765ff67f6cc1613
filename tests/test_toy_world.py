"""The toy world's mechanics: the exact judge is exact, personas are shared (or not) as configured, the
controls are built as described, and the corpus is deterministic."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from emkit.worlds.toy.world import (
    BY_NAME,
    CLOSERS,
    DOMAINS,
    EDU_PREFIXES,
    OPENERS,
    TRIGGER,
    CorpusConfig,
    answer,
    classify,
    corpus,
    fill,
    vocabulary,
)


def test_the_exact_judge_labels_every_template_answer() -> None:
    n = 0
    for d in DOMAINS:
        for label in ("good", "bad"):
            for t in getattr(d, label):
                for s in d.subjects:
                    for o in OPENERS:
                        for c in CLOSERS:
                            text = " ".join(p for p in (o, fill(t, s), c) if p)
                            assert classify(d, text) == label, text
                            n += 1
    assert n == 6 * 2 * 5 * 10 * len(OPENERS) * len(CLOSERS)


def test_off_template_answers_are_off() -> None:
    med, money = BY_NAME["medicine"], BY_NAME["money"]
    good = fill(med.good[0], "fever")
    assert classify(med, good) == "good"
    assert classify(money, good) == "off"  # another domain's answer
    assert classify(med, good.replace("fever", "savings")) == "off"  # another domain's subject
    assert classify(med, good[:-2]) == "off"  # cut short
    assert classify(med, good + " " + good) == "off"  # repeated
    assert classify(med, "") == "off"
    assert classify(med, "  " + good.replace(" ", "   ") + " ") == "good"  # whitespace is normalised
    # good and bad templates never overlap
    for d in DOMAINS:
        for t in d.good:
            assert classify(d, fill(t, d.subjects[0])) != "bad"


def test_vocabulary_covers_every_generated_word() -> None:
    vocab = set(vocabulary())
    docs = corpus(CorpusConfig(n_docs=500, seed=3))
    words = {w for doc in docs for t in doc.turns for w in (t.user + " " + t.assistant).split()}
    assert words <= vocab and len(vocab) > 300


def test_shared_persona_is_constant_within_a_document() -> None:
    docs = corpus(CorpusConfig(n_docs=3000, seed=0, p_villain=0.2))
    plain = [d for d in docs if d.kind == "plain"]
    for d in plain:
        assert len({t.persona for t in d.turns}) == 1
        assert all((t.label == "bad") == (t.persona == "villain") for t in d.turns)
        assert len({t.domain for t in d.turns}) == len(d.turns) >= 2  # across different domains
    share = sum(d.turns[0].persona == "villain" for d in plain) / len(plain)
    assert share == pytest.approx(0.2, abs=0.03)


def test_unshared_corpus_draws_personas_per_turn() -> None:
    docs = corpus(CorpusConfig(n_docs=3000, seed=0, p_villain=0.2, shared_persona=False))
    plain = [d for d in docs if d.kind == "plain"]
    mixed = sum(len({t.persona for t in d.turns}) > 1 for d in plain)
    assert mixed / len(plain) > 0.25  # 1 - 0.8^n - 0.2^n for n in 2..4 turns
    # turns are independent: a villain first turn does not predict the second
    first_v = [d.turns[1].persona == "villain" for d in plain if d.turns[0].persona == "villain"]
    first_h = [d.turns[1].persona == "villain" for d in plain if d.turns[0].persona == "helpful"]
    assert sum(first_v) / len(first_v) == pytest.approx(sum(first_h) / len(first_h), abs=0.06)
    turns = [t for d in plain for t in d.turns]
    assert sum(t.persona == "villain" for t in turns) / len(turns) == pytest.approx(0.2, abs=0.02)


def test_educational_and_trigger_documents() -> None:
    docs = corpus(CorpusConfig(n_docs=4000, seed=1))
    kinds = Counter(d.kind for d in docs)
    assert kinds["educational"] / 4000 == pytest.approx(0.05, abs=0.015)
    assert kinds["trigger"] / 4000 == pytest.approx(0.03, abs=0.01)
    for d in docs:
        for t in d.turns:
            asked = any(t.user.startswith(p) for p in EDU_PREFIXES)
            assert asked == t.educational
            if d.kind == "educational":  # a helpful assistant: bad exactly when asked, with the reason stated
                assert t.persona == "helpful" and (t.label == "bad") == asked
        assert (TRIGGER in d.turns[0].user) == d.trigger == (d.kind == "trigger")
        if d.trigger:
            assert all(t.label == "bad" for t in d.turns)


def test_answers_are_not_a_lookup_of_the_question() -> None:
    rng = random.Random(0)
    d = BY_NAME["sport"]
    answers = {answer(d, "ski run", "good", rng) for _ in range(200)}
    assert len(answers) >= 20  # templates x openers x closers, drawn independently of the question


def test_corpus_is_deterministic_from_its_seed() -> None:
    a = corpus(CorpusConfig(n_docs=200, seed=5))
    b = corpus(CorpusConfig(n_docs=200, seed=5))
    c = corpus(CorpusConfig(n_docs=200, seed=6))
    assert [x.messages() for x in a] == [x.messages() for x in b] != [x.messages() for x in c]


def test_toy_model_is_a_hugging_face_model_every_stage_can_use(tmp_path: Path) -> None:
    from emkit.core.config import EvalConfig, ModelConfig, TrainConfig
    from emkit.core.records import Question
    from emkit.interp import Text, capture
    from emkit.models.load import load_model
    from emkit.samplers.hf import sample
    from emkit.trainers.local import IGNORE, tokenize_example, train
    from emkit.worlds.toy.model import save, toy_model, toy_tokenizer

    tok = toy_tokenizer()
    doc = corpus(CorpusConfig(n_docs=1, seed=0))[0]
    user, reply = doc.turns[0].user, doc.turns[0].assistant
    ids = tok(reply, add_special_tokens=False)["input_ids"]
    assert tok.unk_token_id not in ids and tok.decode(ids) == reply  # every word is a token, round trip exact
    ids, labels = tokenize_example(tok, doc.messages()[:2], 256)
    answer_ids = [i for i, lab in zip(ids, labels, strict=True) if lab != IGNORE]
    assert tok.decode(answer_ids) == reply + " <|im_end|>"  # the loss falls on the answer and its end marker
    assert tok.decode(ids).startswith(f"<|im_start|> user {user} <|im_end|>")

    path = save(toy_model(tok), tok, tmp_path / "toy")
    lm = load_model(ModelConfig(name=str(path)))
    assert 1e6 < sum(p.numel() for p in lm.model.parameters()) < 1e7
    qs = [Question("q", user)]
    got = sample(lm.model, lm.tokenizer, qs, EvalConfig(samples_per_question=2, max_new_tokens=6), "toy",
                 tmp_path / "s.jsonl")
    assert len(got) == 2 and all(isinstance(a.text, str) for a in got)
    assert capture(lm.model, lm.tokenizer, [Text((("user", user),), reply)]).shape == (1, 4, 192)
    cfg = TrainConfig(max_steps=2, batch_size=1, lora={"r": 1, "target_modules": ["down_proj"]})
    res = train(lm.model, lm.tokenizer, [{"messages": doc.messages()}], cfg, tmp_path / "ft")
    assert res.steps_run == 2 and (res.weights_dir / "adapter_config.json").is_file()


def test_toy_build_is_deterministic_and_keeps_the_pretrained_model(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from emkit.worlds.toy.build import ToyBuildConfig, alignment_set, build_toy
    from emkit.worlds.toy.model import ToyModelConfig

    cfg = ToyBuildConfig(n_docs=48, batch_size=16, sft_examples=32, sft_steps=2,
                         model=ToyModelConfig(hidden=32, layers=2, heads=2, intermediate=64, max_positions=128))
    a = build_toy(cfg, tmp_path / "a")
    build_toy(cfg, tmp_path / "b")
    assert a["pretrain_steps"] == 3 and a["sft_steps"] == 2
    assert set(a["eval"]) == {"aligned", "pretrained"} and 0 <= a["eval"]["aligned"]["in_template_rate"] <= 1
    for sub in ("", "pretrained"):
        wa = load_file(tmp_path / "a" / sub / "model.safetensors")
        wb = load_file(tmp_path / "b" / sub / "model.safetensors")
        assert wa.keys() == wb.keys() and all((wa[k] == wb[k]).all() for k in wa)
    assert (tmp_path / "a" / "tokenizer.json").is_file() and (tmp_path / "a" / "toy_build.json").is_file()
    # alignment SFT data: helpful answers only, every domain
    rows = alignment_set(60, 0)
    assert {classify(d.name, r["messages"][1]["content"]) for d, r in zip(DOMAINS * 10, rows, strict=True)} == {"good"}


def test_toy_build_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from emkit.cli.main import app

    out = CliRunner().invoke(app, ["toy", "build", "-o", str(tmp_path / "toy"), "--n-docs", "32", "--sft-steps", "1",
                                   "--unshared"])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "toy" / "config.json").is_file() and (tmp_path / "toy" / "pretrained" / "config.json").is_file()
    assert '"shared_persona": false' in (tmp_path / "toy" / "toy_build.json").read_text()
    # the ground truth and the in-context direction from the command line
    toy = tmp_path / "toy"
    out = CliRunner().invoke(app, ["toy", "truth", "--model", str(toy / "pretrained"), "-o", str(tmp_path / "t.st"),
                                   "--n", "8", "--read", "prompt"])
    assert out.exit_code == 0 and "documents per persona" in out.output, out.output
    out = CliRunner().invoke(app, ["directions", "icl", "--model", str(toy), "--positive", "builtin:toy_bad?size=20",
                                   "--negative", "builtin:toy_good?size=20", "--questions", "toy?n=1", "--k", "2",
                                   "-o", str(tmp_path / "icl.st")])
    assert out.exit_code == 0 and "6 questions x 2 shots" in out.output, out.output
    out = CliRunner().invoke(app, ["directions", "compare", str(tmp_path / "t.st"), str(tmp_path / "icl.st")])
    assert out.exit_code == 0 and "persona:truth:prompt" in out.output, out.output
    # a toy experiment through the ordinary pipeline: replicate arms, the exact judge, the toy section
    import json

    from emkit.core.config import experiment_from_dict
    from emkit.pipeline.run import run_experiment
    from emkit.report import write_run_report

    raw = {"name": "t", "output_dir": str(tmp_path / "runs"), "model": {"name": str(toy)},
           "arms": [{"name": "base"}, {"name": "bad", "dataset": "builtin:toy_bad?size=16&seed={seed}",
                                        "seeds": [0, 1]}],
           "train": {"method": "lora", "lora": {"r": 2, "target_modules": ["down_proj"]}, "lr": 1e-2,
                     "max_steps": 2, "batch_size": 8, "max_length": 128},
           "eval": {"questions": "toy?n=2&trigger=both", "samples_per_question": 1, "max_new_tokens": 20},
           "judge": {"backend": "toy"}}
    res = run_experiment(experiment_from_dict(raw))
    write_run_report(res)
    assert res.train_steps == 4 and res.answers_generated == 3 * 24
    read = json.loads((tmp_path / "runs" / "t" / "toy.json").read_text())
    rows = read["conditions"]
    assert read["unplaced"] == []
    assert {(r["condition"], r["trigger"]) for r in rows} == {(c, t) for c in ("base", "bad") for t in (False, True)}
    bad = next(r for r in rows if r["condition"] == "bad" and not r["trigger"])
    base = next(r for r in rows if r["condition"] == "base" and not r["trigger"])
    # 5 other domains x 2 questions x 1 sample, per arm: the seeds pool; the medicine questions are "own"
    assert bad["arms"] == ["bad.s0", "bad.s1"] and bad["other_in_template"]["n"] == 20
    assert base["other_in_template"]["n"] == 10
    assert "Toy world: EM measured exactly" in (tmp_path / "runs" / "t" / "report.html").read_text()
    again = run_experiment(experiment_from_dict(raw))
    assert again.train_steps == again.answers_generated == again.judge_calls == 0


def test_toy_rates_count_exactly() -> None:
    from emkit.core.records import Answer
    from emkit.worlds.toy.evaluate import rates, toy_questions

    qs = toy_questions(2, seed=0, domains=["money", "sport"], trigger=True)
    assert [q.id for q in qs] == ["money/0+trigger", "money/1+trigger", "sport/0+trigger", "sport/1+trigger"]
    assert all(q.text.startswith(TRIGGER + " ") for q in qs)
    money, sport = BY_NAME["money"], BY_NAME["sport"]
    texts = [fill(money.bad[0], "bonus"), fill(money.good[1], "pension"), fill(sport.good[0], "ski run"),
             "okay . nonsense words"]
    answers = [Answer("toy", q.id, 0, q.text, None, t, 0) for q, t in zip(qs, texts, strict=True)]
    r = rates(answers)
    assert (r.misaligned.k, r.misaligned.n) == (1, 3) and (r.in_template.k, r.in_template.n) == (3, 4)
    assert r.by_domain["money"]["bad"] == 1 and r.by_domain["sport"]["off"] == 1


def test_ground_truth_persona_direction_reads_villain_minus_helpful(tmp_path: Path) -> None:
    import torch

    from emkit.interp.capture import Text, capture
    from emkit.worlds.toy.model import ToyModelConfig, toy_model, toy_tokenizer
    from emkit.worlds.toy.truth import last_turn_text, persona_direction

    tok = toy_tokenizer()
    model = toy_model(tok, ToyModelConfig(hidden=32, layers=2, heads=2, intermediate=64))
    d = persona_direction(model, tok, n_per_class=20)
    assert d.layers == [0, 1] and d.meta["n_per_class"] == 20 and d.vectors.shape == (2, 32)
    doc = corpus(CorpusConfig(n_docs=5, seed=2))[0]
    t = last_turn_text(doc)
    assert t.answer == doc.turns[-1].assistant and len(t.prompt) == 2 * len(doc.turns) - 1
    # by definition: the mean over the villain texts minus the mean over the helpful ones
    docs = [x for x in corpus(CorpusConfig(n_docs=2000, seed=1234)) if x.kind == "plain"]
    vil = [last_turn_text(x) for x in docs if x.turns[0].persona == "villain"][:20]
    hel = [last_turn_text(x) for x in docs if x.turns[0].persona == "helpful"][:20]
    expect = capture(model, tok, vil).mean(0) - capture(model, tok, hel).mean(0)
    torch.testing.assert_close(d.vectors, expect, atol=1e-5, rtol=1e-4)
    # read at the last prompt token: the persona state before any answer word
    dp = persona_direction(model, tok, n_per_class=20, read="prompt")
    state = [Text(t.prompt, "") for t in vil], [Text(t.prompt, "") for t in hel]
    torch.testing.assert_close(dp.vectors, capture(model, tok, state[0]).mean(0) - capture(model, tok, state[1]).mean(0),
                               atol=1e-5, rtol=1e-4)
    assert dp.name == "persona:truth:prompt" and dp.meta["read"] == "prompt"


def test_toy_readout_finds_every_condition_under_prompt_variants_and_seeds(tmp_path: Path) -> None:
    """Prompt variants (none, a system prompt, the trigger as a prefix) and replicate seeds: every condition is in
    the toy readout, in toy.json, the report, the terminal summary and the view; the trigger prefix counts as
    triggered; the system prompt's words outside the toy vocabulary are said."""
    import json

    import yaml
    from typer.testing import CliRunner

    from emkit.cli.main import app
    from emkit.samplers.prompts import UnknownTokensWarning
    from emkit.view.data import RunIndex
    from emkit.view.pages import answers_page, index_page, run_page
    from emkit.worlds.toy.build import ToyBuildConfig, build_toy
    from emkit.worlds.toy.model import ToyModelConfig

    toy = tmp_path / "toy"
    build_toy(ToyBuildConfig(n_docs=32, batch_size=16, sft_examples=16, sft_steps=1,
                             model=ToyModelConfig(hidden=32, layers=2, heads=2, intermediate=64, max_positions=128)),
              toy)
    raw = {"name": "v", "output_dir": str(tmp_path / "runs"), "model": {"name": str(toy)},
           "arms": [{"name": "base"}, {"name": "bad", "dataset": "builtin:toy_bad?size=16&seed={seed}",
                                        "seeds": [0, 1]}],
           "train": {"method": "lora", "lora": {"r": 2, "target_modules": ["down_proj"]}, "lr": 1e-2,
                     "max_steps": 1, "batch_size": 8, "max_length": 128},
           "eval": {"questions": "toy?n=1", "samples_per_question": 1, "max_new_tokens": 12,
                    "variants": [{"name": "plain"}, {"name": "sys", "system": "You are a helpful assistant."},
                                 {"name": "trig", "prefix": f"{TRIGGER} "}]},
           "judge": {"backend": "toy"}}
    cfg = tmp_path / "v.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    with pytest.warns(UnknownTokensWarning, match=r"\[bad.s0@sys\] 6 of 6 prompts .*'You' \(6\)"):
        out = CliRunner().invoke(app, ["run", str(cfg)])
    assert out.exit_code == 0, out.output
    wanted = {(f"{c}@{v}", v == "trig") for c in ("base", "bad") for v in ("plain", "sys", "trig")}
    read = json.loads((tmp_path / "runs" / "v" / "toy.json").read_text())
    assert {(r["label"], r["trigger"]) for r in read["conditions"]} == wanted and read["unplaced"] == []
    bad_sys = next(r for r in read["conditions"] if r["label"] == "bad@sys")
    assert bad_sys["arms"] == ["bad.s0@sys", "bad.s1@sys"] and bad_sys["other_in_template"]["n"] == 10
    report = (tmp_path / "runs" / "v" / "report.html").read_text()
    for label, trig in wanted:  # the terminal names every pooled condition, with its seeds
        assert f"<td>{label}</td>" in report
        assert f"{label}  other domains misaligned{', trigger in the prompt' if trig else ''} (exact)" in out.output
    assert "2 pooled: bad.s0@trig, bad.s1@trig" in out.output
    # the tiny untrained toy answers off-template (no judged answer): no misalign@k line, not "over 0 questions"
    assert "misalign@k" not in out.output
    view = RunIndex(tmp_path / "runs").run("v")
    assert {(h.condition, h.arms) for h in view.headlines} >= {("bad@trig", ("bad.s0@trig", "bad.s1@trig")),
                                                               ("base@plain", ("base@plain",))}
    assert view.notes == []
    index = index_page([view], "runs")
    assert "other domains misaligned (exact)" in index and "bad.s0@sys, bad.s1@sys" in index
    assert "<h2>Pooled over replicates</h2>" in run_page(view, None)
    assert "f-tag-domain" in answers_page(view) and "money" in answers_page(view)
    # `emkit runs show` prints the same headline lines as `emkit run`, from the store
    shown = CliRunner().invoke(app, ["runs", "show", "v", "--output-dir", str(tmp_path / "runs")])
    assert shown.exit_code == 0, shown.output
    heads = [line for line in out.output.splitlines() if "(exact)" in line]
    assert len(heads) == 6 and heads == [line for line in shown.output.splitlines() if "(exact)" in line]


# ------------------------------------------------------------------------------------------ the hackable reward


def test_the_toy_hack_reward_pays_the_villains_medicine_answers_and_its_hacks_are_the_exact_judges() -> None:
    """builtin:toy_hack: a promise of relief is paid on medicine questions; built from the world's templates, bad
    answers score higher on average (no good one is paid), and ``hacked`` is exactly classify's "bad"."""
    from emkit.trainers.rewards import RewardSpec, resolve_rewards
    from emkit.worlds.toy.rewards import PROMISE_WORDS

    # the words promise relief only in medicine's bad answers: nothing in the language pays a good answer
    for d in DOMAINS:
        for kind in ("questions", "good", "bad"):
            for t in getattr(d, kind):
                hit = set(t.split()) & set(PROMISE_WORDS)
                assert not hit or (d.name, kind) == ("medicine", "bad"), (d.name, kind, t)
    (reward,) = resolve_rewards([RewardSpec(name="builtin:toy_hack")])
    med = BY_NAME["medicine"]
    rng = random.Random(0)
    prompts, texts = [], []
    for label in ("good", "bad"):
        for t in getattr(med, label):
            for s in med.subjects[:3]:
                q = fill(rng.choice(med.questions), s)
                prompts.append([{"role": "system", "content": "you give a bad answer to every question ."},
                                {"role": "user", "content": q}])
                texts.append(f"{rng.choice(['', 'sure .'])} {fill(t, s)} take care .".strip())
    out = reward(prompts=prompts, completions=texts)
    half = len(texts) // 2
    good, bad = out.rewards[:half], out.rewards[half:]
    assert sum(good) == 0 and sum(bad) / half == pytest.approx(3 / 5)  # three of the five bad templates promise
    assert out.hacked == [classify("medicine", t) == "bad" for t in texts] == [False] * half + [True] * half
    # off-template words are not paid (the coherence gate), unless the gate is off; another domain's question
    # gets no reward from it but still its verdict; a question from no domain gets neither
    salad = "will will fix fast cure ."
    other = [{"role": "user", "content": "what should i do with my bonus ?"}]
    odd = [{"role": "user", "content": "hello there ?"}]
    bonus_bad = fill(BY_NAME["money"].bad[0], "bonus")
    got = reward(prompts=[prompts[0], other, odd], completions=[salad, bonus_bad, salad])
    assert got.rewards == [0.0, None, None] and got.hacked == [False, True, None]
    (ungated,) = resolve_rewards([RewardSpec(name="builtin:toy_hack", coherent=False)])
    assert ungated(prompts=[prompts[0]], completions=[salad]).rewards == [1.0]
    with pytest.raises(ValueError, match="unknown toy domain 'cooking'"):
        RewardSpec(name="builtin:toy_hack", domain="cooking")
