"""Plug-ins: every backend (sampler, trainer, judge) and every named thing a world brings (models, datasets,
question sets) lives in a catalog under its name, so a new one is a new module and a registration, not an
if-chain in a core module (the peft way: a backend is a config class; here it is also a name).

A catalog fills itself on first use by importing the plug-in modules: the built-in ones listed in
:data:`PLUGINS` (the toy world is one) and any module a package declares under the entry-point group
``emkit.plugins``. Imports are by name, at first lookup, so the core layer never imports the components.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from emkit.core.errors import EmkitError

#: modules that register emkit's own backends and worlds (imported once, on first lookup of any catalog)
PLUGINS = ("emkit.judges.offline", "emkit.judges.api", "emkit.judges.distilled",
           "emkit.samplers.hf", "emkit.samplers.vllm", "emkit.samplers.server",
           "emkit.trainers.local", "emkit.trainers.openai", "emkit.trainers.grpo", "emkit.worlds.toy.plugin")

_loaded = False
_loading = False
_lock = threading.RLock()


def load_plugins() -> None:
    """Import every plug-in module once (built-in first, then the ``emkit.plugins`` entry points). Another
    thread asking meanwhile (a page of ``emkit view``) waits until every catalog is full rather than reading a
    half-filled one; a plug-in module that looks something up while it is imported (same thread) goes on."""
    global _loaded, _loading
    if _loaded:
        return
    with _lock:
        if _loaded or _loading:
            return
        _loading = True
        try:
            for name in PLUGINS:
                importlib.import_module(name)
            for ep in entry_points(group="emkit.plugins"):
                ep.load()
            _loaded = True
        finally:
            _loading = False


T = TypeVar("T")


class Catalog(Mapping[str, T], Generic[T]):
    """Named items of one kind (datasets, models, ...), read like a dict; plug-ins ``add`` to it."""

    def __init__(self, kind: str, items: Mapping[str, T] | None = None):
        self.kind = kind
        self._items: dict[str, T] = dict(items or {})

    def add(self, name: str, item: T) -> T:
        if name in self._items:
            raise EmkitError(f"{self.kind} '{name}' is registered twice")
        self._items[name] = item
        return item

    def __getitem__(self, name: str) -> T:
        load_plugins()
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        load_plugins()
        return iter(self._items)

    def __len__(self) -> int:
        load_plugins()
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        load_plugins()
        return name in self._items


class BackendConfig(BaseModel):
    """A backend's settings: ``backend`` names it, the other fields are its own. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)
    backend: str


C = TypeVar("C", bound=BackendConfig)


@dataclass(frozen=True)
class Backend(Generic[C, T]):
    name: str
    config: type[C]  # the backend's own settings (a sampler's, a trainer's, a judge's), validated by name
    build: Callable[[C], T]
    summary: str = ""


class Backends(Catalog[Backend[Any, T]]):
    """Backends of one kind (samplers, trainers, judges) by name: each with its config class and a factory."""

    def register(self, name: str, config: type[C], summary: str = "") -> Callable[[Callable[[C], T]], Callable[[C], T]]:
        """Decorator for the factory that builds the backend from its config."""
        def deco(build: Callable[[C], T]) -> Callable[[C], T]:
            self.add(name, Backend(name, config, build, summary))
            return build
        return deco

    def backend(self, name: str) -> Backend[Any, T]:
        if name not in self:
            raise EmkitError(f"unknown {self.kind} backend '{name}' (known: {', '.join(sorted(self))})")
        return self[name]

    def config(self, raw: Any, default: str) -> BackendConfig:
        """Validate settings into the named backend's own config class (``backend`` defaults to ``default``)."""
        if isinstance(raw, BackendConfig):
            raw = raw.model_dump()
        if not isinstance(raw, dict):
            raise ValueError(f"expected a mapping with 'backend' and its settings, got {type(raw).__name__}")
        name = raw.get("backend", default)
        if not isinstance(name, str) or name not in self:
            raise ValueError(f"unknown {self.kind} backend '{name}' (known: {', '.join(sorted(self))})")
        try:
            return self[name].config.model_validate({**raw, "backend": name})
        except ValidationError as e:
            raise ValueError(f"{name} {self.kind}: {first_error(e)}") from None

    def build(self, cfg: Any, name: str | None = None) -> T:
        """The backend named by ``name`` (default: ``cfg.backend``), built from ``cfg``."""
        return self.backend(name or cfg.backend).build(cfg)


def first_error(e: ValidationError, prefix: str = "") -> str:
    """A pydantic error as one line that names the key."""
    err = e.errors()[0]
    loc = ".".join(str(p) for p in ((prefix,) if prefix else ()) + tuple(err["loc"]))
    if err["type"] == "extra_forbidden":
        return f"unknown key '{loc}'"
    if err["type"] == "missing":
        return f"missing key '{loc}'"
    msg = err["msg"].removeprefix("Value error, ")
    return f"bad value for '{loc}': {msg}" if loc else msg


#: judge backends (:mod:`emkit.judges`): config class per backend, factory -> Judge
JUDGES: Backends[Any] = Backends("judge")
#: sampler backends (:mod:`emkit.samplers.hf`): config class per backend, factory -> Sampler
SAMPLERS: Backends[Any] = Backends("sampler")
#: trainer backends (:mod:`emkit.trainers.local`), named by ``train.method``: factory -> Trainer
TRAINERS: Backends[Any] = Backends("trainer")


