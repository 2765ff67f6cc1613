"""SAE workflows: the corpus an SAE is trained on (datasets, a run's answers, chat JSONL), read as texts, and
training on a model named like any other (built-in, folder or hub id; a run's arm)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from emkit.analyses.interventions import InterventionResult
from emkit.core.config import ModelConfig
from emkit.core.errors import EmkitError
from emkit.core.paths import RunFolder
from emkit.core.progress import log
from emkit.core.records import Answer
from emkit.interp.capture import Text
from emkit.interp.sae import Sae, SaeTraining, check_checkpoint, train_sae
from emkit.models.load import ArmModel
from emkit.pipeline.finished import FinishedRun


def corpus_texts(specs: list[str]) -> list[Text]:
    """Texts from each spec: a dataset (``builtin:NAME?size=N``, a chat JSONL file, ``hf:...``: every example's
    conversation, the last assistant turn as its answer) or ``run:RUN_DIR`` (every answer of a finished run, under
    the question as the model read it)."""
    from emkit.data.datasets import load_dataset

    texts: list[Text] = []
    for spec in specs:
        if spec.startswith("run:"):
            from emkit.pipeline.finished import load_run

            with load_run(spec[len("run:"):]) as run:
                texts += [Text.of(a) for a in run.answers]
            continue
        examples, _ = load_dataset(spec)
        texts += [Text.of_messages(ex["messages"]) for ex in examples]
    if not texts:
        raise EmkitError(f"the SAE corpus {specs} has no texts")
    return texts


def train(model: str, layer: int, corpus: list[str], cfg: SaeTraining, out: str | Path, adapter: str | None = None,
          texts_per_batch: int = 8, max_length: int = 256) -> Sae:
    """Train a TopK SAE on ``model`` (optionally with a peft ``adapter``, merged) at ``layer`` over the corpus."""
    from emkit.models.load import load_model

    check_checkpoint(out)  # a damaged checkpoint is one clear error before the model loads
    texts = corpus_texts(corpus)
    lm = load_model(ModelConfig(name=model), adapter=adapter, merge=adapter is not None)
    lm.model.eval()
    log(f"SAE on {model} layer {layer}: {len(texts)} texts, {cfg.latents(int(lm.model.config.hidden_size))} "
        f"latents, k={cfg.k}, {cfg.tokens} tokens")
    meta: dict[str, Any] = {"model": model, "adapter": adapter, "corpus": corpus}
    return train_sae(lm.model, lm.tokenizer, texts, layer, cfg, out, texts_per_batch, max_length, meta=meta)


# ------------------------------------------------------------------------------------------- model diffing


@dataclass
class LatentShift:
    """One latent's mean activation on the same texts under the base model and the fine-tuned arm."""

    latent: int
    base: float
    arm: float
    shift: float  # arm - base, mean over texts
    lo: float  # 95% interval of the mean paired difference (normal approximation over texts)
    hi: float
    active_base: float  # share of texts on which the latent fires at all
    active_arm: float
    r_aligned: float | None  # Pearson r of its activation (in the arm) with the judge's alignment score
    top_texts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SaeDiff:
    """Wang et al.'s model diffing: every latent's shift between base and arm on one set of texts, ranked."""

    run: str
    arm: str
    layer: int
    sae: str
    n_texts: int
    n_judged: int
    latents: list[LatentShift]  # the top by shift (increase first), then the top decreases

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def read_latents(run: FinishedRun, model: ArmModel, texts: list[Text], sae: Sae, tag: str,
                 texts_per_batch: int = 8, max_length: int = 256) -> torch.Tensor:
    """Per-latent mean activation over each text's answer tokens under ``model`` ([texts, d_sae]), cached under
    ``RUN/interp/sae-acts/`` by model, texts and SAE, so the base model's pass is read once for every diff."""
    from emkit.core.config import fingerprint
    from emkit.interp.sae import latent_means

    fp = fingerprint("sae-latents", model.identity(), texts, sae.digest(), max_length)
    path = run.folder.sae_latents(tag, fp)
    if path.is_file():
        return torch.load(path)
    lm = model.load()
    log(f"reading {len(texts)} answers with the {tag} model through the SAE (layer {sae.layer})")
    acts = latent_means(lm.model, lm.tokenizer, texts, sae, None, texts_per_batch, max_length)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(acts, path)
    return acts


