#!/usr/bin/env bash
# Creates (or reuses) .venv/ at the repo root with the pinned moto test emulator from
# tests/support/moto/requirements.txt, and prints the venv's python path on stdout.
#
# Idempotent and fast when nothing changed: .venv/.outbound-requirements.sha256 holds a hash
# of the requirements file and the base interpreter's version; when it matches, nothing runs.
# Any other output (pip) goes to stderr, so `PY=$(scripts/moto-venv.sh)` works.
#
# Environment: PYTHON (base interpreter, default python3), OUTBOUND_VENV (default <repo>/.venv).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
venv=${OUTBOUND_VENV:-$root/.venv}
req=$root/tests/support/moto/requirements.txt
marker=$venv/.outbound-requirements.sha256
base_python=${PYTHON:-python3}

if ! command -v "$base_python" >/dev/null 2>&1; then
  echo "moto-venv: $base_python not found (set PYTHON to a Python >= 3.9)" >&2
  exit 1
fi

want=$(
  {
    cat "$req"
    "$base_python" -c 'import sys; print(sys.version)'
  } | sha256sum | cut -d' ' -f1
)

up_to_date() {
  [[ -x $venv/bin/python && -f $marker && "$(cat "$marker")" == "$want" ]] &&
    "$venv/bin/python" -c 'import moto' >/dev/null 2>&1
}

if up_to_date; then
  echo "$venv/bin/python"
  exit 0
fi

# Serialise concurrent runs (two test invocations at once) when flock is available.
mkdir -p "$(dirname "$venv")"
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/outbound-venv-$(echo "$venv" | sha256sum | cut -c1-16).lock"
  flock 9
  if up_to_date; then
    echo "$venv/bin/python"
    exit 0
  fi
fi

echo "moto-venv: installing $(grep -m1 '^moto' "$req") into $venv" >&2
if [[ -d $venv ]] && ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
  rm -rf "$venv" # broken (e.g. base interpreter moved)
fi
if [[ -f $marker ]] && [[ "$(cat "$marker")" != "$want" ]]; then
  # Requirements or interpreter changed: start clean so removed pins do not linger.
  rm -rf "$venv"
fi
[[ -x $venv/bin/python ]] || "$base_python" -m venv "$venv" >&2
rm -f "$marker"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off PIP_NO_INPUT=1
"$venv/bin/python" -m pip install --quiet --requirement "$req" >&2
"$venv/bin/python" -c 'import moto, moto.server' >&2
echo "$want" >"$marker"
echo "$venv/bin/python"
