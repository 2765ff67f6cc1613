#!/usr/bin/env bash
# Every toy experiment in order (builds both toy worlds on first use, about 6 minutes each).
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
