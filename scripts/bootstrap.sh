#!/usr/bin/env bash
# Creates (or reuses) the project's virtual environment from the pinned lock.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again: when the lock,
# the no-deps list and pyproject.toml are unchanged, it does nothing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SICOT_VENV:-$ROOT/.venv}"
PYTHON="${SICOT_PYTHON:-python3.11}"
UV_VERSION="0.13.9"

stamp_of() {
  cat "$ROOT/requirements/lock.txt" "$ROOT/requirements/no-deps.txt" "$ROOT/pyproject.toml" \
    | sha256sum | cut -d' ' -f1
}
want="$(stamp_of)"
if [[ -f "$VENV/.sicot-stamp" && "$(cat "$VENV/.sicot-stamp")" == "$want" ]]; then
  echo "[bootstrap] environment $VENV is up to date"
else
  start=$(date +%s)
  echo "[bootstrap] creating environment $VENV from requirements/lock.txt"
  # A venv made by the venv module carries pip, which TFX needs at run time: it
  # packages the module file into a wheel and installs it with `python -m pip`.
  [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  # Bytecode at install time: where PYTHONDONTWRITEBYTECODE is set (many container
  # images; this project's CI machine) Python would otherwise compile TensorFlow, TFX and
  # Beam again in every process (import 17 s -> 9 s measured here), Beam workers included.
  export UV_LINK_MODE=copy UV_HTTP_TIMEOUT=300 UV_COMPILE_BYTECODE=1
  "$VENV/bin/uv" pip install --python "$VENV/bin/python" -r "$ROOT/requirements/lock.txt"
  "$VENV/bin/uv" pip install --python "$VENV/bin/python" --no-deps -r "$ROOT/requirements/no-deps.txt"
  "$VENV/bin/uv" pip install --python "$VENV/bin/python" --no-deps -e "$ROOT"
  echo "$want" > "$VENV/.sicot-stamp"
  echo "[bootstrap] environment ready in $(( $(date +%s) - start )) s"
fi
export PATH="$VENV/bin:$PATH"