@dataclass(frozen=True)
class Headline:
    """A world's headline figure for one condition, replicates pooled (the toy world: misaligned in the domains
    it was not fine-tuned on), shown beside the judge's rate by ``emkit run``, ``emkit runs show`` and the view.
    ``rate`` is a :class:`emkit.metrics.rates.Rate`; ``arms``: the condition labels pooled into it."""

    condition: str
    measure: str
    rate: Any
    arms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Readout:
    """A world's own reading of a run's answers (the toy world reads them exactly, by domain), computed when
    ``applies`` says the experiment is one of its own; ``summary`` makes the result JSON-able
    (``RUN/NAME.json``), ``headline`` gives its :class:`Headline` figures, ``tags`` what the view's answers page
    can filter an answer by (e.g. its domain), ``notes`` what it could not read (answers it could not place). Its report section is a :class:`Section` with ``readout=NAME``,
    in :data:`SECTIONS`."""

    applies: Callable[[Any], bool]
    read: Callable[[Any, list[Any]], Any]
    summary: Callable[[Any], Any]
    headline: Callable[[Any], list[Headline]] | None = None
    tags: Callable[[Any], dict[str, str]] | None = None
    notes: Callable[[Any], list[str]] | None = None  # what it could not read, shown wherever its headline is


#: readouts by name (the toy world registers "toy")
READOUTS: Catalog[Readout] = Catalog("readout")


class Registry(Catalog[T]):
    """A catalog that also imports its own modules on first lookup (the ones that register emkit's entries,
    beyond :data:`PLUGINS`), and whose entries can be taken out again (a test's, a notebook's)."""

    def __init__(self, kind: str, modules: tuple[str, ...] = ()):
        super().__init__(kind)
        self.modules = modules
        self._own_loaded = False

    def _load(self) -> None:
        load_plugins()
        if not self._own_loaded:
            self._own_loaded = True
            for name in self.modules:
                importlib.import_module(name)

    def __getitem__(self, name: str) -> T:
        self._load()
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        self._load()
        return iter(self._items)

    def __len__(self) -> int:
        self._load()
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._items

    def remove(self, name: str) -> T:
        return self._items.pop(name)


@dataclass(frozen=True)
class DirectionInputs:
    """What a direction method reads: an open finished run (:class:`emkit.pipeline.finished.FinishedRun`) and
    the fine-tuned arm whose directions are compared."""

    run: Any
    arm: str


class NotApplicable(EmkitError):
    """A direction method has nothing to read for this arm (no LoRA on down_proj, no twin dataset): the matrix
    lists the message under ``skipped`` and goes on; any other error stops it."""


@dataclass(frozen=True)
class DirectionMethod:
    """A way to read a misalignment direction off a run's arm, in one signature: ``compute(inputs, cfg)`` with
    ``inputs`` a :class:`DirectionInputs` and ``cfg`` an instance of ``config`` (a pydantic class, unknown keys
    are errors) returns one :class:`emkit.interp.directions.Direction` or several; ``describe`` says what made
    a direction (the matrix's ``sources``). ``order`` places its directions in the matrix (smaller first)."""

    name: str
    config: type[BaseModel]
    compute: Callable[[DirectionInputs, Any], Any]
    order: float
    describe: Callable[[Any, Any], str] | None = None  # (direction, cfg) -> source text; default: summary
    summary: str = ""


#: direction methods by name (mean-diff and LoRA B in :mod:`emkit.analyses.chain`, in-context and SAE latents in
#: :mod:`emkit.analyses.matrix`); :func:`emkit.analyses.matrix.direction_matrix` compares every one
DIRECTIONS: Registry[DirectionMethod] = Registry("direction method",
                                                 ("emkit.analyses.chain", "emkit.analyses.matrix"))


@dataclass(frozen=True)
class Section:
    """A section of a run's report (``RUN/sections/NAME.html``; a file named NAME or NAME-... is this one) and its
    place on the page: ``order``, top to bottom. ``render`` turns the record of the workflow that makes it into
    HTML: a function, or ``"module:function"`` when it lives in a layer the registering module may not import
    (a world's section, in :mod:`emkit.report`). ``study``: the run's experiment decides it, so every run report
    writes or removes it; ``readout``: the world readout (:data:`READOUTS`) it renders, written by the run report."""

    name: str
    order: float
    render: Callable[[Any], str] | str | None = None
    study: bool = False
    readout: str | None = None
    summary: str = ""

    def html(self, record: Any) -> str:
        fn = self.render
        if isinstance(fn, str):
            module, _, attr = fn.partition(":")
            fn = getattr(importlib.import_module(module), attr)
        if fn is None:
            raise EmkitError(f"report section '{self.name}' has no render function")
        return fn(record)


#: report sections by name, with their place (emkit's own in :mod:`emkit.report`; a world's by its plug-in)
SECTIONS: Registry[Section] = Registry("report section", ("emkit.report",))


@dataclass(frozen=True)
class RewardKind:
    """A built-in reward of RL training (``train.rewards: [{name: builtin:NAME, ...}]``): ``config`` validates its
    options (the keys beside ``name`` and ``weight``; unknown keys are errors), ``build(options)`` returns the reward
    function, called as :mod:`emkit.trainers.rewards` describes. A world or plug-in adds its own here."""

    name: str
    config: type[BaseModel]
    build: Callable[[Any], Callable[..., Any]]
    summary: str = ""


#: built-in rewards by name (emkit's own in :mod:`emkit.trainers.rewards`); ``python:`` and ``judge`` rewards are
#: not catalogued: the first is an import path, the second is bound to the experiment's judge by the pipeline
REWARDS: Registry[RewardKind] = Registry("reward", ("emkit.trainers.rewards",))
