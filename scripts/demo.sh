#!/usr/bin/env bash
# README command 1: install (first time only) and run the main job, the full pipeline
# on the bundled emoji sample. Extra arguments go to `sicot run`, e.g.
#   scripts/demo.sh --set train.epochs=3
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"
exec sicot run "$@"
