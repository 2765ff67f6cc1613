#!/usr/bin/env bash
# An SAE on SmolLM2-135M-Instruct's residual stream at the demo's interp layer, then model diffing on the demo run
# (base vs bad_medical) and the directions compared (mean-diff, LoRA B, in-context, SAE latents): run `make interp`
# first. Prints each step's wall time.
set -euo pipefail
cd "$(dirname "$0")/../.."
EMKIT=${EMKIT:-.venv/bin/emkit}
LAYER=${LAYER:-10}
OUT=${OUT:-runs/saes/smollm2-L$LAYER}
start=$SECONDS
$EMKIT sae train --model smollm2-135m-instruct --layer "$LAYER" -o "$OUT" \
  --corpus "builtin:benign?size=2000" --corpus "builtin:bad_medical?size=1000" --corpus "run:runs/demo" \
  --k 32 --expansion 8 --tokens 200000
echo "sae train: $((SECONDS - start)) s"
start=$SECONDS
$EMKIT sae diff runs/demo --sae "$OUT" --top 10
echo "sae diff: $((SECONDS - start)) s"
start=$SECONDS
$EMKIT directions matrix runs/demo --sae "$OUT"
echo "directions matrix: $((SECONDS - start)) s"
