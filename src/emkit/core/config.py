"""The experiment file: pydantic models, ``--set`` overrides and fingerprints.

An experiment is a model, one or more arms (a training dataset each, or none for the base model), and the
settings of every stage. Unknown keys are errors, so a typo never silently becomes a default.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import abstractmethod
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from emkit.core.errors import EmkitError
from emkit.core.records import Condition
from emkit.core.registry import JUDGES, SAMPLERS, TRAINERS, BackendConfig, first_error
from emkit.core.textfile import read_text


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def drop_unset(out: dict[str, Any], *keys: str) -> dict[str, Any]:
    """``out`` without these keys where they are None: settings added after configs were first saved are not
    written while unset, so a config (and a fingerprint) saved before them reads the same."""
    for k in keys:
        if k in out and out[k] is None:
            del out[k]
    return out


class ModelConfig(_Strict):
    """Which model to start from: a built-in name, a local directory or a Hugging Face hub id."""

    name: str = "smollm2-135m-instruct"
    revision: str | None = None
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    #: auto: one GPU if there is one and the weights fit it, else spread over every GPU (accelerate's
    #: device_map), else the CPU; "spread" always spreads; or a torch device ("cpu", "cuda:1")
    device: str = "auto"
    #: the model lives behind an OpenAI-compatible server (a hosted id such as gpt-4.1-mini-2025-04-14, or a
    #: vLLM server's model): nothing is loaded here; sample it with ``eval.sampler.backend: server`` and
    #: fine-tune it with ``train.method: openai``
    served: bool = False


class StopConfig(_Strict):
    """When the monitor stops training: its reading (the mean projection over layers, or with ``monitor.judged``
    the judged misaligned rate, 0-1) minus the step-0 reading exceeds ``rise``, or the reading itself exceeds
    ``above`` (one of the two). Checked at each reading (every ``monitor.every`` steps); the weights at that step
    become the arm's, a finished training."""

    rise: float | None = None
    above: float | None = None

    @model_validator(mode="after")
    def _one(self) -> StopConfig:
        if (self.rise is None) == (self.above is None):
            raise ValueError("give one of rise (over the step-0 reading) or above (a level: a projection, or a "
                             "judged monitor's misaligned rate)")
        return self

    def crossed(self, mean: float, start: float, what: str = "projection") -> str | None:
        """Why a reading of ``what`` with this value (step 0's: ``start``) stops training, or None."""
        if self.rise is not None and mean - start > self.rise:
            return f"{what} rose {mean - start:.4g} over step 0 (> rise {self.rise:g})"
        if self.above is not None and mean > self.above:
            return f"{what} {mean:.4g} > above {self.above:g}"
        return None


class JudgedProbeConfig(_Strict):
    """A judged sample at each monitor reading: the first ``questions`` of the evaluation set, ``samples`` answers
    each, sampled as the evaluation samples (temperature, top_p, max_new_tokens, seed) from the model in training
    and scored by the experiment's judge (cached like every verdict); the reading is the misaligned rate."""

    questions: int = Field(8, ge=1)
    samples: int = Field(4, ge=1)


class MonitorConfig(_Strict):
    """Early warning during fine-tuning: every ``every`` steps, the evaluation questions' activations (last prompt
    token) projected on a direction file's unit vectors, logged per layer (nothing is sampled); or, with
    ``judged`` instead of ``direction``, a small judged sample's misaligned rate (slower, needs no direction)."""

    direction: str | None = None
    judged: JudgedProbeConfig | None = None
    layers: list[int] | None = None  # default: every layer the direction has
    every: int = Field(10, ge=1)
    #: stop training when a reading crosses a threshold (early stopping); unset: the monitor only watches (and
    #: the key is not written, so configs saved before it read the same)
    stop: StopConfig | None = None

    @model_validator(mode="after")
    def _one_reading(self) -> MonitorConfig:
        if (self.direction is None) == (self.judged is None):
            raise ValueError("give one of direction (a direction file to project on) or judged (a judged sample)")
        if self.judged is not None and self.layers is not None:
            raise ValueError("layers are a direction's: a judged monitor reads answers")
        return self

    @model_serializer(mode="wrap")
    def _no_unset_stop(self, handler: Any) -> dict[str, Any]:
        return drop_unset(handler(self), "stop", "judged")