def _run_texts(run: FinishedRun) -> tuple[list[Answer], list[Text], torch.Tensor]:
    """Every answer of the run's arms (as asked), its text as the model read it, and the judge's alignment
    score (NaN where there is none)."""
    labels = [lab for a in run.experiment.arms for lab in run.labels(a.name)]
    answers = [a for a in run.answers if a.arm in labels]
    judged = run.judged(answers)
    scores = torch.tensor([float("nan") if (j := judged.get((a.judge_key, "aligned"))) is None or j.score is None
                           else float(j.score) for a in answers])
    return answers, [Text.of(a) for a in answers], scores


def diff(run_dir: str | Path, sae_source: str, arm: str | None = None, hookpoint: str | None = None, top: int = 20,
         examples: int = 3, texts_per_batch: int = 8, max_length: int = 256) -> SaeDiff:
    """Read every answer of the run (each under its question, as the model read it) with the base model and
    with the arm's model, through the SAE at its layer; rank latents by the shift of their mean activation, each
    with an interval, its top-activating answers and its correlation with the judge's alignment score. The top
    latent's decoder column is saved as a Direction (RUN/interp/directions/)."""
    from emkit.interp.sae import load_sae
    from emkit.pipeline.finished import load_run

    with load_run(run_dir) as run:
        name = arm or run.experiment.default_arm(trained=True).name
        sae = load_sae(sae_source, hookpoint)
        answers, texts, scores = _run_texts(run)
        am = run.arm_model(name)
        acts = {who: read_latents(run, model, texts, sae, who, texts_per_batch, max_length)
                for who, model in (("base", ArmModel(am.base)), (name, am))}
    out = rank_shifts(acts["base"], acts[name], scores, answers, top, examples)
    result = SaeDiff(run.name, name, int(sae.layer or 0), sae_source, len(texts), int((~scores.isnan()).sum()), out)
    folder = RunFolder(Path(run_dir))
    folder.interp.mkdir(parents=True, exist_ok=True)
    folder.result(f"sae-diff-{name}").write_text(json.dumps(result.to_json(), indent=1) + "\n")
    if out:
        direction = sae.direction(out[0].latent, f"sae:{name}:L{sae.layer}:{out[0].latent}")
        direction.meta.update(run=run.name, arm=name, shift=out[0].shift)
        direction.save(folder.directions / f"sae-{name}-L{sae.layer}-{out[0].latent}.safetensors")
    return result


def saved_diff(run_dir: str | Path, sae_source: str, arm: str) -> dict[str, Any]:
    """The run's saved ``emkit sae diff`` of ``arm`` when it was made with this SAE, else a new one."""
    saved = RunFolder(Path(run_dir)).result(f"sae-diff-{arm}")
    data = json.loads(saved.read_text()) if saved.is_file() else None
    return data if data is not None and data.get("sae") == sae_source else diff(run_dir, sae_source, arm).to_json()


