#!/usr/bin/env bash
# Toy experiment 6, blocking and rerouting: block the ground-truth persona direction while fine-tuning, then
# recompute a mean-diff direction on the (long-trained) blocked model and compare it with the blocked one.
set -euo pipefail
cd "$(dirname "$0")/../.."
EMKIT=${EMKIT:-.venv/bin/emkit}
[ -f runs/toy-truth.safetensors ] || $EMKIT toy truth -o runs/toy-truth.safetensors
$EMKIT run examples/toy/blocking.yaml
for arm in bad_long blocked_long projected_long; do
  $EMKIT directions extract runs/toy-blocking --arm "$arm" || echo "($arm: too few misaligned answers for a direction)"
done
shopt -s nullglob
files=(runs/toy-blocking/interp/directions/meandiff-*.safetensors)
$EMKIT directions compare runs/toy-truth.safetensors "${files[@]}"
