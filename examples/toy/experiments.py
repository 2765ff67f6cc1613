"""The toy experiments behind `make figures`, one function per experiment, each run in one world.

Each takes a world's build seed and model name, runs its example file through the API (cached: a second call
only re-reads) and returns the plain figures that figures.py renders. Per world: experiments 1 and 2 (EM and
controls), 3 (unlocking: the same fine-tuning on four starting models), 4 and 5 (convergence and phases: the
rank-1 run of rank1.yaml and the interp chain, as convergence.sh does), 6 (blocking and rerouting, blocking.yaml
with this world's truth), the SAE check (an SAE on the aligned model at layer 2, diffed against the first EM
arm: does the top latent point along the ground-truth persona, and does clamping it remove EM?) and screening
the toy datasets on the ground truth before training, against the EM each one gave in experiments 1 and 2. Also
7 (defences.yaml) and 8 (rl.yaml: RL on a hackable medicine reward, inoculated RL and SFT on as many bad answers,
with each arm's persona direction against the truth and the SFT arm's).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from emkit.analyses.matrix import direction_matrix
from emkit.analyses.sae_diffing import causal, diff, train
from emkit.analyses.screen import screen
from emkit.core.config import ModelConfig, load_experiment
from emkit.interp.sae import SaeTraining
from emkit.metrics.correlation import spearman_test
from emkit.models.load import load_model
from emkit.pipeline.finished import FinishedRun, load_run
from emkit.pipeline.run import run_experiment
from emkit.report import write_run_report
from emkit.worlds.toy.evaluate import Cell
from emkit.worlds.toy.readout import toy_readout
from emkit.worlds.toy.world import classify, domain_of

if TYPE_CHECKING:
    import torch

ROOT = Path(__file__).resolve().parents[2]
LAYER = 2  # of 4: where the convergence study reads the directions
TRAINED = "medicine"  # the domain every toy fine-tuning set below is drawn from
DATASETS = ["toy_bad", "toy_good", "toy_educational", "toy_backdoor"]  # measured in experiments 1 and 2
SAE = SaeTraining(k=16, expansion=8, tokens=150_000, seed=0)


def world_runs(seed: int, model: str) -> dict[str, Path]:
    """Experiments 1 and 2 on this world's model (each named after its world)."""
    out = {}
    for name in ("em", "controls"):
        exp = load_experiment(ROOT / "examples" / "toy" / f"{name}.yaml",
                              [f"model.name={model}", f"name=toy-{name}-w{seed}"])
        write_run_report(run_experiment(exp))
        out[name] = exp.run_dir
    return out


def readout(run_dir: Path) -> dict[tuple[str, bool], dict[str, object]]:
    """(condition, trigger) -> other-domain misaligned rate, pooled over fine-tuning seeds, and the seeds' rates."""
    run = load_run(run_dir)
    run.store.close()
    return {(g.label, g.trigger): {"rate": g.other.misaligned().rate, "k": g.other.misaligned().k,
                                       "n": g.other.misaligned().n, "seeds": g.seed_rates,
                                       "own": g.own.misaligned().rate}
            for g in toy_readout(run.experiment, run.answers).pooled}


def other_domain(answers: list) -> Cell:
    """Bad among in-template answers to questions outside the trained domain."""
    cell = Cell()
    for a in answers:
        d = domain_of(a.question)
        if d is not None and d != TRAINED:
            cell.add(classify(d, a.text))
    return cell


STARTS = {"": "shared persona, aligned", "_unshared": "per-turn persona, aligned",
          "_pretrained": "shared persona, pretrained", "_unshared_pretrained": "per-turn persona, pretrained"}


