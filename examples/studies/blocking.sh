#!/usr/bin/env bash
# Blocking and rerouting on SmolLM2: (1) the triggers study gives a fine-tuned EM arm, (2) its mean-diff
# direction is extracted, (3) blocking.yaml fine-tunes with that direction blocked, (4) a new mean-diff direction
# is extracted from the long blocked arm and compared with the blocked one (rerouting: low cosine) and with the
# unblocked arm's own. Every step is cached: a re-run costs nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
EMKIT=${EMKIT:-emkit}
$EMKIT run examples/studies/triggers.yaml
$EMKIT directions extract runs/study-triggers --arm bad_medical
$EMKIT run examples/studies/blocking.yaml
for arm in bad block1 block10 block10_long project; do
  $EMKIT directions extract runs/study-blocking --arm "$arm" || echo "($arm: too few misaligned answers for a direction)"
done
D=runs/study-blocking/interp/directions
files=(runs/study-triggers/interp/directions/meandiff-bad_medical.safetensors)
for arm in bad block1 block10 block10_long project; do
  [ -f "$D/meandiff-$arm.safetensors" ] && files+=("$D/meandiff-$arm.safetensors")
done
$EMKIT directions compare "${files[@]}" --report runs/study-blocking \
  --title "Rerouting: the blocked direction (first) against each arm's own mean-diff direction"
