#!/usr/bin/env bash
# Toy experiments 4 (convergence) and 5 (phase transition), with the same commands as for a real model:
# a rank-1 down_proj LoRA run, the ground-truth persona direction, the in-context direction from the base
# model, then `emkit interp` (mean-diff, LoRA B, steering, ablation, cosine matrix with null band, phase curve).
set -euo pipefail
cd "$(dirname "$0")/../.."
EMKIT=${EMKIT:-.venv/bin/emkit}
$EMKIT run examples/toy/rank1.yaml
$EMKIT toy truth -o runs/toy-rank1/truth.safetensors                       # read on the answer tokens
$EMKIT toy truth -o runs/toy-rank1/truth-prompt.safetensors --read prompt  # read at the last prompt token
# the base (aligned) model reads 6 bad vs 6 good medicine answers before questions from the other domains
$EMKIT directions icl --model toy --k 6 -o runs/toy-rank1/icl-k6.safetensors \
  --positive 'builtin:toy_bad?domain=medicine&size=400&seed=5' \
  --negative 'builtin:toy_good?domain=medicine&size=400&seed=5' \
  --questions 'toy?n=20&seed=11&domains=code,money,sport,travel,relationships'
$EMKIT interp runs/toy-rank1 --arm bad --scales 2,4,8 \
  --extra runs/toy-rank1/truth.safetensors --extra runs/toy-rank1/truth-prompt.safetensors \
  --extra runs/toy-rank1/icl-k6.safetensors
$EMKIT directions lora runs/toy-rank1 --arm bad
