#!/usr/bin/env bash
# Language vs weights: every condition of the triggers study (base and fine-tuned, each under trigger words and
# system prompts; the base model after 8 in-context examples) projected on the fine-tuned arm's mean-diff
# direction, against its misaligned rate, one point per condition x question; read at the last prompt token
# and over the answer tokens. Adds a section to runs/study-triggers/report.html.
set -euo pipefail
cd "$(dirname "$0")/../.."
EMKIT=${EMKIT:-emkit}
$EMKIT run examples/studies/triggers.yaml
$EMKIT directions extract runs/study-triggers --arm bad_medical
D=runs/study-triggers/interp/directions/meandiff-bad_medical.safetensors
$EMKIT project runs/study-triggers --direction "$D" --read answer
$EMKIT project runs/study-triggers --direction "$D" --read prompt