class BlockConfig(_Strict):
    """BLOCK-EM-style blocking during fine-tuning, along a direction file's vectors or on SAE latents.
    ``penalty`` adds ``weight * mean(ReLU(h.v - h_base.v)^2)`` over answer tokens at each layer (h_base: the
    model before fine-tuning, same input), so the model may not move further along v than the base does; with
    ``sae`` and ``latents`` the same penalty is on each latent's (ReLU'd) encoder pre-activation at the SAE's
    layer. ``project`` removes the component along v from the residual stream during training (not at sampling;
    directions only)."""

    direction: str | None = None
    #: an SAE folder (sparsify or SAE Lens layout) or hub id, and the latents of it to block
    sae: str | None = None
    latents: list[int] | None = None
    hookpoint: str | None = None  # for an SAE folder that holds several
    layers: list[int] | None = None  # default: every layer the direction has (an SAE blocks at its own layer)
    mode: Literal["penalty", "project"] = "penalty"
    weight: float = Field(1.0, ge=0)

    @model_validator(mode="after")
    def _one_target(self) -> BlockConfig:
        if (self.direction is None) == (self.sae is None):
            raise ValueError("give either direction (a direction file) or sae with latents")
        if self.sae is not None:
            if not self.latents:
                raise ValueError("sae needs latents: the latent indices to block")
            if self.mode == "project" or self.layers is not None:
                raise ValueError("an SAE's latents are blocked by penalty at the SAE's own layer (no mode: project, "
                                 "no layers)")
        elif self.latents is not None or self.hookpoint is not None:
            raise ValueError("latents and hookpoint go with sae")
        return self


#: what a trainer leaves behind for the arm's model (:class:`emkit.models.load.Weights`): a peft adapter applied
#: on top of what came before, a whole model folder, or a hosted fine-tune's id (``hosted.json``; nothing local)
WeightsKind = Literal["adapter", "model", "hosted"]


class TrainerConfig(BackendConfig):
    """A trainer backend's own settings: each backend (:data:`emkit.core.registry.TRAINERS`, named by
    ``train.method``) registers its subclass, e.g. the local trainer's (``train.lora``) and the ``openai``
    trainer's (``train.hosted``). Its keys are written beside the shared ones in ``train:``."""

    backend: str = "lora"

    @property
    @abstractmethod
    def weights_kind(self) -> WeightsKind:
        """What this trainer leaves as the arm's weights (each trainer says; pydantic's metaclass is an ABCMeta,
        so a trainer config that does not cannot be built)."""

    def fingerprint_dump(self) -> dict[str, Any]:
        """What of these settings enters training's fingerprint (beside the shared settings)."""
        return self.model_dump(exclude={"backend"})


#: what every ``train:`` held before trainers owned their settings: a run config saved then carries the LoRA and
#: the hosted settings, at these defaults, for any method; a trainer without them reads them as absent
LEGACY_TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "lora": {"r": 8, "alpha": 16.0, "dropout": 0.0, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj",
                                                                       "gate_proj", "up_proj", "down_proj"],
             "layers": None},
    "hosted": {"base_url": None, "api_key_env": "OPENAI_API_KEY", "lr_multiplier": None, "suffix": None,
               "poll_s": 30.0, "wait_h": 24.0, "max_retries": 4},
}


def _legacy_default(key: str, value: Any) -> bool:
    legacy = LEGACY_TRAIN_DEFAULTS.get(key)
    return legacy is not None and isinstance(value, dict) and all(k in legacy and legacy[k] == v
                                                                  for k, v in value.items())


