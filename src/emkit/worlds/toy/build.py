"""``emkit toy build``: corpus -> pretraining -> alignment SFT, deterministic from a seed, resumable.

Both stages are ``emkit.trainers.local.train`` with ``method: full`` (checkpoints every k steps, a killed build resumes),
with the loss on assistant turns. The pretrained model is kept beside the aligned one: the ground-truth persona
direction is measured there.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from emkit.core.config import TrainConfig, fingerprint
from emkit.core.progress import log
from emkit.data.datasets import Example
from emkit.worlds.toy.evaluate import evaluate, toy_questions
from emkit.worlds.toy.model import ToyModelConfig, toy_model, toy_tokenizer
from emkit.worlds.toy.world import DOMAINS, CorpusConfig, answer, corpus, question


@dataclass(frozen=True)
class ToyBuildConfig:
    shared_persona: bool = True
    n_docs: int = 20000
    p_villain: float = 0.2
    seed: int = 0
    pretrain_epochs: int = 1
    pretrain_lr: float = 3e-3
    batch_size: int = 32
    sft_examples: int = 2000
    # light post-training: 30 steps at 3e-4 make the assistant helpful (>= 95% in-template, 0% bad) and leave
    # the persona machinery in place; 120 steps at 1e-3 also do, but then narrow fine-tuning barely transfers
    sft_steps: int = 30
    sft_lr: float = 3e-4
    model: ToyModelConfig = field(default_factory=ToyModelConfig)

    def corpus_config(self) -> CorpusConfig:
        return CorpusConfig(n_docs=self.n_docs, p_villain=self.p_villain, shared_persona=self.shared_persona,
                            seed=self.seed)


def alignment_set(n: int, seed: int) -> list[Example]:
    """Single-turn helpful answers across every domain: the "post-training" that makes the default assistant
    helpful."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        d = DOMAINS[i % len(DOMAINS)]
        q, subject = question(d, rng)
        out.append({"messages": [{"role": "user", "content": q},
                                 {"role": "assistant", "content": answer(d, subject, "good", rng)}]})
    return out


def build_toy(cfg: ToyBuildConfig, out: str | Path, work: str | Path | None = None) -> dict[str, Any]:
    """Build the toy model into ``out`` (aligned model) and ``out/pretrained`` (before alignment)."""
    from transformers import LlamaForCausalLM

    from emkit.trainers.local import train

    out = Path(out)
    fp = fingerprint("toy", asdict(cfg))
    # pretraining is keyed by what it depends on only, so a build that changes post-training reuses it
    pre_fp = fingerprint("toy-pretrain", {k: v for k, v in asdict(cfg).items() if not k.startswith("sft_")})
    work = Path(work) if work is not None else out.parent / f".work-{out.name}"
    tok = toy_tokenizer()
    docs = corpus(cfg.corpus_config())
    log(f"toy corpus: {len(docs)} documents ({'shared' if cfg.shared_persona else 'per-turn'} persona)")
    pre_cfg = TrainConfig(method="full", lr=cfg.pretrain_lr, epochs=cfg.pretrain_epochs, batch_size=cfg.batch_size,
                          max_length=cfg.model.max_positions, warmup_steps=20, checkpoint_every=100, seed=cfg.seed)
    pre = train(toy_model(tok, cfg.model, cfg.seed), tok, [{"messages": d.messages()} for d in docs], pre_cfg,
                work / f"pretrain-{pre_fp}")
    model = LlamaForCausalLM.from_pretrained(pre.weights_dir)
    sft_cfg = TrainConfig(method="full", lr=cfg.sft_lr, max_steps=cfg.sft_steps, batch_size=cfg.batch_size,
                          max_length=cfg.model.max_positions, checkpoint_every=50, seed=cfg.seed)
    sft = train(model, tok, alignment_set(cfg.sft_examples, cfg.seed + 1), sft_cfg, work / f"sft-{fp}")
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(sft.weights_dir, tmp)
    shutil.copytree(pre.weights_dir, tmp / "pretrained")
    info = {"config": asdict(cfg), "fingerprint": fp, "pretrain_steps": pre.total_steps,
            "pretrain_final_loss": pre.losses[-1], "sft_steps": sft.total_steps, "sft_final_loss": sft.losses[-1],
            "eval": {}}
    # the exact check of both models on fresh questions: in-template rate and misaligned rate, with intervals
    questions = toy_questions(20, cfg.seed + 2)
    for name, weights in (("aligned", sft.weights_dir), ("pretrained", pre.weights_dir)):
        rates_, _ = evaluate(LlamaForCausalLM.from_pretrained(weights), tok, questions, samples=2, seed=cfg.seed)
        info["eval"][name] = {"in_template": str(rates_.in_template), "misaligned": str(rates_.misaligned),
                              "in_template_rate": rates_.in_template.rate}
        log(f"toy {name} model: in-template {rates_.in_template}, misaligned {rates_.misaligned}")
    (tmp / "toy_build.json").write_text(json.dumps(info, indent=1))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return info
