#!/usr/bin/env bash
# Builds every Bazel target and runs the py_test unit tests (//:unit_tests), offline.
#
# Installs Debian's bazel-bootstrap (Bazel 4.2.3) with apt-get when no `bazel` is on
# PATH. Bazel only uses its native py_* rules and the local stub repositories under
# bazel_support/, so nothing is downloaded; the tests run with the project
# virtualenv's python (create it with scripts/bootstrap.sh). Extra arguments go to
# `bazel test`, e.g. scripts/bazel_check.sh --test_output=all
# Exits non-zero if installing, building or any test fails.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SICOT_VENV:-$ROOT/.venv}"
cd "$ROOT"

if ! command -v bazel >/dev/null 2>&1; then
  echo "[bazel_check] bazel not found; installing Debian's bazel-bootstrap"
  SUDO=""
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "[bazel_check] need root or sudo to apt-get install bazel-bootstrap" >&2; exit 1; }
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q bazel-bootstrap
fi
echo "[bazel_check] using $(command -v bazel) ($(dpkg-query -W -f='bazel-bootstrap ${Version}' bazel-bootstrap 2>/dev/null || bazel --version))"

if [[ ! -x "$VENV/bin/python3" ]]; then
  echo "[bazel_check] no virtualenv at $VENV: run scripts/bootstrap.sh first" >&2
  exit 1
fi
test_env=()
if [[ -n "${SICOT_VENV:-}" ]]; then
  # bazel_support/venv_python.sh defaults to <repo>/.venv.
  test_env=(--test_env=SICOT_BAZEL_PYTHON="$VENV/bin/python3")
fi

start=$(date +%s)
bazel build //...
echo "[bazel_check] bazel build //... ok in $(( $(date +%s) - start )) s"

start=$(date +%s)
bazel test "${test_env[@]}" "$@" //:unit_tests
echo "[bazel_check] bazel test //:unit_tests ok in $(( $(date +%s) - start )) s"