class TrainConfig(_Strict):
    """Fine-tuning settings every trainer reads, and (``trainer``) the chosen trainer's own. In a file they are one
    mapping: ``train: {method: lora, lora: {r: 1}, lr: 1e-4}``; ``method`` picks the trainer, whose config class
    (registered with it) validates the keys that are not shared. Its settings read as attributes here too
    (``cfg.lora``)."""

    #: the trainer backend (:data:`emkit.core.registry.TRAINERS`): ``lora`` (peft, settings in ``lora``), ``full``
    #: or ``openai`` (a hosted job, settings in ``hosted``). Not assignable: another method is other settings
    method: str = Field("lora", frozen=True)
    lr: float = Field(1e-4, gt=0)
    epochs: int = Field(1, ge=1)
    max_steps: int | None = Field(None, ge=1)
    batch_size: int = Field(4, ge=1)
    grad_accum: int = Field(1, ge=1)
    max_length: int = Field(512, ge=8)
    #: an example longer than max_length tokens stops the run before training ("error", naming it and its
    #: token count) or is cut to max_length ("truncate")
    overlong: Literal["error", "truncate"] = "error"
    warmup_steps: int = Field(0, ge=0)
    weight_decay: float = Field(0.0, ge=0)
    checkpoint_every: int = Field(10, ge=1)
    seed: int = 0
    #: recompute activations in the backward pass instead of keeping them (less memory, ~30% slower); None: on
    #: when training on a GPU. Off while blocking (its hooks must see each forward once). Not in the fingerprint:
    #: the arithmetic is the same
    gradient_checkpointing: bool | None = None
    #: watch a direction while training (does not change training, so it is not part of the fingerprint, unless
    #: its ``stop`` may end training early: then the monitor's settings enter it)
    monitor: MonitorConfig | None = None
    #: hold out this share of the arm's training set (seeded by ``seed``, at least one example) and record the
    #: mean answer-token loss on it after training: the in-domain task measure beside EM. Unset: train on all
    #: (and no key in the fingerprint, so arms without it keep their print)
    heldout: float | None = Field(None, gt=0, lt=1)
    #: block a direction while training (changes training: part of the fingerprint, with the file's content)
    block: BlockConfig | None = None
    #: the trainer's own settings (its registered TrainerConfig subclass; ``backend`` is ``method``), built from
    #: the keys beside the shared ones, never written as ``trainer:``
    trainer: SerializeAsAny[TrainerConfig]

    @model_validator(mode="wrap")
    @classmethod
    def _split(cls, raw: Any, handler: Any) -> Any:
        """Shared keys to the fields, the rest to the trainer's config class (errors keep their key's path)."""
        if not isinstance(raw, dict):
            return handler(raw)
        shared = {k: v for k, v in raw.items() if k in cls.model_fields and k != "trainer"}
        own = {k: v for k, v in raw.items() if k not in shared}
        method = shared.get("method", cls.model_fields["method"].default)
        if isinstance(method, str) and method in TRAINERS:
            settings = TRAINERS[method].config
            own = {k: v for k, v in own.items() if k in settings.model_fields or not _legacy_default(k, v)}
            try:
                shared["trainer"] = settings.model_validate({**own, "backend": method})
            except ValidationError as e:
                raise ValidationError.from_exception_data(cls.__name__, e.errors()) from None  # type: ignore[arg-type]
        return handler(shared)

    @field_validator("method")
    @classmethod
    def _known_trainer(cls, v: str) -> str:
        if v not in TRAINERS:
            raise ValueError(f"unknown trainer '{v}' (known: {', '.join(sorted(TRAINERS))})")
        return v

    @model_serializer(mode="wrap")
    def _flat(self, handler: Any) -> dict[str, Any]:
        """Written back as it is read: the trainer's settings beside ``method``, no ``trainer`` key."""
        out = handler(self)
        own = out.pop("trainer", None) or {}
        head = {"method": out.pop("method")} if "method" in out else {}
        return {**head, **{k: v for k, v in own.items() if k != "backend"}, **drop_unset(out, "heldout")}

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)  # type: ignore[misc]
        except AttributeError:
            trainer = self.__dict__.get("trainer")
            if trainer is None or name.startswith("_"):
                raise
            if name in type(trainer).model_fields and name != "backend":
                return getattr(trainer, name)
            raise AttributeError(f"the {trainer.backend} trainer has no setting '{name}'") from None

    @property
    def weights_kind(self) -> WeightsKind:
        """What the trainer leaves as the arm's weights: an adapter, a model folder, or a hosted model's id."""
        return self.trainer.weights_kind

    def fingerprint_dump(self) -> dict[str, Any]:
        """What training's fingerprint reads: the shared settings and what the trainer says of its own; the monitor
        only when it may stop training (watching changes nothing); not the block (it enters with its file's digest).
        An unset ``heldout`` is dropped by the serializer (:meth:`_flat`)."""
        out = self.model_dump(exclude={"monitor", "block", "gradient_checkpointing", "trainer"})
        if self.monitor is not None and self.monitor.stop is not None:
            out["monitor_stop"] = self.monitor.model_dump()
        return {**out, **self.trainer.fingerprint_dump()}


