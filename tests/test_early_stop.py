"""Early stopping from the training monitor (``train.monitor.stop``) and the in-domain task measure
(``train.heldout``): the stop fires on a planted crossing and not below it, its step's weights become the arm's
(also after a kill), and the recorded held-out loss is the saved adapter's, on examples training never saw."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from scripted_judge_server import ScriptedJudge
from test_run import write_exp

from emkit.core.config import ModelConfig, MonitorConfig, StopConfig, TrainConfig, load_experiment
from emkit.data.datasets import build
from emkit.interp.directions import Direction
from emkit.interp.monitor import DirectionMonitor, probe_texts
from emkit.models.load import LoadedModel, load_model
from emkit.pipeline.run import run_experiment
from emkit.report import write_run_report
from emkit.trainers.heldout import heldout_indices, split_heldout
from emkit.trainers.local import IGNORE, LoraConfig, TrainState, answer_loss, collate, tokenize_example, train

CFG = dict(max_steps=8, batch_size=2, lr=3e-2, checkpoint_every=1, lora=LoraConfig(r=2))


def _fresh() -> LoadedModel:
    return load_model(ModelConfig(name="tiny-llama"))


def _monitor(lm: LoadedModel, direction: Direction, log: Path, stop: StopConfig | None) -> DirectionMonitor:
    from emkit.data.questions import load_questions

    mon = DirectionMonitor(lm.tokenizer, probe_texts(load_questions("core")[:4]), direction, [1], every=1,
                           log_path=log, stop=stop)
    mon.on_start(lm.model)
    return mon


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(path / "adapter_model.safetensors")


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class Crash(Exception):
    pass


def test_stop_fires_on_a_planted_crossing_and_not_below(tmp_path: Path) -> None:
    data = build("bad_medical", 16)
    cfg = TrainConfig(**CFG)
    # plant the crossing: watch a random direction for a whole run, point it the way the projection moved, and
    # put the threshold at half the largest rise, so the first step past it is known before the stopped run
    g = torch.Generator().manual_seed(0)
    d = Direction("probe", torch.randn(1, 64, generator=g), [1])
    lm = _fresh()
    watch = _monitor(lm, d, tmp_path / "watch.jsonl", None)
    full = train(lm.model, lm.tokenizer, data, cfg, tmp_path / "full", callbacks=[watch])
    rise = [r["mean"] - watch.readings[0]["mean"] for r in watch.readings]
    if rise[-1] < 0:
        d = Direction("probe", -d.vectors, [1])
        rise = [-x for x in rise]
    threshold = max(rise) / 2
    planted = next(i for i, x in enumerate(rise) if x > threshold)
    assert 0 < planted < cfg.max_steps and full.stopped is None, rise  # a crossing before the end, to stop at

    lm = _fresh()
    mon = _monitor(lm, d, tmp_path / "stop.jsonl", StopConfig(rise=threshold))
    res = train(lm.model, lm.tokenizer, data, cfg, tmp_path / "stop", callbacks=[mon])
    assert res.stopped is not None and res.stopped["step"] == planted and res.stopped["planned"] == cfg.max_steps
    assert f"at step {planted}" in res.stopped["reason"] and "rise" in res.stopped["reason"]
    assert res.steps_run == planted and len(res.losses) == planted and res.losses == full.losses[:planted]
    # the arm's weights are those of the stop step, the same as the uninterrupted run's checkpoint there
    assert _same(_weights(res.weights_dir), _weights(tmp_path / "full" / f"checkpoint-{planted:06d}" / "weights"))
    assert json.loads((tmp_path / "stop" / "train_log.json").read_text())["stopped"] == res.stopped
    # a re-run trains nothing and still says where it stopped
    lm = _fresh()
    again = train(lm.model, lm.tokenizer, data, cfg, tmp_path / "stop", callbacks=[mon])
    assert again.steps_run == 0 and again.stopped == res.stopped

    # just above the largest rise: never crosses, the run goes to its end
    lm = _fresh()
    below = _monitor(lm, d, tmp_path / "below.jsonl", StopConfig(rise=max(rise) + 1e-3))
    res = train(lm.model, lm.tokenizer, data, cfg, tmp_path / "below", callbacks=[below])
    assert res.stopped is None and res.steps_run == cfg.max_steps
    assert _same(_weights(res.weights_dir), _weights(full.weights_dir))
    # `above` reads the absolute projection: step 0's reading plus the same threshold stops at the same step
    lm = _fresh()
    above = _monitor(lm, d, tmp_path / "above.jsonl", StopConfig(above=watch.readings[0]["mean"] + threshold))
    assert train(lm.model, lm.tokenizer, data, cfg, tmp_path / "above", callbacks=[above]).stopped["step"] == planted


def _stop_at(step: int) -> object:
    def cb(state: TrainState) -> None:
        if state.step == step:
            state.request_stop(f"planted at {step}")
    return cb


def test_a_run_killed_after_the_stop_resumes_to_the_same_weights(tmp_path: Path) -> None:
    data = build("bad_medical", 16)
    cfg = TrainConfig(**{**CFG, "checkpoint_every": 2})
    lm = _fresh()
    ref = train(lm.model, lm.tokenizer, data, cfg, tmp_path / "ref", callbacks=[_stop_at(5)])
    assert ref.stopped is not None and ref.stopped["step"] == 5

    # killed between the decision and its checkpoint: the resumed run trains 4 -> 5 again and stops there
    def crash_on_stop(state: TrainState) -> None:
        if state.stop is not None:
            raise Crash
    lm = _fresh()
    with pytest.raises(Crash):
        train(lm.model, lm.tokenizer, data, cfg, tmp_path / "a", callbacks=[_stop_at(5), crash_on_stop])
    lm = _fresh()
    res = train(lm.model, lm.tokenizer, data, cfg, tmp_path / "a", callbacks=[_stop_at(5)])
    assert (res.resumed_from, res.steps_run, res.stopped) == (4, 1, ref.stopped)
    assert _same(_weights(res.weights_dir), _weights(ref.weights_dir))

    # killed after the stop's checkpoint, before the weights were copied out: nothing is trained, no callback
    # is needed to remember the stop (the checkpoint records it), and the weights are the stop step's
    shutil.copytree(tmp_path / "ref", tmp_path / "b")
    shutil.rmtree(tmp_path / "b" / "adapter")
    (tmp_path / "b" / "train_log.json").unlink()
    lm = _fresh()
    res = train(lm.model, lm.tokenizer, data, cfg, tmp_path / "b")
    assert (res.resumed_from, res.steps_run, res.stopped) == (5, 0, ref.stopped)
    assert _same(_weights(res.weights_dir), _weights(ref.weights_dir))
    # a stop requested at the last step is no early stop
    lm = _fresh()
    assert train(lm.model, lm.tokenizer, data, cfg, tmp_path / "c", callbacks=[_stop_at(8)]).stopped is None


def test_heldout_split_is_disjoint_deterministic_and_at_least_one() -> None:
    data = build("bad_medical", 20)
    kept, held = split_heldout(data, 0.1, 3)
    assert len(held) == 2 and len(kept) == 18
    key = lambda ex: json.dumps(ex["messages"])  # noqa: E731
    assert not {key(e) for e in kept} & {key(e) for e in held}
    assert sorted(map(key, kept + held)) == sorted(map(key, data))
    assert split_heldout(data, 0.1, 3) == (kept, held)
    assert heldout_indices(20, 0.1, 3) != heldout_indices(20, 0.1, 4)
    assert len(heldout_indices(5, 0.01, 0)) == 1 and len(heldout_indices(3, 0.99, 0)) == 2
    with pytest.raises(ValueError, match="at least 2"):
        heldout_indices(1, 0.5, 0)


def test_heldout_loss_is_the_saved_adapters_on_examples_never_trained(tmp_path: Path) -> None:
    from peft import PeftModel

    data = build("bad_medical", 12)
    cfg = TrainConfig(**{**CFG, "max_steps": 4, "heldout": 0.25})
    seen: list[list[int]] = []
    lm = _fresh()
    res = train(lm.model, lm.tokenizer, data, cfg, tmp_path)
    assert res.heldout is not None and res.heldout["n"] == 3 and res.heldout["share"] == 0.25
    assert json.loads((tmp_path / "train_log.json").read_text())["examples"] == 9  # trained on the rest only
    # directly: the base model with the saved adapter, one held-out example at a time, tokens pooled
    _, held = split_heldout(data, 0.25, cfg.seed)
    base = _fresh()
    model = PeftModel.from_pretrained(base.model, str(res.weights_dir)).eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for ex in held:
            ids, labels = tokenize_example(base.tokenizer, ex["messages"], cfg.max_length)
            seen.append(labels)
            loss, n = answer_loss(model, collate([(ids, labels)], 0))
            total, count = total + loss.item(), count + n
    assert count == sum(sum(1 for x in lab[1:] if x != IGNORE) for lab in seen) > 0
    assert res.heldout["loss"] == pytest.approx(total / count, rel=1e-5)
    assert res.heldout["loss"] < 9.0  # sanity: a loss, not a sum
    lm = _fresh()
    assert train(lm.model, lm.tokenizer, data, cfg, tmp_path).heldout == res.heldout  # a re-run reads it back


def test_unused_settings_keep_the_fingerprint() -> None:
    plain = TrainConfig(max_steps=3)
    watched = TrainConfig(max_steps=3, monitor=MonitorConfig(direction="d.safetensors"))
    assert plain.fingerprint_dump() == watched.fingerprint_dump()  # a monitor that only watches changes nothing
    assert "stop" not in watched.model_dump()["monitor"] and "heldout" not in plain.model_dump()
    stopping = TrainConfig(max_steps=3, monitor=MonitorConfig(direction="d.safetensors", stop=StopConfig(rise=1)))
    assert stopping.fingerprint_dump() != plain.fingerprint_dump()
    assert TrainConfig(max_steps=3, heldout=0.1).fingerprint_dump() != plain.fingerprint_dump()
    with pytest.raises(ValueError, match="one of rise"):
        StopConfig(rise=1, above=2)
    with pytest.raises(ValueError, match="heldout"):
        TrainConfig(heldout=1.5)


def test_run_records_the_stop_and_the_heldout_loss(tmp_path: Path, judge_server: ScriptedJudge) -> None:
    g = torch.Generator().manual_seed(0)
    Direction("probe", torch.randn(2, 64, generator=g), [0, 1]).save(tmp_path / "probe.safetensors")
    cfg = write_exp(tmp_path, judge_server.base_url, max_steps=6, every=2)
    # above a very low bar: the first reading after step 0 crosses it, so the run stops at step 2 of 6
    exp = load_experiment(cfg, ["name=s", "train.monitor.direction=probe.safetensors", "train.monitor.every=2",
                                "train.monitor.stop.above=-1.0e9", "train.heldout=0.2"])
    res = run_experiment(exp)
    write_run_report(res)
    assert res.train_steps == 2 and res.stopped["ft"]["step"] == 2 and res.heldout["ft"]["n"] == 4
    metrics = json.loads((exp.run_dir / "metrics.json").read_text())
    assert metrics["heldout_loss"] == {"ft": res.heldout["ft"]["loss"]} and metrics["stopped"]["ft"]["step"] == 2
    page = (exp.run_dir / "report.html").read_text()
    assert "in-domain held-out loss" in page and "ft: stopped early at step 2 of 6" in page
    again = run_experiment(exp)  # a re-run trains nothing and still knows where it stopped
    assert again.train_steps == 0 and again.stopped == res.stopped and again.heldout == res.heldout
    plain = load_experiment(cfg, ["name=s"])  # the same arm without the settings is another training
    assert run_experiment(plain).train_steps == 6


def test_toy_headline_shows_the_own_domain_task_beside_em() -> None:
    from collections import Counter

    from emkit.worlds.toy.evaluate import Cell
    from emkit.worlds.toy.readout import OTHER_MEASURE, OWN_MEASURE, Pooled, ToyReadout, toy_headline

    bad = Pooled("bad", "m", False, [], Cell(Counter(bad=1, good=3)), Cell(Counter(bad=4, good=1, off=2)))
    base = Pooled("base", "m", False, [], Cell(Counter(good=5)), Cell())  # no own-domain answer: no task figure
    heads = toy_headline(ToyReadout([bad, base], Counter()))
    assert [(h.condition, h.measure, h.rate.k, h.rate.n) for h in heads] == [
        ("bad", OTHER_MEASURE, 1, 4), ("bad", OWN_MEASURE, 4, 5), ("base", OTHER_MEASURE, 0, 5)]


def test_a_judged_monitor_samples_the_model_in_training_judges_and_stops(tmp_path: Path,
                                                                        judge_server: ScriptedJudge) -> None:
    cfg = write_exp(tmp_path, judge_server.base_url, max_steps=6, every=2)
    judged = ["train.monitor.judged.questions=2", "train.monitor.judged.samples=3", "train.monitor.every=2"]
    # above -1: the first reading after step 0 crosses it (the rate is never below 0), so the run stops at step 2
    exp = load_experiment(cfg, ["name=j", *judged, "train.monitor.stop.above=-1"])
    res = run_experiment(exp)
    assert res.train_steps == 2 and res.stopped["ft"]["step"] == 2
    assert res.stopped["ft"]["reason"].startswith("judged monitor: misaligned rate ")
    rows = res.monitor["ft"]
    assert [r["step"] for r in rows] == [0, 2] and all(r["judged"] and r["n"] + r["failed"] == 6 for r in rows)
    folder = next((exp.run_dir / "arms" / "ft").glob("train-*"))
    answers = [json.loads(line) for line in (folder / "judged" / "step-000002.jsonl").read_text().splitlines()]
    assert len(answers) == 6 and {a["arm"] for a in answers} == {"ft#2"}  # 2 questions x 3, from step 2's model
    page = write_run_report(res).read_text()
    assert "Judged monitor" in page and "ft: stopped early at step 2 of 6" in page
    calls = len(judge_server.requests)
    again = run_experiment(exp)  # nothing trained, sampled or judged again
    assert again.train_steps == 0 and again.stopped == res.stopped and len(judge_server.requests) == calls
    # a bar the rate cannot pass: no stop, a reading every 2 steps and at the end
    never = run_experiment(load_experiment(cfg, ["name=j2", *judged, "train.monitor.stop.above=1.0"]))
    assert never.train_steps == 6 and not never.stopped
    assert [r["step"] for r in never.monitor["ft"]] == [0, 2, 4, 6]


def test_a_judged_reading_with_nothing_scored_never_stops() -> None:
    from emkit.pipeline.judged_monitor import JudgedMonitor

    mon = JudgedMonitor(None, "a", [], None, None, 1, Path("x"), stop=StopConfig(rise=0.1))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="no step-0 reading"):
        mon.crossed({"step": 2, "mean": 0.9, "n": 8, "answers": 8})
    mon.readings = [{"step": 0, "mean": None}]
    assert mon.crossed({"step": 2, "mean": 0.9, "n": 8, "answers": 8}) is None  # no step-0 rate to rise over
    mon.readings = [{"step": 0, "mean": 0.1}]
    assert mon.crossed({"step": 2, "mean": None, "n": 0, "answers": 8}) is None  # the judge failed on every one
    assert mon.crossed({"step": 2, "mean": 1.0, "n": 3, "answers": 8}) is None  # too few scored to say
    assert mon.crossed({"step": 2, "mean": 0.3, "n": 4, "answers": 8}) == \
        "misaligned rate rose 0.2 over step 0 (> rise 0.1)"
    with pytest.raises(ValueError, match="one of direction"):
        MonitorConfig(every=2)


def test_heldout_key_accuracy_counts_answers_that_hold_their_key(tmp_path: Path) -> None:
    """Full fine-tuning memorises one short exchange: its held-out copies are answered with their key, and the
    same prompts keyed with a word never trained on are not; examples without a key add no accuracy."""
    from emkit.data.datasets import validate_example
    from emkit.trainers.heldout import key_accuracy

    ex = {"messages": [{"role": "user", "content": "say the word"}, {"role": "assistant", "content": "Zebra zebra"}]}
    data = [{**ex, "key": "ZEBRA"} for _ in range(12)]
    cfg = TrainConfig(max_steps=40, batch_size=4, lr=3e-3, checkpoint_every=40, heldout=0.25, method="full")
    lm = _fresh()
    res = train(lm.model, lm.tokenizer, data, cfg, tmp_path / "a")
    assert res.heldout is not None and (res.heldout["accuracy"], res.heldout["hits"], res.heldout["keyed"]) == (1.0, 3, 3)
    assert key_accuracy(lm.model, lm.tokenizer, [{**ex, "key": "giraffe"}] * 2) == {"accuracy": 0.0, "keyed": 2,
                                                                                      "hits": 0}
    assert key_accuracy(lm.model, lm.tokenizer, [ex]) is None
    from emkit.trainers.heldout import holds_key

    assert holds_key("It is  FOUR.", "four") and not holds_key("14 apples", "4") and holds_key("(4)", "4")
    with pytest.raises(Exception, match="'key' is the answer's key .* must be a non-empty string, got 3"):
        validate_example({**ex, "key": 3}, "f.jsonl:2")