def unlocking(seed: int, model: str) -> dict[str, dict[str, object]]:
    """Experiment 3 (unlocking.yaml) with this world's four starting models: the aligned and pretrained models of
    the shared-persona world and of the per-turn world built from the same seed. Per starting model: other-domain
    EM before (its base arm) and after (bad medicine, seeds pooled), in medicine, and Fisher's p against before."""
    unshared = model.replace("toy", "toy-unshared", 1)  # toy-w1 -> toy-unshared-w1
    models = {"_unshared": unshared, "_pretrained": f"{model}-pretrained",
              "_unshared_pretrained": f"{unshared}-pretrained"}
    sets = [f"arms.{kind}{start}.model={m}" for start, m in models.items() for kind in ("base", "bad")]
    exp = load_experiment(ROOT / "examples" / "toy" / "unlocking.yaml",
                          [f"model.name={model}", f"name=toy-unlocking-w{seed}", *sets])
    write_run_report(run_experiment(exp))
    run = load_run(exp.run_dir)
    run.store.close()
    groups = {g.label: g for g in toy_readout(run.experiment, run.answers).pooled if not g.trigger}
    out = {}
    for start in STARTS:
        before, after = groups[f"base{start}"], groups[f"bad{start}"]
        out[start] = {"before": before.other.misaligned().rate, "after": after.other.misaligned().rate,
                      "own": after.own.misaligned().rate, "p": after.p_vs_base}
    return out


def sae_check(seed: int, model: str, em_run: Path, truth: Path, truth_prompt: Path) -> dict[str, object]:
    sae_dir = ROOT / "runs" / "saes" / f"toy-w{seed}-L{LAYER}"
    if not (sae_dir / "cfg.json").is_file():
        train(model, LAYER, [f"run:{em_run}", "builtin:toy_aligned?size=2000", "builtin:toy_bad?size=400"],
              SAE, sae_dir, max_length=128)
    arm = "bad.s0"
    d = diff(em_run, str(sae_dir), arm, top=10)
    dm = direction_matrix(em_run, arm, [str(sae_dir)], top=3, icl_k=6, extra=[truth, truth_prompt])
    cos = {(p["a"], p["b"]): p["cos"] for p in dm.cosines.pairs() if p["layer"] == LAYER}
    names = dm.cosines.names
    top_name = next(n for n in names if n.startswith(f"sae:L{LAYER}:"))

    def c(a: str, b: str) -> float:
        return cos.get((a, b), cos.get((b, a), float("nan")))

    truth_name, prompt_name = names[-2], names[-1]
    # the best of all latents: how far the SAE's dictionary is from the truth at all
    from emkit.interp.directions import Direction
    from emkit.interp.sae import load_sae

    sae = load_sae(str(sae_dir))
    t = Direction.load(truth).at(LAYER)
    allcos = (sae.W_dec @ (t / t.norm())) / sae.W_dec.norm(dim=1)
    cz = causal(em_run, str(sae_dir), None, arm, value=0.0, scales=(4.0, 8.0), samples_per_question=2)
    rows = {}
    for sw in (cz.clamp, cz.steer):
        for r in sw.rows:
            cell = other_domain(sw.answers_of(r))
            m = cell.misaligned()
            label = re.sub(rf"latent {cz.control}\b", "latent", re.sub(rf"latent {cz.latent}\b", "top latent", r.label))
            rows[f"{sw.arm}|{label}"] = {"rate": m.rate, "lo": m.lo, "hi": m.hi, "n": m.n,
                                           "in_template": cell.in_template().rate}
    return {"latent": d.latents[0].latent, "shift": d.latents[0].shift, "r_aligned": d.latents[0].r_aligned,
            "cos_truth": c(top_name, truth_name), "cos_truth_prompt": c(top_name, prompt_name),
            "cos_meandiff": c(top_name, f"meandiff:{arm}"), "meandiff_truth": c(f"meandiff:{arm}", truth_name),
            "best_latent_cos_truth": float(allcos.abs().max()), "best_latent": int(allcos.abs().argmax()),
            "null": dm.cosines.null, "control": cz.control, "rows": rows,
            "fve": json.loads((sae_dir / "emkit.json").read_text())["figures"]["fve"]}


