"""The run folder's layout, written down once: every stage, analysis and page finds a run's files here, so moving
a file means changing one line, and a reader sees the whole folder on one screen.

```
<output_dir>/emkit.sqlite                          the store, shared by every run in the folder
<output_dir>/<name>/config.yaml                    the experiment as run
                    metrics.json, metrics.parquet  summaries; report.html; comparisons.json
                    judges-<A>__<B>.json           judges side by side
                    arms/<arm>/train-<fp>/         weights and checkpoints of one training
                    arms/<arm>/samples-<fp>.jsonl  one condition's answers (<arm> may be ARM@VARIANT)
                    kl/kl-answers-<fp>.jsonl       train.kl's questions with the base model's answers (a cache)
                    interp/directions/             directions (safetensors)
                    interp/acts/, interp/sae-acts/ captured activations, SAE latents (caches)
                    interp/phases/<arm>/step-<step>-<fp>.jsonl, interp/sweeps/<arm>/<fp>.jsonl
                    interp/<analysis>.json         each analysis's result (phases-ARM, sae-diff-ARM, summary, ...)
                    sections/<section>.html        report sections added after the run
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STORE_FILE = "emkit.sqlite"


def store_path(output_dir: str | Path) -> Path:
    return Path(output_dir) / STORE_FILE


@dataclass(frozen=True)
class RunFolder:
    """``<output_dir>/<name>/``: where a run keeps what."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def store(self) -> Path:
        return store_path(self.path.parent)

    @property
    def config(self) -> Path:
        return self.path / "config.yaml"

    @property
    def report(self) -> Path:
        return self.path / "report.html"

    @property
    def metrics_json(self) -> Path:
        return self.path / "metrics.json"

    @property
    def metrics_parquet(self) -> Path:
        return self.path / "metrics.parquet"

    def arm(self, arm: str) -> Path:
        return self.path / "arms" / arm

    def training(self, arm: str, fingerprint: str) -> Path:
        return self.arm(arm) / f"train-{fingerprint}"

    def samples(self, arm: str, fingerprint: str) -> Path:
        return self.arm(arm) / f"samples-{fingerprint}.jsonl"

    @property
    def kl(self) -> Path:
        """Base answers to train.kl's question sets, one file per model and set (shared by the run's arms)."""
        return self.path / "kl"

    @property
    def interp(self) -> Path:
        return self.path / "interp"

    @property
    def directions(self) -> Path:
        return self.interp / "directions"

    @property
    def sections(self) -> Path:
        """Report sections added after the run (``sections/NAME.html``), gathered into ``report.html``."""
        return self.path / "sections"

    def result(self, name: str) -> Path:
        """An analysis's saved result, ``interp/NAME.json``."""
        return self.interp / f"{name}.json"

    @property
    def comparisons(self) -> Path:
        """The pairwise differences between arms (``comparisons.json``)."""
        return self.path / "comparisons.json"

    def judges(self, judge_ids: list[str]) -> Path:
        """Judges side by side on the run's answers (``judges-A__B.json``)."""
        return self.path / f"judges-{'__'.join(j.replace(':', '-').replace('/', '-') for j in judge_ids)}.json"

    def monitor(self, arm: str, fingerprint: str) -> Path:
        """A training's direction readings by step, beside its weights."""
        return self.training(arm, fingerprint) / "monitor.jsonl"

    def phase_answers(self, arm: str, step: int, fingerprint: str) -> Path:
        return self.interp / "phases" / arm / f"step-{step:06d}-{fingerprint}.jsonl"

    def sweep_answers(self, arm: str, fingerprint: str) -> Path:
        return self.interp / "sweeps" / arm / f"{fingerprint}.jsonl"

    def scaled_adapter(self, arm: str, scale: float) -> Path:
        return self.interp / "adapters" / f"{arm}-x{scale:g}"

    def captured(self, tag: str, fingerprint: str) -> Path:
        """Activations captured from answers (a folder per capture)."""
        return self.interp / "acts" / f"{tag}-{fingerprint}"

    def sae_latents(self, tag: str, fingerprint: str) -> Path:
        """An SAE's latent activations on answers (one file per read)."""
        return self.interp / "sae-acts" / f"{tag}-{fingerprint}.pt"

    def later_answers(self) -> list[Path]:
        """Answers sampled after the run, on its checkpoints (phase curves) and interventions (sweeps)."""
        return sorted(self.interp.glob("phases/*/*.jsonl")) + sorted(self.interp.glob("sweeps/*/*.jsonl"))