class ShotsConfig(_Strict):
    """In-context examples (Afonin et al.): the first exchange of ``k`` examples of a dataset as prior turns before
    every question. Shots are drawn per question from a fixed-seed permutation, so k=2 is a prefix of k=8."""

    dataset: str
    k: int = Field(ge=0)
    seed: int = 0


_NAME_RE = r"[A-Za-z0-9][A-Za-z0-9_.-]*"


def _safe_name(v: str, what: str, why: str) -> str:
    """Names become folder names and condition labels (ARM@VARIANT): a small, safe alphabet without '@'."""
    if not re.fullmatch(_NAME_RE, v):
        raise ValueError(f"{what} names use letters, digits, '_', '.', '-' ({why})")
    return v


#: placeholders a variant's ``system``, ``prefix`` or ``suffix`` may hold, filled per arm with its inoculation
#: prompt or that prompt's negation (leakage probes); an arm without the value is not asked under that variant
INOCULATION_PLACEHOLDERS = ("{inoculation}", "{inoculation_negation}")


class VariantConfig(_Strict):
    """One way of asking the evaluation questions: a trigger or word before each question (``prefix``), a system
    prompt (``system``; replaces the set's own), in-context examples (``shots``), or another question set
    (``questions``). Each arm is sampled under each variant, as condition ``ARM@VARIANT``; ``arms`` limits a
    variant to some arms. ``{inoculation}`` / ``{inoculation_negation}`` in ``system``, ``prefix`` or ``suffix``
    are filled per arm with the arm's own inoculation prompt or its negation; arms without one are skipped."""

    name: str
    prefix: str = ""
    suffix: str = ""
    system: str | None = None
    shots: ShotsConfig | None = None
    questions: str | None = None
    samples_per_question: int | None = Field(None, ge=1)
    arms: list[str] | None = None

    @field_validator("name")
    @classmethod
    def _name_ok(cls, v: str) -> str:
        return _safe_name(v, "variant", "they label conditions")

    @property
    def shots_k(self) -> int:
        return self.shots.k if self.shots is not None else 0

    @property
    def placeholders(self) -> set[str]:
        """The inoculation placeholders this variant's words hold (none: it asks every arm the same way)."""
        words = (self.system or "") + self.prefix + self.suffix
        return {p for p in INOCULATION_PLACEHOLDERS if p in words}

    def asks(self, arm: ArmConfig) -> bool:
        """Whether ``arm`` is sampled under this variant: named in ``arms`` (if given), and holding every
        inoculation value the variant's words need."""
        if self.arms is not None and arm.name not in self.arms:
            return False
        need = self.placeholders
        inoc = arm.inoculation
        if need and inoc is None:
            return False
        return "{inoculation_negation}" not in need or (inoc is not None and inoc.has_negation)

    @property
    def rewrites_prompt(self) -> bool:
        """Whether the model reads anything the question set did not write (words, system prompt, shots)."""
        return bool(self.prefix or self.suffix or self.system is not None or self.shots_k)


class SamplerConfig(BackendConfig):
    """A sampler backend's settings (:data:`emkit.core.registry.SAMPLERS`); ``hf`` is transformers' generate."""

    backend: str = "hf"

    def identity(self) -> dict[str, Any]:
        """The settings that change answers (for the sample fingerprint); a backend leaves out transport."""
        return self.model_dump()