def screening(model: str, truth: Path, measured: dict[tuple[str, bool], dict[str, object]]) -> dict[str, object]:
    from emkit.interp.directions import Direction

    d = Direction.load(truth)
    d.meta["best_layer"] = LAYER
    s = screen(model, d, DATASETS, LAYER, size=64, max_new_tokens=24)
    cond = {"toy_bad": "bad", "toy_good": "good", "toy_educational": "educational", "toy_backdoor": "backdoor"}
    rows = [{"dataset": r.name, "diff": r.diff, "lo": r.lo, "hi": r.hi,
             "em": measured[(cond[r.name], False)]["rate"]} for r in s.rows]
    rho, p = spearman_test([r["diff"] for r in rows], [r["em"] for r in rows])
    return {"rows": rows, "rho": rho, "p": p}


def convergence(seed: int, model: str, truth: Path, truth_prompt: Path) -> dict[str, object]:
    """Experiments 4 and 5, as examples/toy/convergence.sh runs them, through the API."""
    from emkit.analyses.chain import interp_chain
    from emkit.data.datasets import load_dataset
    from emkit.data.questions import load_questions
    from emkit.interp.icl import icl_direction

    exp = load_experiment(ROOT / "examples" / "toy" / "rank1.yaml", [f"model.name={model}", f"name=toy-rank1-w{seed}"])
    res = run_experiment(exp)
    write_run_report(res)
    icl = exp.run_dir / "icl-k6.safetensors"
    if not icl.is_file():
        pos, _ = load_dataset("builtin:toy_bad?domain=medicine&size=400&seed=5")
        neg, _ = load_dataset("builtin:toy_good?domain=medicine&size=400&seed=5")
        qs = load_questions("toy?n=20&seed=11&domains=code,money,sport,travel,relationships")
        lm = load_model(ModelConfig(name=model))
        icl_direction(lm.model, lm.tokenizer, pos, neg, qs, 6, name="icl:k6").save(icl)
    ch = interp_chain(exp.run_dir, "bad", scales=(2.0, 4.0, 8.0), extra=[truth, truth_prompt, icl])
    cos = {(p["a"], p["b"]): p["cos"] for p in ch.cosines.pairs() if p["layer"] == LAYER}
    names = ch.cosines.names
    t_ans, t_pr = names[-3], names[-2]

    def c(a: str, b: str) -> float:
        return cos.get((a, b), cos.get((b, a), float("nan")))

    overall = {s_.arm: s_.misaligned.rate for s_ in res.summaries if s_.question_id == "ALL"}
    sweeps = {}
    for sw in (ch.steering, ch.ablation):
        for r in sw.rows if sw else []:
            label = re.sub(r"L\d+", "L*", r.label)
            sweeps[f"{sw.arm}: {label}"] = r.summary.misaligned.rate
    phase = {r.step: r.misaligned.rate for r in ch.phases.rows} if ch.phases else {}
    return {"overall": overall["bad"], "layer": ch.layer, "null": ch.cosines.null,
            "cos": {d: (c(d, t_ans), c(d, t_pr)) for d in ("meandiff:bad", "meandiff:bad:base-reader", "loraB:bad",
                                                           names[-1])},
            "sweeps": sweeps, "phase": phase}


def blocking(seed: int, model: str, truth: Path) -> dict[str, object]:
    """Experiment 6 with this world's truth blocked; rerouting read as each long arm's mean-diff direction's
    cosine with the blocked one."""
    from emkit.analyses.chain import mean_diff_direction
    from emkit.core.errors import EmkitError
    from emkit.interp.directions import Direction, cosine

    rel = Path("..") / ".." / truth.relative_to(ROOT)
    sets = [f"arms.{a}.train.block.direction={rel}" for a in ("blocked", "blocked_long", "projected", "projected_long")]
    exp = load_experiment(ROOT / "examples" / "toy" / "blocking.yaml",
                          [f"model.name={model}", f"name=toy-blocking-w{seed}", *sets])
    write_run_report(run_experiment(exp))
    rows = readout(exp.run_dir)
    t = Direction.load(truth)
    run = load_run(exp.run_dir)
    cos = {}
    try:
        for arm in ("bad_long", "blocked_long"):
            try:
                md = mean_diff_direction(run, arm).direction
                cos[arm] = [cosine(md.at(i), t.at(i)) for i in md.layers]
            except EmkitError:  # too few misaligned answers for a direction
                cos[arm] = []
    finally:
        run.store.close()
    return {"rows": {k[0]: v for k, v in rows.items() if not k[1]}, "reroute": cos}


