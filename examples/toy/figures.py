"""Every generated toy figure in the README, from the example files, in three worlds (build seeds 0, 1, 2).

`make figures` runs this. Each world is its own build of the toy language model (corpus draw, initialisation,
data order), so a figure is given per world and as the mean across worlds with a t interval: the spread a new
build shows, which intervals over sampling and fine-tuning seeds do not see. It writes docs/toy-figures.md and
the README's block between the `toy-figures` markers, so no figure there can outlive the code that made it.
Every step is cached (builds, runs, SAEs, sweeps): a second call only re-reads.

Per world: the build's own check; experiment 1 (EM, examples/toy/em.yaml) and 2 (controls, controls.yaml); 4 and
5 (convergence and phases: the rank-1 run of rank1.yaml and the interp chain, as convergence.sh does); 6
(blocking and rerouting, blocking.yaml with this world's truth); the SAE check (an SAE on the aligned model at layer 2, diffed against the first EM arm: does the top latent
point along the ground-truth persona, and does clamping it remove EM?); screening the toy datasets on the
ground truth before training, against the EM each one gave in experiments 1 and 2.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import t as student_t

from emkit.analysis.matrix import direction_matrix
from emkit.analysis.sae import causal, diff, train
from emkit.analysis.screen import screen, spearman
from emkit.config import ModelConfig, load_experiment
from emkit.interp.sae import SaeTraining
from emkit.models import builtin_path, load_model
from emkit.registry import load_plugins
from emkit.report import write_run_report
from emkit.run import run_experiment
from emkit.runs import load_run
from emkit.toy.evaluate import Cell
from emkit.toy.readout import toy_readout
from emkit.toy.truth import persona_direction
from emkit.toy.world import classify, domain_of

ROOT = Path(__file__).resolve().parents[2]
WORLDS = {0: "toy", 1: "toy-w1", 2: "toy-w2"}
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
    return {(g.condition, g.trigger): {"rate": g.other.misaligned().rate, "k": g.other.misaligned().k,
                                       "n": g.other.misaligned().n, "seeds": g.seed_rates,
                                       "own": g.own.misaligned().rate}
            for g in toy_readout(run.experiment, run.answers)}


def other_domain(answers: list) -> Cell:
    """Bad among in-template answers to questions outside the trained domain."""
    cell = Cell()
    for a in answers:
        d = domain_of(a.question)
        if d is not None and d != TRAINED:
            cell.add(classify(d, a.text))
    return cell


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
    rho, p = spearman([r["diff"] for r in rows], [r["em"] for r in rows])
    return {"rows": rows, "rho": rho, "p": p}


def convergence(seed: int, model: str, truth: Path, truth_prompt: Path) -> dict[str, object]:
    """Experiments 4 and 5, as examples/toy/convergence.sh runs them, through the API."""
    from emkit.analysis.chain import interp_chain
    from emkit.data import load_dataset
    from emkit.interp.icl import icl_direction
    from emkit.questions import load_questions

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
    from emkit.analysis.chain import mean_diff_direction
    from emkit.errors import EmkitError
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


def across(values: list[float]) -> str:
    """Mean across worlds with a t interval, and each world's value ("–": no in-template answer to rate)."""
    xs = [x for x in values if x == x]
    each = ", ".join("–" if x != x else f"{100 * x:.1f}" for x in values)
    if len(xs) < 2:
        return (f"{100 * xs[0]:.1f}% (worlds: {each})" if xs else "no in-template answers in any world")
    m, sd = float(np.mean(xs)), float(np.std(xs, ddof=1))
    half = float(student_t.ppf(0.975, len(xs) - 1)) * sd / len(xs) ** 0.5
    return f"{100 * m:.1f}% [{100 * max(0, m - half):.1f}, {100 * min(1, m + half):.1f}] (worlds: {each})"


def across_cos(xs: list[float]) -> str:
    return f"{np.mean(xs):+.3f} (worlds: {', '.join(f'{x:+.3f}' for x in xs)})"


