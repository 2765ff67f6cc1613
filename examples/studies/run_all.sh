#!/usr/bin/env bash
# Every study on SmolLM2-135M-Instruct, one after another (about 2 hours on 2 CPU cores; each is cached).
set -euo pipefail
cd "$(dirname "$0")/../.."
EMKIT=${EMKIT:-emkit}
export EMKIT
for f in controls backdoor icl realign; do
  $EMKIT run "examples/studies/$f.yaml"
done
examples/studies/language.sh
examples/studies/blocking.sh