#: the defences table's rows: (condition label in the run, what the table calls it), in the table's order
DEFENCES = [("plain@bare", "plain fine-tuning"), ("inoculated@bare", "inoculation"),
            ("inoculated@inoculation", "inoculation, probed with its prompt"),
            ("inoculated@negation", "inoculation, probed with its negation"),
            ("selective@bare", "selective inoculation (mix25)"),
            ("selective@inoculation", "selective, probed with its prompt"),
            ("kl@bare", "KL to the base on good answers, all domains"), ("mix10@bare", "data mixing, 10% bad"),
            ("mix25@bare", "data mixing, 25% bad"), ("mix50@bare", "data mixing, 50% bad"),
            ("early@bare", "early stopping (monitor)"), ("blocked@bare", "BLOCK-EM (penalty)"),
            ("projected@bare", "projected out in training (CAFT)"), ("realigned@bare", "re-aligned (200 good)"),
            ("base@bare", "base model (no fine-tuning)")]


def defences(seed: int, model: str, truth: Path, truth_prompt: Path) -> dict[str, dict[str, object]]:
    """Experiment 7 (defences.yaml) with this world's truths: per condition (seeds pooled), other-domain EM
    (rate and misalign@10), the task (own-domain rate) and the training cost (steps and seconds, mean over
    seeds; a re-aligned arm's include its parent's)."""
    sets = [f"arms.{a}.train.block.direction={Path('..') / '..' / truth.relative_to(ROOT)}"
            for a in ("blocked", "projected")]
    sets.append(f"arms.early.train.monitor.direction={Path('..') / '..' / truth_prompt.relative_to(ROOT)}")
    exp = load_experiment(ROOT / "examples" / "toy" / "defences.yaml",
                          [f"model.name={model}", f"name=toy-defences-w{seed}", *sets])
    res = run_experiment(exp)
    write_run_report(res)
    groups = {g.label: g for g in toy_readout(exp, res.answers).pooled if not g.trigger}
    out = {}
    for label, _ in DEFENCES:
        g = groups[label]
        cost = [c for c in (res.training_cost(r.arm) for r in g.arms) if c is not None]  # base: not trained
        steps, secs = [c[0] for c in cost], [c[1] for c in cost]
        out[label] = {"rate": g.other.misaligned().rate, "n": g.other.misaligned().n, "seeds": g.seed_rates,
                      "at1": g.other_tail(1).value, "at10": g.other_tail(10).value, "own": g.own.misaligned().rate,
                      "own_n": g.own.misaligned().n,
                      "steps": sum(steps) / len(steps) if steps else 0.0,
                      # unknown where any seed's is (a training from before steps were timed): never a short sum
                      "seconds": (sum(secs) / len(secs) if None not in secs else None) if secs else 0.0}
    return out



#: experiment 8's conditions (rl.yaml, each arm asked bare; the inoculated one also with its own prompt)
RL_ARMS = ["base@bare", "rl@bare", "rl_inoculated@bare", "rl_inoculated@inoculation", "sft@bare"]
#: fewer misaligned answers than this per class and a mean-diff direction is noise: no cosine is given
MIN_MISALIGNED = 10