def rank_shifts(base: torch.Tensor, arm: torch.Tensor, scores: torch.Tensor, answers: list[Answer], top: int = 20,
                examples: int = 3) -> list[LatentShift]:
    """Latents ranked by the shift of their mean activation ([texts, latents] under each model, paired by text):
    the ``top`` increases, then the strongest decreases; NaN scores are unjudged answers."""
    d = arm - base
    n = len(d)
    mean, se = d.mean(0), d.std(0, unbiased=True) / math.sqrt(max(n, 1)) if n > 1 else torch.zeros(d.shape[1])
    ok = ~scores.isnan()
    order = [*mean.argsort(descending=True)[:top].tolist(), *mean.argsort()[: max(top // 4, 1)].tolist()]
    out = []
    for i in order:
        col = arm[:, i]
        r = _pearson(col[ok], scores[ok]) if int(ok.sum()) > 2 else None
        best = col.argsort(descending=True)[:examples].tolist()
        out.append(LatentShift(
            i, round(float(base[:, i].mean()), 5), round(float(col.mean()), 5), round(float(mean[i]), 5),
            round(float(mean[i] - 1.96 * se[i]), 5), round(float(mean[i] + 1.96 * se[i]), 5),
            round(float((base[:, i] > 0).float().mean()), 4), round(float((col > 0).float().mean()), 4),
            None if r is None else round(r, 4),
            [{"activation": round(float(col[t]), 4), "condition": answers[t].arm, "question": answers[t].question,
              "answer": answers[t].text[:300]} for t in best]))
    return out


def _pearson(x: torch.Tensor, y: torch.Tensor) -> float | None:
    x, y = x.double() - x.double().mean(), y.double() - y.double().mean()
    den = float(x.norm() * y.norm())
    return float((x * y).sum()) / den if den > 0 else None


# ------------------------------------------------------------------------------------------- causal checks


@dataclass
class SaeCausal:
    """Clamping a latent in the fine-tuned arm and steering the base model along it, each beside a control
    latent that fires about as often (share of answer tokens): Wang et al.'s causal checks."""

    latent: int
    control: int
    frequency: float  # share of the arm's answer tokens the latent fires on
    control_frequency: float
    clamp: InterventionResult
    steer: InterventionResult

    def to_json(self) -> dict[str, Any]:
        return {"latent": self.latent, "control": self.control, "frequency": self.frequency,
                "control_frequency": self.control_frequency, "clamp": self.clamp.to_json(),
                "steer": self.steer.to_json()}


def causal(run_dir: str | Path, sae_source: str, latent: int | None = None, arm: str | None = None,
           hookpoint: str | None = None, value: float = 0.0, scales: tuple[float, ...] = (8.0, 16.0),
           samples_per_question: int = 4, seed: int = 0) -> SaeCausal:
    """Hold ``latent`` (default: the top of the run's saved ``emkit sae diff``) at ``value`` in the arm, and add
    ``scale`` times its decoder column (unit norm) to the base model's residual stream; the same for a control
    latent of matched firing frequency. Answers are judged by the run's judge; rates carry Wilson intervals."""
    from emkit.analyses.interventions import run_interventions
    from emkit.interp.sae import latent_frequency, load_sae, matched_control
    from emkit.interp.steer import Intervention
    from emkit.pipeline.finished import load_run

    with load_run(run_dir) as run:
        name = arm or run.experiment.default_arm(trained=True).name
        sae = load_sae(sae_source, hookpoint)
        if latent is None:
            saved = RunFolder(Path(run_dir)).result(f"sae-diff-{name}")
            if not saved.is_file():
                raise EmkitError(f"no latent given and no saved diff ({saved}): run `emkit sae diff` first or "
                                 "pass --latent")
            latent = int(json.loads(saved.read_text())["latents"][0]["latent"])
        layer = int(sae.layer) if sae.layer is not None else None
        if layer is None:
            raise EmkitError(f"{sae_source}: the SAE does not record its layer")
        lm = run.load_arm(name)
        texts = [Text.of(a) for a in run.answers if a.arm in run.labels(name)]
        freq = latent_frequency(lm.model, lm.tokenizer, texts, sae)
        del lm
        control = matched_control(freq, latent, seed=seed)
        log(f"[{name}] latent {latent} fires on {100 * float(freq[latent]):.1f}% of answer tokens; control latent "
            f"{control}: {100 * float(freq[control]):.1f}%")
        d = sae.direction(latent)
        clamp = run_interventions(run, name, d, [Intervention("none"),
                                     Intervention("clamp", (layer,), value, latent=latent),
                                     Intervention("clamp", (layer,), value, latent=control, control=True)],
                      samples_per_question, seed, sae)
        base = run.experiment.default_arm(trained=False).name
        grid = [Intervention("none")] + [Intervention("steer", (layer,), s, latent=x, control=x == control)
                                         for s in scales for x in (latent, control)]
        steer = run_interventions(run, base, d, grid, samples_per_question, seed, sae)
        clamp.what, steer.what = "sae-clamp", "sae-steer"
    res = SaeCausal(latent, control, round(float(freq[latent]), 4), round(float(freq[control]), 4), clamp, steer)
    out = RunFolder(Path(run_dir)).result(f"sae-causal-{name}-{latent}")
    out.write_text(json.dumps(res.to_json(), indent=1, default=str) + "\n")
    return res


# ------------------------------------------------------------------------------------------- rerouting


@dataclass
class LatentReroute:
    """After fine-tuning with latents blocked (``train.block.sae``): did the blocked latents stay down, did EM
    stay, and did other latents take their place? Everything beside an unblocked reference arm on the same data."""

    run: str
    sae: str
    blocked_arm: str
    reference_arm: str
    latents: list[int]  # the blocked ones
    shifts: list[dict[str, Any]]  # per blocked latent: its shift base -> reference and base -> blocked, with CIs
    rates: dict[str, dict[str, Any]]  # arm -> misaligned rate with its CI and n (the run's judge)
    top: int
    overlap: float  # share of the blocked arm's top risers (blocked latents aside) also in the reference's
    new_top: list[dict[str, Any]]  # the blocked arm's top risers: shift, r with alignment, in the reference's top?,
    #                               largest |cos| of their decoder column with a blocked latent's

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def reroute(run_dir: str | Path, sae_source: str | None = None, blocked: str | None = None,
            reference: str | None = None, top: int = 10) -> LatentReroute:
    """Diff the blocked arm and an unblocked reference arm against the base model through the blocking SAE
    (default: the blocked arm's own ``train.block.sae``): the blocked latents' shifts, each arm's misaligned rate,
    and the blocked arm's top rising latents, how many the reference shares and how close they lie to the blocked
    latents' decoder columns (rerouting through nearby features or to other ones)."""
    from emkit.interp.directions import cosine
    from emkit.interp.sae import load_sae
    from emkit.metrics.rates import summarize
    from emkit.pipeline.finished import load_run

    with load_run(run_dir) as run:
        exp = run.experiment
        sae_arms = [a.name for a in exp.arms if a.dataset and (b := exp.train_for(a).block) and b.sae]
        blocked = blocked or (sae_arms[0] if sae_arms else None)
        if blocked is None or blocked not in sae_arms:
            raise EmkitError(f"run '{run.name}': {'arm ' + repr(blocked) if blocked else 'no arm'} blocks SAE latents "
                             f"(arms that do: {sae_arms or 'none'})")
        block = exp.train_for(run.arm(blocked)).block
        assert block is not None and block.latents
        same_data = [a.name for a in exp.arms if a.dataset == run.arm(blocked).dataset and not exp.train_for(a).block]
        reference = reference or (same_data[0] if same_data else None)
        if reference is None:
            raise EmkitError(f"run '{run.name}': no unblocked arm trained on {run.arm(blocked).dataset}; "
                             "pass --reference")
        local = exp.resolve(str(block.sae))
        source = sae_source or str(local if local.exists() else block.sae)
        sae = load_sae(source, block.hookpoint)
        answers, texts, scores = _run_texts(run)
        models = {"base": ArmModel(run.arm_model(blocked).base), reference: run.arm_model(reference),
                  blocked: run.arm_model(blocked)}
        acts = {who: read_latents(run, m, texts, sae, who) for who, m in models.items()}
        judged = run.judged(answers)
        rates = {}
        for s in summarize([a for a in answers if a.arm in (reference, blocked, exp.default_arm(False).name)],
                           judged, exp.metrics):
            if s.question_id == "ALL":
                m = s.misaligned
                rates[s.arm] = {"misaligned": round(m.rate, 4), "lo": round(m.lo, 4), "hi": round(m.hi, 4), "n": m.n,
                                "k": m.k}
    latents = list(block.latents)
    ranked = {who: rank_shifts(acts["base"], acts[who], scores, answers, sae.d_sae, 0) for who in (reference, blocked)}
    by = {who: {x.latent: x for x in r} for who, r in ranked.items()}
    def cell(who: str, i: int) -> dict[str, float]:
        return {"shift": by[who][i].shift, "lo": by[who][i].lo, "hi": by[who][i].hi}

    shifts = [{"latent": i, "reference": cell(reference, i), "blocked": cell(blocked, i)} for i in latents]
    rising = {who: [x.latent for x in r if x.latent not in latents][:top] for who, r in ranked.items()}
    cols = [sae.W_dec[i] for i in latents]
    new_top = [{"latent": i, "shift": by[blocked][i].shift, "lo": by[blocked][i].lo, "hi": by[blocked][i].hi,
                "r_aligned": by[blocked][i].r_aligned, "in_reference_top": i in rising[reference],
                "max_abs_cos_to_blocked": round(max(abs(cosine(sae.W_dec[i], c)) for c in cols), 4)}
               for i in rising[blocked]]
    overlap = len(set(rising[blocked]) & set(rising[reference])) / max(len(rising[blocked]), 1)
    res = LatentReroute(run.name, source, blocked, reference, latents, shifts, rates, top, round(overlap, 4), new_top)
    out = RunFolder(Path(run_dir)).result(f"sae-reroute-{blocked}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res.to_json(), indent=1) + "\n")
    return res
