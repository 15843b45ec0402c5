#!/bin/sh
# Python interpreter for Bazel's py_binary/py_test (see //:venv_py_runtime).
#
# Bazel runs this from a runfiles tree, where it is a symlink back to the
# source file; resolve it to find the repository root and exec the project
# virtualenv's python (which must be invoked by its .venv path so that
# pyvenv.cfg, and hence the venv's site-packages, is picked up).
# Override with SICOT_BAZEL_PYTHON (for tests: --test_env=SICOT_BAZEL_PYTHON=...).
self=$(readlink -f "$0") || exit 1
root=$(dirname "$(dirname "$self")")
python=${SICOT_BAZEL_PYTHON:-$root/.venv/bin/python3}
if [ ! -x "$python" ]; then
    echo "bazel_support/venv_python.sh: no interpreter at $python (create .venv, or set SICOT_BAZEL_PYTHON)" >&2
    exit 127
fi
exec "$python" "$@"
