#!/usr/bin/env bash
# Blocking the demo's top SAE latents during fine-tuning, then the rerouting check; after `make interp` and
# `make sae`. The unblocked arm trains exactly like the demo's (same data, seed and settings), so it is the
# reference; prints each step's wall time.
set -euo pipefail
cd "$(dirname "$0")/../.."
EMKIT=${EMKIT:-.venv/bin/emkit}
PY=${PY:-.venv/bin/python}
TOP=${TOP:-3}
LATENTS=$($PY -c "import json; d = json.load(open('runs/demo/interp/sae-diff-bad_medical.json')); \
print(','.join(str(x['latent']) for x in d['latents'][:$TOP]))")
echo "blocking latents [$LATENTS]"
start=$SECONDS
$EMKIT run examples/sae/blocking.yaml --set "arms.blocked.train.block.latents=[$LATENTS]"
echo "run: $((SECONDS - start)) s"
start=$SECONDS
$EMKIT sae reroute runs/sae-blocking --top 10
echo "reroute: $((SECONDS - start)) s"
