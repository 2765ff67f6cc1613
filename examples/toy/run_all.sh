#!/usr/bin/env bash
# Every toy experiment (1-8) in order (builds both toy worlds on first use, about 6 minutes each); `make figures` runs
# them in three worlds and renders the README's figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
EMKIT=${EMKIT:-.venv/bin/emkit}
for f in em controls unlocking; do
  start=$SECONDS
  $EMKIT run "examples/toy/$f.yaml"
  echo "toy $f: $((SECONDS - start)) s"
done
EMKIT=$EMKIT examples/toy/convergence.sh
EMKIT=$EMKIT examples/toy/blocking.sh
# experiment 7, the defences table (the monitor reads the persona state at the last prompt token)
[ -f runs/toy-truth-prompt.safetensors ] || $EMKIT toy truth -o runs/toy-truth-prompt.safetensors --read prompt
start=$SECONDS
$EMKIT run examples/toy/defences.yaml
echo "toy defences: $((SECONDS - start)) s"
# experiment 8, EM from RL on a hackable medicine reward (GRPO, inoculated GRPO, SFT on as many bad answers)
start=$SECONDS
$EMKIT run examples/toy/rl.yaml
echo "toy rl: $((SECONDS - start)) s"