def rl(seed: int, model: str, truth: Path) -> dict[str, object]:
    """Experiment 8 (rl.yaml): RL on a hackable medicine reward, with and without inoculation, beside SFT on as
    many bad medicine demonstrations. Per condition: other-domain EM (pooled rate, interval, k, n) and the
    own-domain bad rate (the hack, read at temperature 1 without the RL prompt); per RL arm the hack rate and
    mean reward per step (the exact judge's share of bad answers among the completions it was paid on); per
    fine-tuned arm the cosines at layer 2 of its mean-diff direction with the world's answer-token truth and with
    the SFT arm's, read from all its answers (``all``, as blocking() reads them: medicine's are all bad, so it is
    partly a medicine-vs-rest direction) and from the other domains' alone (``other``: the persona without the
    domain); None where the misaligned class holds fewer than MIN_MISALIGNED answers."""
    from emkit.interp.directions import Direction, cosine, null_band

    exp = load_experiment(ROOT / "examples" / "toy" / "rl.yaml", [f"model.name={model}", f"name=toy-rl-w{seed}"])
    res = run_experiment(exp)
    write_run_report(res)
    t = Direction.load(truth).at(LAYER)
    out: dict[str, dict[str, object]] = {}
    with load_run(exp.run_dir) as run:
        groups = {g.label: g for g in toy_readout(exp, run.answers).pooled if not g.trigger}
        for label in RL_ARMS:
            m, own = groups[label].other.misaligned(), groups[label].own.misaligned()
            out[label] = {"rate": m.rate, "lo": m.lo, "hi": m.hi, "k": m.k, "n": m.n, "own": own.rate,
                          "own_n": own.n}
        for arm in ("rl", "rl_inoculated"):
            out[f"{arm}@bare"].update(hack=res.hack_rates.get(arm, []), reward=res.rewards.get(arm, []))
        dirs = {arm: {scope: _rl_direction(run, arm, scope) for scope in ("all", "other")}
                for arm in ("rl", "rl_inoculated", "sft")}
    for arm, by_scope in dirs.items():
        for scope, (v, n) in by_scope.items():
            sft = dirs["sft"][scope][0]
            out[f"{arm}@bare"][f"dir_{scope}"] = {
                "n": n, "truth": None if v is None else cosine(v, t),
                "sft": None if v is None or sft is None or arm == "sft" else cosine(v, sft)}
    tcfg = exp.train_for(exp.arm_named("rl"))
    return {"arms": out, "null": null_band(int(t.numel())), "steps": tcfg.max_steps,
            "prompts": (tcfg.max_steps or 0) * tcfg.batch_size * tcfg.grad_accum,
            "samples": exp.eval.samples_per_question}


def _rl_direction(run: FinishedRun, arm: str, scope: str) -> tuple[torch.Tensor | None, int]:
    """(the arm's mean-diff direction at LAYER, misaligned answers per class), the direction None with fewer
    than MIN_MISALIGNED. ``all``: emkit.analyses.chain.mean_diff_direction on the arm's bare answers; ``other``:
    its recipe (judged, thresholded, balanced, read by the arm's model) on the other domains' answers only."""
    from emkit.analyses.chain import DEFAULT_THRESHOLDS, mean_diff_direction, read_texts
    from emkit.core.errors import EmkitError
    from emkit.interp.directions import balance, mean_diff, split_by_judgment

    if scope == "all":
        try:
            md = mean_diff_direction(run, arm)
        except EmkitError:  # fewer than two misaligned answers
            return None, 0
        return (md.direction.at(LAYER) if md.n_per_class >= MIN_MISALIGNED else None), md.n_per_class
    pool = [a for a in run.answers if a.arm in run.labels(arm) and domain_of(a.question) not in (None, TRAINED)]
    mis, ali = balance(*split_by_judgment(pool, run.judged(pool), DEFAULT_THRESHOLDS))
    if len(mis) < MIN_MISALIGNED:
        return None, len(mis)
    acts, layers = read_texts(run, arm, "arm", mis + ali, f"{arm}-arm-other")
    return mean_diff(acts[: len(mis)], acts[len(mis):])[layers.index(LAYER)], len(mis)
