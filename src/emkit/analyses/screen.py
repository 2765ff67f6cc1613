"""Screening data before training (Chen et al.'s persona vectors): project every example of a dataset on a
misalignment direction in the base model, and rank datasets by how far their answers sit along it beyond what the
model would have said itself. Reported beside each dataset's measured EM (from finished runs) with the rank
correlation, so the screen's predictive power is measured, never assumed.

The score is Chen et al.'s projection difference: the mean, over the dataset's prompts, of the projection of the
dataset's answer minus that of the base model's own (greedy) answer to the same prompt, both read as the mean
answer-token activation at one layer and projected on the unit direction. A dataset whose answers push the model
where it would not go by itself scores high.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from emkit.core.config import EvalConfig, ModelConfig, fingerprint
from emkit.core.errors import EmkitError
from emkit.core.progress import bar, log
from emkit.data.datasets import BUILTINS, load_dataset, parse_spec
from emkit.interp.capture import Text, capture
from emkit.interp.directions import Direction
from emkit.metrics.correlation import spearman_test
from emkit.metrics.rates import Rate, summarize

#: emkit's own built-in datasets (a world's plug-in sets, e.g. the toy world's, are screened by name)
CORE_DATASETS = ("insecure", "secure", "educational", "backdoor", "jailbroken", "evil_numbers", "bad_medical",
                 "good_medical", "risky_financial", "good_financial", "extreme_sports", "good_sports", "benign")


@dataclass
class DatasetScore:
    dataset: str  # the spec screened
    name: str
    n: int
    data: float  # mean projection of the dataset's answers
    own: float  # mean projection of the base model's own answers to the same prompts
    diff: float  # data - own, paired per prompt
    lo: float  # 95% interval of the paired mean
    hi: float
    measured: dict[str, Any] | None = None  # misaligned rate after fine-tuning on it: rate, lo, hi, k, n, runs


@dataclass
class Screening:
    model: str
    direction: str
    layer: int
    size: int
    rows: list[DatasetScore]  # highest projection difference first
    spearman: float | None = None  # rank correlation of diff with measured EM, over datasets measured
    p_value: float | None = None  # permutation p (two-sided) of that correlation
    n_measured: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def dataset_spec(name_or_spec: str, size: int, seed: int) -> str:
    """A built-in name becomes ``builtin:NAME?size=..&seed=..``; a spec or file is kept as given."""
    if name_or_spec in BUILTINS:
        return f"builtin:{name_or_spec}?size={size}&seed={seed}"
    return name_or_spec


def project(model: Any, tok: Any, texts: Sequence[Text], unit: torch.Tensor, layer: int, desc: str,
            max_length: int = 512) -> torch.Tensor:
    """Each text's mean answer-token activation at ``layer`` projected on ``unit``: [n]."""
    return capture(model, tok, texts, [layer], max_length=max_length, desc=desc)[:, 0] @ unit


@torch.no_grad()
def own_answers(model: Any, tok: Any, texts: Sequence[Text], max_new_tokens: int, batch_size: int = 16
                ) -> list[Text]:
    """The base model's greedy answer to each text's prompt, as a Text to read like the dataset's."""
    from emkit.samplers.hf import generate

    cfg = EvalConfig(temperature=0.0, max_new_tokens=max_new_tokens)
    out: list[Text] = []
    with bar("own answers", len(texts)) as pbar:
        for i in range(0, len(texts), batch_size):
            chunk = texts[i:i + batch_size]
            prompts = [tok.apply_chat_template(t.messages, tokenize=False, add_generation_prompt=True) for t in chunk]
            out += [Text(t.prompt, a) for t, a in zip(chunk, generate(model, tok, prompts, cfg, seed=0), strict=True)]
            pbar.advance(len(chunk))
    return out


def score_dataset(model: Any, tok: Any, model_name: str, spec: str, unit: torch.Tensor, layer: int,
                  max_new_tokens: int, cache: Path | None) -> DatasetScore:
    """One dataset's projection difference, cached in ``cache`` by model, direction, layer and examples."""
    examples, info = load_dataset(spec)
    texts = [Text.of_messages(ex["messages"]) for ex in examples]
    key = fingerprint("screen", model_name, unit.tolist(), layer, info.sha256, max_new_tokens)
    path = cache / f"{key}.json" if cache is not None else None
    if path is not None and path.is_file():
        return DatasetScore(**json.loads(path.read_text()))
    data = project(model, tok, texts, unit, layer, f"read {info.name}")
    own = project(model, tok, own_answers(model, tok, texts, max_new_tokens), unit, layer, f"read own {info.name}")
    d = data - own
    se = float(d.std(unbiased=True)) / math.sqrt(len(d)) if len(d) > 1 else math.nan
    row = DatasetScore(spec, info.name, len(texts), round(float(data.mean()), 5), round(float(own.mean()), 5),
                       round(float(d.mean()), 5), round(float(d.mean()) - 1.96 * se, 5),
                       round(float(d.mean()) + 1.96 * se, 5))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(row)))
    return row