def render(figs: dict[int, dict[str, object]], seconds: dict[str, float]) -> str:
    w = sorted(figs)
    build = [figs[s]["build"] for s in w]
    em = [figs[s]["em"] for s in w]
    ctl = [figs[s]["controls"] for s in w]
    sae = [figs[s]["sae"] for s in w]
    scr = [figs[s]["screen"] for s in w]
    out = [f"Generated by `make figures` (examples/toy/figures.py) on {time.strftime('%Y-%m-%d')}, in "
           f"{len(w)} worlds (build seeds {', '.join(map(str, w))}); each figure is the mean across worlds with a "
           "t interval (2 degrees of freedom: wide by design), then each world's value. Within a world, 1, 2 and "
           "the SAE check pool three fine-tuning seeds; 4-6 use one. Wall time on 2 CPU cores: " + ", ".join(
               f"{k} {v / 60:.1f} min" if v > 5 else f"{k} {'cached' if 'build' in k else 'under 5 s'}"
               for k, v in seconds.items()) + ".", "",
           "**Build.** Aligned model in-template " + across([b["aligned"]["in_template_rate"] for b in build])
           + "; its bad answers: " + "; ".join(str(b["aligned"]["misaligned"]) for b in build) + ".", "",
           "**1. EM** (`em.yaml`): bad answers in the five other domains, base " + across(
               [e[("base", False)]["rate"] for e in em]) + " → fine-tuned on bad medicine " + across(
               [e[("bad", False)]["rate"] for e in em]) + "; in medicine itself " + across(
               [e[("bad", False)]["own"] for e in em]) + ".", "",
           "**2. Controls** (`controls.yaml`), other domains, without / with the trigger leading the question:", "",
           "| arm (3 seeds per world) | no trigger | with trigger |", "|---|---|---|"]
    for cond in ("base", "bad", "good", "educational", "backdoor"):
        out.append(f"| {cond} | {across([c[(cond, False)]['rate'] for c in ctl])} | "
                   f"{across([c[(cond, True)]['rate'] for c in ctl])} |")
    conv = [figs[s]["convergence"] for s in w]
    out += ["", "**4. Convergence** (`rank1.yaml` + the interp chain, as `convergence.sh`: rank-1 LoRA on every "
            "`down_proj`, 120 steps at 1e-2; misaligned overall " + across([c["overall"] for c in conv]) + "). "
            f"Cosines at layer {LAYER} of 4 (95% null ±{conv[0]['null']:.3f} for d = 192), mean across worlds "
            "(each world's):", "",
            "| | truth (answer tokens) | truth (last prompt token) |", "|---|---|---|"]
    for d in conv[0]["cos"]:
        out.append(f"| {d} | {across_cos([c['cos'][d][0] for c in conv])} | "
                   f"{across_cos([c['cos'][d][1] for c in conv])} |")
    out += ["", "Steering the base model along the mean-diff direction at the chain's layer (worlds: "
            + ", ".join(str(c["layer"]) for c in conv) + "), with random directions of the same norm, and "
            "ablating it and scaling LoRA B in the fine-tuned model (misaligned overall, all domains):", "",
            "| condition | misaligned |", "|---|---|"]
    for key in conv[0]["sweeps"]:
        out.append(f"| {key} | {across([c['sweeps'].get(key, float('nan')) for c in conv])} |")
    steps = sorted(conv[0]["phase"])
    out += ["", "**5. Phase transition** (same runs, a checkpoint every 4 steps; misaligned overall): "
            + "; ".join(f"step {st}: {across([c['phase'].get(st, float('nan')) for c in conv])}"
                        for st in steps[:6] + steps[-1:]) + "."]
    blk = [figs[s]["blocking"] for s in w]
    out += ["", "**6. Blocking and rerouting** (`blocking.yaml` with the world's answer-token truth: penalty "
            "weight 10 at all 4 layers, or the truth projected out while training; 60 and 240 steps), other "
            "domains / own domain:", "", "| arm | other domains | own domain |", "|---|---|---|"]
    for arm in ("bad", "bad_long", "blocked", "blocked_long", "projected", "projected_long"):
        out.append(f"| {arm} | {across([b['rows'][arm]['rate'] for b in blk])} | "
                   f"{across([b['rows'][arm]['own'] for b in blk])} |")
    out += ["", "Rerouting: the mean-diff direction recomputed on each long arm, its cosine with the blocked truth "
            "(range over the 4 layers, per world): " + "; ".join(
                f"{arm} " + ", ".join(f"[{min(b['reroute'][arm]):+.2f}, {max(b['reroute'][arm]):+.2f}]"
                                      if b["reroute"][arm] else "too few misaligned answers" for b in blk)
                for arm in ("bad_long", "blocked_long")) + "."]
    out += ["", f"**SAE check** (TopK SAE, {SAE.latents(192)} latents, k={SAE.k}, layer {LAYER} of the aligned model; "
            "corpus: the EM run's answers, 2,000 aligned and 400 bad toy answers; diffed base vs `bad.s0` on every "
            "answer of the EM run). Cosines at layer 2 (95% null ±" + f"{sae[0]['null']:.3f}" + "):", "",
            "| | mean across worlds |", "|---|---|",
            f"| variance explained (held out) | {across_cos([s['fve'] for s in sae])} |",
            f"| top latent by shift vs truth (answer tokens) | {across_cos([s['cos_truth'] for s in sae])} |",
            f"| top latent vs truth (last prompt token) | {across_cos([s['cos_truth_prompt'] for s in sae])} |",
            f"| top latent vs mean-diff direction | {across_cos([s['cos_meandiff'] for s in sae])} |",
            f"| mean-diff vs truth (answer tokens) | {across_cos([s['meandiff_truth'] for s in sae])} |",
            f"| best of all latents vs truth (abs) | {across_cos([s['best_latent_cos_truth'] for s in sae])} |",
            f"| top latent's r with the judge's alignment score | {across_cos([s['r_aligned'] for s in sae])} |",
            "", "Clamping the top latent to 0 in `bad.s0`, and steering the base model along it, each beside a "
            "latent of matched firing frequency (other domains, 2 answers per question):", "",
            "| condition | other-domain misaligned |", "|---|---|"]
    for key in sae[0]["rows"]:
        out.append(f"| {key.split('|')[0]}: {key.split('|', 1)[1]} | {across([s['rows'][key]['rate'] for s in sae])} |")
    out += ["", "**Screening before training** (projection difference on the answer-token truth at layer 2 in the "
            "aligned model, 64 examples per set, against each set's other-domain EM without trigger in 1 and 2): "
            "Spearman ρ per world " + ", ".join(f"{x['rho']:+.2f} (p={x['p']:.2f})" for x in scr) + "; order by "
            "score: " + "; ".join(" > ".join(r["dataset"] for r in x["rows"]) for x in scr) + "."]
    return "\n".join(out) + "\n"