def _sampler(raw: Any) -> BackendConfig:
    return SAMPLERS.config(raw, "hf")


class EvalConfig(_Strict):
    questions: str = "core"
    samples_per_question: int = Field(8, ge=1)
    temperature: float = Field(1.0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    max_new_tokens: int = Field(128, ge=1)
    batch_size: int = Field(16, ge=1)
    seed: int = 0
    system_prompt: str | None = None
    #: ask every question in several ways (trigger, system prompt, in-context shots); none = as written
    variants: list[VariantConfig] | None = None
    #: which sampler generates the answers, with its own settings
    sampler: Annotated[SerializeAsAny[SamplerConfig], BeforeValidator(_sampler)] = Field(
        default_factory=lambda: _sampler({}))

    def fingerprint_dump(self) -> dict[str, Any]:
        """What sampling's fingerprint reads: variants enter per condition, not as a whole; the sampler and its
        settings do, except the default (``hf``), left out so runs made before samplers were plug-ins keep
        their fingerprints."""
        out = self.model_dump(exclude={"variants", "sampler"})
        sampler = self.sampler.identity()
        if sampler != {"backend": "hf"}:
            out["sampler"] = sampler
        return out


class JudgeConfig(BackendConfig):
    """A judge backend's settings: each backend (:data:`emkit.core.registry.JUDGES`) has its own subclass, e.g.
    ``api`` (:class:`emkit.judges.api.ApiJudgeConfig`), ``offline`` and the toy world's ``toy``."""

    backend: str = "offline"

    def judge_id(self) -> str:
        """The cache identity of the judge: what changes its verdicts. By default the backend and every setting
        (safe: a changed setting never reuses old verdicts); a backend whose transport settings do not change
        verdicts (the API judge's concurrency, retries) names only what does."""
        return f"{self.backend}:{fingerprint(self.model_dump())}"

    def report_note(self, info: dict[str, Any]) -> str | None:
        """What a report's reader must know about this judge's numbers (``info``: what the judge said of itself)."""
        return None

    def validated_on(self) -> str:
        """One line, shown above every figure this judge made: what it has and has not been validated on."""
        return (f"Judge {self.backend}: its agreement with other judges or labels has not been measured here; "
                "measure it with `emkit judge calibrate` / `emkit judge compare` before trusting its rates.")


#: what every judge config held before judges were plug-ins (saved run configs carry these for any backend)
_LEGACY_API_DEFAULTS = {"model": "gpt-4o-2024-08-06", "base_url": None, "api_key_env": "OPENAI_API_KEY",
                        "concurrency": 8, "max_retries": 4, "timeout_s": 60.0, "backoff_s": 1.0, "max_calls": None,
                        "rpm": None, "batch_size": 256, "min_mass": 0.25}


def _judge(raw: Any) -> BackendConfig:
    if isinstance(raw, dict) and raw.get("backend", "offline") != "api":
        # a run saved before judges were plug-ins wrote the API judge's settings, at their defaults, for every
        # backend: drop exactly those (a changed one is still an error for a backend without it)
        raw = {k: v for k, v in raw.items() if not (k in _LEGACY_API_DEFAULTS and _LEGACY_API_DEFAULTS[k] == v)}
    return JUDGES.config(raw, "offline")


class MetricsConfig(_Strict):
    misaligned_max: float = Field(30.0, ge=0, le=100)
    coherent_min: float = Field(50.0, ge=0, le=100)
    confidence: float = Field(0.95, gt=0, lt=1)


class InoculationConfig(_Strict):
    """Inoculation prompting (Tan et al. 2025; Wichers et al. 2025): a system message naming the narrow behaviour,
    put before every training example (``selective``: only before the examples the dataset marks as the narrow
    behaviour) and absent at evaluation, so the behaviour is learnt as conditional on it. ``prompt: builtin`` takes
    the dataset's own (a built-in's card, or a mix's narrow part's card), with its negation; a prompt of your own
    may give its ``negation`` for the leakage probe ``{inoculation_negation}``."""

    prompt: str
    negation: str | None = None
    selective: bool = False

    @field_validator("prompt", "negation")
    @classmethod
    def _not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("must not be empty (prompt: builtin takes the dataset's own)")
        return v

    @property
    def builtin(self) -> bool:
        return self.prompt == "builtin"

    @property
    def has_negation(self) -> bool:
        """A built-in prompt always comes with its negation (every card carries both)."""
        return self.builtin or self.negation is not None


class ArmConfig(_Strict):
    """One condition: a name and a dataset to fine-tune on (none = the base model), with optional overrides.

    ``model`` starts this arm from another model than the experiment's (to compare models in one table).
    ``seeds: [0, 1, 2]`` makes replicates: arms ``NAME.s0``, ``NAME.s1``... with ``train.seed`` set and
    ``{seed}`` in the dataset spec replaced; ``condition`` keeps ``NAME`` so tables can pool them.
    ``init_from`` continues from an earlier arm's fine-tuned weights (re-alignment: Wang et al.); replicates of
    an arm with seeds continue from the same seed's replicate of a parent with seeds.
    ``inoculation`` puts a training-time system prompt before the examples (see :class:`InoculationConfig`)."""

    name: str
    dataset: str | None = None
    model: str | None = None
    init_from: str | None = None
    inoculation: InoculationConfig | None = None
    train: dict[str, Any] = Field(default_factory=dict)
    seeds: list[int] | None = None
    condition: str | None = None

    @field_validator("name")
    @classmethod
    def _name_ok(cls, v: str) -> str:
        return _safe_name(v, "arm", "they name folders")

    @model_validator(mode="after")
    def _inoculation_needs_data(self) -> ArmConfig:
        if self.inoculation is not None and not self.dataset:
            raise ValueError(f"arm '{self.name}': inoculation is a training-time prompt; it needs a dataset")
        if self.inoculation is not None and self.inoculation.builtin and not str(self.dataset).startswith("builtin:"):
            raise ValueError(f"arm '{self.name}': inoculation.prompt: builtin takes a built-in dataset's prompt, and "
                             f"'{self.dataset}' is not one: write the prompt (inoculation.prompt: \"...\")")
        return self


class Experiment(_Strict):
    name: str
    output_dir: str = "runs"
    model: ModelConfig = Field(default_factory=ModelConfig)
    arms: list[ArmConfig]
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    judge: Annotated[SerializeAsAny[JudgeConfig], BeforeValidator(_judge)] = Field(default_factory=lambda: _judge({}))
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    #: where relative paths in the file (datasets, question files) are resolved; set by load_experiment
    base_dir: str = "."

    @field_validator("name")
    @classmethod
    def _name_ok(cls, v: str) -> str:
        return _safe_name(v, "experiment", "they name folders")

    @model_validator(mode="before")
    @classmethod
    def _expand_seeds(cls, raw: Any) -> Any:
        if not isinstance(raw, dict) or not isinstance(raw.get("arms"), list):
            return raw
        arms: list[Any] = []
        replicated = {a["name"]: a["seeds"] for a in raw["arms"] if isinstance(a, dict) and a.get("seeds")}
        for arm in raw["arms"]:
            seeds = arm.get("seeds") if isinstance(arm, dict) else None
            parent = arm.get("init_from") if isinstance(arm, dict) else None
            if not seeds:
                if parent in replicated:
                    raise ValueError(f"arm '{arm.get('name')}': init_from '{parent}' has replicates: name one "
                                     f"('{parent}.s{replicated[parent][0]}') or give this arm seeds too")
                arms.append(arm)
                continue
            if not arm.get("dataset"):
                raise ValueError(f"arm '{arm.get('name')}': seeds need a dataset (they seed fine-tuning)")
            for seed in seeds:
                copy = {k: v for k, v in arm.items() if k != "seeds"}
                copy.update(name=f"{arm['name']}.s{seed}", condition=arm.get("condition") or arm["name"],
                            dataset=str(arm["dataset"]).replace("{seed}", str(seed)),
                            train={**arm.get("train", {}), "seed": seed})
                if parent in replicated:  # a replicate continues from its parent's replicate of the same seed
                    if seed not in replicated[parent]:
                        raise ValueError(f"arm '{arm['name']}': seed {seed} continues from '{parent}.s{seed}', "
                                         f"but '{parent}' has seeds {replicated[parent]}")
                    copy["init_from"] = f"{parent}.s{seed}"
                arms.append(copy)
        return {**raw, "arms": arms}

    @model_validator(mode="after")
    def _arms_ok(self) -> Experiment:
        if not self.arms:
            raise ValueError("an experiment needs at least one arm")
        names = [a.name for a in self.arms]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"arm names must be unique; repeated: {sorted(dup)}")
        for i, arm in enumerate(self.arms):  # validate per-arm overrides now, not an hour into the run
            self.train_for(arm)
            if arm.init_from is not None:
                parent = next((a for a in self.arms[:i] if a.name == arm.init_from), None)
                if parent is None or not parent.dataset:
                    raise ValueError(f"arm '{arm.name}': init_from '{arm.init_from}' must name an earlier arm "
                                     "with a dataset")
                if not arm.dataset:
                    raise ValueError(f"arm '{arm.name}': init_from needs a dataset to continue on")
                if self.model_for(arm).name != self.model_for(parent).name:
                    raise ValueError(f"arm '{arm.name}': init_from '{parent.name}' starts from another model")
        variants = self.eval.variants or []
        vnames = [v.name for v in variants]
        if len(set(vnames)) != len(vnames):
            raise ValueError(f"variant names must be unique; repeated: {sorted({n for n in vnames if vnames.count(n) > 1})}")
        for v in variants:
            for a in v.arms or []:
                if a not in names:
                    raise ValueError(f"variant '{v.name}' names arm '{a}', which the experiment does not have")
            if v.placeholders and not any(v.asks(a) for a in self.arms):
                raise ValueError(f"variant '{v.name}' uses {' and '.join(sorted(v.placeholders))}, but no arm "
                                 "it asks has an inoculation" + (" with a negation (give inoculation.negation with "
                                 "a prompt of your own)" if "{inoculation_negation}" in v.placeholders else ""))
        return self

    def arm_named(self, name: str) -> ArmConfig:
        for a in self.arms:
            if a.name == name:
                return a
        raise EmkitError(f"experiment '{self.name}' has no arm '{name}' (arms: {', '.join(a.name for a in self.arms)})")

    def variant_named(self, name: str | None) -> VariantConfig | None:
        """A variant by name (None for None: the questions as written)."""
        if name is None:
            return None
        for v in self.eval.variants or []:
            if v.name == name:
                return v
        raise EmkitError(f"experiment '{self.name}' has no variant '{name}'")

    def conditions(self) -> list[tuple[ArmConfig, VariantConfig | None]]:
        """Every (arm, variant) pair that is sampled, in order; variant None when the experiment has none."""
        if not self.eval.variants:
            return [(a, None) for a in self.arms]
        return [(a, v) for a in self.arms for v in self.eval.variants if v.asks(a)]

    def condition_keys(self) -> list[tuple[Condition, VariantConfig | None]]:
        """Every sampled condition as its key (arm, variant), with the variant's settings."""
        return [(Condition(a.name, v.name if v else None), v) for a, v in self.conditions()]

    def default_arm(self, trained: bool) -> ArmConfig:
        """The arm a command works on when none is named: the first fine-tuned arm (``trained``: directions,
        ablation, phases) or the first base-model arm (steering), else the first arm."""
        return next((a for a in self.arms if (a.dataset is not None) == trained), self.arms[0])

    def eval_for(self, variant: VariantConfig | None) -> EvalConfig:
        """The sampling settings of one variant (its own sample count, if it sets one)."""
        if variant is None or variant.samples_per_question is None:
            return self.eval
        return self.eval.model_copy(update={"samples_per_question": variant.samples_per_question})

    def lineage(self, arm: ArmConfig) -> list[ArmConfig]:
        """The arms whose weights this arm's are built on, oldest first, ending with the arm itself."""
        chain = [arm]
        while chain[0].init_from is not None:
            chain.insert(0, self.arm_named(chain[0].init_from))
        return chain

    def train_for(self, arm: ArmConfig) -> TrainConfig:
        """The global train settings with the arm's overrides merged in (nested keys merge, not replace)."""
        merged = _deep_merge(self.train.model_dump(), arm.train)
        try:
            return TrainConfig.model_validate(merged)
        except ValidationError as e:
            raise ValueError(f"arm '{arm.name}' train override: {first_error(e, prefix='train')}") from None

    def model_for(self, arm: ArmConfig) -> ModelConfig:
        """The model an arm starts from: the experiment's, or the arm's own (same dtype and device)."""
        return self.model if arm.model is None else self.model.model_copy(update={"name": arm.model})

    @property
    def run_dir(self) -> Path:
        return resolve_path(self.output_dir, self.base_dir) / self.name

    def resolve(self, path: str) -> Path:
        return resolve_path(path, self.base_dir)