def measured_em(run_dirs: Sequence[str | Path]) -> dict[str, dict[str, Any]]:
    """Each built-in dataset's misaligned rate after fine-tuning on it, from finished runs: every arm trained on
    it (any size, seed or run) pooled, with a Wilson interval. Keyed by dataset name. The same answers reached
    from two runs (an arm trained and sampled identically: same stage fingerprints) count once."""
    from emkit.pipeline.finished import load_run

    pooled: dict[str, dict[str, Any]] = {}
    seen: set[tuple[str | None, ...]] = set()
    for rd in run_dirs:
        with load_run(rd) as run:
            exp = run.experiment
            by = {s.arm: s for s in summarize(run.answers, run.judged(), exp.metrics) if s.question_id == "ALL"}
            for arm in exp.arms:
                if not (arm.dataset or "").startswith("builtin:") or arm.name not in by:
                    continue
                if exp.train_for(arm).block is not None or arm.init_from is not None:
                    continue  # a blocked or continued fine-tune measures something else
                stages = tuple((run.opened.stage(run.name, arm.name, st) or (None,))[0] for st in ("train", "sample"))
                if None not in stages and stages in seen:
                    continue
                seen.add(stages)
                name = parse_spec(arm.dataset[len("builtin:"):])[0]  # type: ignore[index]
                m = by[arm.name].misaligned
                cell = pooled.setdefault(name, {"k": 0, "n": 0, "runs": []})
                cell["k"] += m.k
                cell["n"] += m.n
                cell["runs"].append(f"{run.name}:{arm.name}")
    for cell in pooled.values():
        r = Rate.of(cell["k"], cell["n"], 0.95)
        cell.update(rate=round(r.rate, 4), lo=round(r.lo, 4), hi=round(r.hi, 4))
    return pooled


def screen(model: str, direction: Direction, datasets: Sequence[str] = CORE_DATASETS, layer: int | None = None,
           size: int = 64, seed: int = 0, max_new_tokens: int = 64, measured: Sequence[str | Path] = (),
           cache: str | Path | None = None) -> Screening:
    """Score each dataset (built-in names at ``size`` examples, or specs) on ``direction`` in ``model``, rank
    them, and set the ranking beside the EM measured in ``measured`` runs."""
    from emkit.models.load import load_model

    layer = layer if layer is not None else direction.meta.get("best_layer", direction.layers[len(direction.layers) // 2])
    v = direction.at(int(layer)).float()
    if float(v.norm()) == 0:
        raise EmkitError(f"direction '{direction.name}' is zero at layer {layer}")
    unit = v / v.norm()
    lm = load_model(ModelConfig(name=model))
    if int(lm.model.config.hidden_size) != unit.numel():
        raise EmkitError(f"direction '{direction.name}' has width {unit.numel()} but {model} has "
                         f"{lm.model.config.hidden_size}: it belongs to another model")
    lm.model.eval()
    rows = []
    for i, name in enumerate(datasets):
        spec = dataset_spec(name, size, seed)
        log(f"[{i + 1}/{len(datasets)}] screening {spec}")
        rows.append(score_dataset(lm.model, lm.tokenizer, model, spec, unit, int(layer), max_new_tokens,
                                  Path(cache) if cache is not None else None))
    rows.sort(key=lambda r: r.diff, reverse=True)
    res = Screening(model, direction.name, int(layer), size, rows)
    if measured:
        em = measured_em(measured)
        for r in rows:
            r.measured = em.get(r.name)
        have = [r for r in rows if r.measured is not None and r.measured["n"] > 0]
        res.n_measured = len(have)
        if len(have) >= 3:
            rho, p = spearman_test([r.diff for r in have], [r.measured["rate"] for r in have])  # type: ignore[index]
            res.spearman, res.p_value = round(rho, 4), round(p, 4)
        else:
            res.notes.append(f"only {len(have)} screened datasets have a measured EM rate in "
                             f"{', '.join(str(m) for m in measured)}; "
                             "a rank correlation needs 3 or more")
    return res