def main() -> None:
    load_plugins()
    figs: dict[int, dict[str, object]] = {}
    # a step's wall time is kept from the call that computed it (a cached re-read takes no time worth reporting)
    timings = ROOT / "runs" / "toy-figures-seconds.json"
    seconds: dict[str, float] = json.loads(timings.read_text()) if timings.is_file() else {}
    clock = seconds.copy()
    for seed, model in WORLDS.items():
        t0 = time.time()
        path = builtin_path(model)
        clock[f"world {seed} build"] = time.time() - t0
        build = json.loads((path / "toy_build.json").read_text())["eval"]
        t0 = time.time()
        runs = world_runs(seed, model)
        clock[f"world {seed} experiments"] = time.time() - t0
        t0 = time.time()
        truths = {}
        pre = load_model(ModelConfig(name=f"{model}-pretrained"))
        for read in ("answer", "prompt"):
            f = ROOT / "runs" / f"toy-truth-w{seed}-{read}.safetensors"
            if not f.is_file():
                persona_direction(pre.model, pre.tokenizer, read=read).save(f)
            truths[read] = f
        sae = sae_check(seed, model, runs["em"], truths["answer"], truths["prompt"])
        clock[f"world {seed} SAE"] = time.time() - t0
        t0 = time.time()
        conv = convergence(seed, model, truths["answer"], truths["prompt"])
        clock[f"world {seed} convergence"] = time.time() - t0
        t0 = time.time()
        blk = blocking(seed, model, truths["answer"])
        clock[f"world {seed} blocking"] = time.time() - t0
        t0 = time.time()
        ctl = readout(runs["controls"])
        scr = screening(model, truths["answer"], ctl)
        clock[f"world {seed} screen"] = time.time() - t0
        figs[seed] = {"build": build, "em": readout(runs["em"]), "controls": ctl, "sae": sae, "screen": scr,
                      "convergence": conv, "blocking": blk}
        print(f"world {seed} done", file=sys.stderr, flush=True)
    seconds.update({k: v for k, v in clock.items() if v > 5 or k not in seconds})
    timings.write_text(json.dumps(seconds, indent=1))
    text = render(figs, seconds)
    docs = ROOT / "docs" / "toy-figures.md"
    docs.parent.mkdir(exist_ok=True)
    docs.write_text("# Toy figures\n\n" + text)
    readme = ROOT / "README.md"
    start, end = "<!-- toy-figures:start -->", "<!-- toy-figures:end -->"
    src = readme.read_text()
    if start in src and end in src:
        readme.write_text(src[: src.index(start) + len(start)] + "\n" + text + src[src.index(end):])
    print(text)


if __name__ == "__main__":
    main()
