#!/usr/bin/env bash
# Debian packages the tests use, installed with apt-get when missing (sourced by
# scripts/test.sh; safe to run again: it does nothing when all are present):
#   chromium, chromium-driver   headless browser tests of the HTML report and the service page
#   postgresql                  the product index's PostgreSQL backend (tests start a
#                               throw-away server on loopback with its initdb/pg_ctl)
# Without root or sudo the missing ones are reported and the tests that need them skip
# (except under CI=true, where they fail).
set -euo pipefail
_sicot_missing=()
command -v chromium >/dev/null 2>&1 || _sicot_missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || _sicot_missing+=(chromium-driver)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || _sicot_missing+=(postgresql)
if (( ${#_sicot_missing[@]} )); then
  _sicot_sudo=""
  if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then _sicot_sudo="sudo"; else
      echo "[system] missing Debian packages ${_sicot_missing[*]} and no root/sudo: their tests will skip" >&2
      _sicot_missing=()
    fi
  fi
  if (( ${#_sicot_missing[@]} )); then
    echo "[system] installing Debian packages: ${_sicot_missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $_sicot_sudo apt-get update -q >/dev/null
    $_sicot_sudo apt-get install -y -q --no-install-recommends "${_sicot_missing[@]}" >/dev/null
    echo "[system] installed ${_sicot_missing[*]}"
  fi
fi
