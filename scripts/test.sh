#!/usr/bin/env bash
# README command 2: install (first time only) and run the test suite.
# Extra arguments go to pytest, e.g.  scripts/test.sh -m "not slow"
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
source "$(dirname "${BASH_SOURCE[0]}")/system_packages.sh"
cd "$ROOT"
# --durations: the 20 slowest tests at the end of every run, so a CI log shows where the time goes.
exec python -m pytest -p no:cacheprovider --durations=20 "$@"