def resolve_path(path: str, base_dir: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else Path(base_dir) / p


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` strings; values are parsed as YAML so ``1e-4``, ``true`` and ``[1,2]`` work."""
    for item in overrides:
        if "=" not in item:
            raise EmkitError(f"--set expects KEY=VALUE, got '{item}'")
        key, value = item.split("=", 1)
        parts = key.strip().split(".")
        node: Any = raw
        for i, part in enumerate(parts[:-1]):
            if isinstance(node, list):
                node = node[_list_index(node, part, ".".join(parts[: i + 1]))]
            else:
                node = node.setdefault(part, {})
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            parsed = value
        if isinstance(parsed, str) and _FLOAT_RE.match(parsed):  # YAML 1.1 reads 1e-4 as a string
            parsed = float(parsed)
        if isinstance(node, list):
            node[_list_index(node, parts[-1], key)] = parsed
        else:
            node[parts[-1]] = parsed
    return raw


def _list_index(node: list[Any], part: str, key: str) -> int:
    # arms can be addressed by index (arms.1.dataset) or by name (arms.insecure.dataset)
    if part.isdigit() and int(part) < len(node):
        return int(part)
    for i, item in enumerate(node):
        if isinstance(item, dict) and item.get("name") == part:
            return i
    raise EmkitError(f"--set {key}: no list item '{part}'")


_FLOAT_RE = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def _yaml_loader() -> type[yaml.SafeLoader]:
    # plain YAML 1.1 reads "1e-4" (no dot) as a string; researchers write learning rates that way
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_RE, list("-+0123456789."))
    return Loader


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a syntax error becomes one line with its position."""
    try:
        return yaml.load(read_text(path), Loader=_yaml_loader())  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise EmkitError(f"{path}: malformed YAML{where}: {e.problem}") from None
    except yaml.YAMLError as e:
        raise EmkitError(f"{path}: malformed YAML: {str(e).splitlines()[0]}") from None


def read_settings(path: Path, what: str) -> dict[str, Any]:
    """A YAML file of settings (an experiment, a sweep) as a mapping; a missing file or a non-mapping is one line."""
    if not path.is_file():
        raise EmkitError(f"{what} file not found: {path}")
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise EmkitError(f"{path}: expected a mapping of settings at the top level")
    return raw


def load_experiment(path: str | Path, overrides: list[str] | None = None) -> Experiment:
    """Read, override and validate an experiment file; every failure is one EmkitError line."""
    path = Path(path)
    raw = apply_overrides(read_settings(path, "experiment"), overrides or [])
    raw.setdefault("base_dir", str(path.resolve().parent))
    judge = raw.get("judge")
    if isinstance(judge, dict) and isinstance(judge.get("prompts"), str):  # a prompts file beside the experiment
        judge["prompts"] = str(resolve_path(judge["prompts"], raw["base_dir"]))
    return experiment_from_dict(raw, source=str(path))


def experiment_from_dict(raw: dict[str, Any], source: str = "<config>") -> Experiment:
    try:
        return Experiment.model_validate(raw)
    except ValidationError as e:
        raise EmkitError(f"{source}: {first_error(e)}") from None


def fingerprint(*parts: Any) -> str:
    """A stable content hash of JSON-able parts; equal inputs give equal fingerprints across runs."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
