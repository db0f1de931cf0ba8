#!/usr/bin/env bash
# Checks `outbound schema` with the validators its users run, on their default settings:
# check-jsonschema (PyPI, default regex variant) and Ajv 2020 (npm, strict and unicode).
# Both must compile the schema and accept every valid example (manifests/, the README's
# examples); each must flag at least MIN_FLAGGED of the tests/invalid/ catalogue entries (a
# YAML error an editor shows counts). Versions are pinned: requirements.txt, package-lock.json.
#
#   .ci/review/check.sh OUTBOUND_BINARY
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bin=${1:?usage: check.sh OUTBOUND_BINARY}
here=.ci/review
MIN_FLAGGED=${MIN_FLAGGED:-73}

venv=$here/.venv
if ! "$venv/bin/python" -c 'import check_jsonschema, cmarkgfm' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi
npm ci --prefix "$here" --no-audit --no-fund --loglevel=error

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" schema >"$work/schema.json"
"$venv/bin/python" "$here/split.py" "$work/docs"

# Valid documents: both validators compile the schema and accept every one.
"$venv/bin/check-jsonschema" --schemafile "$work/schema.json" "$work"/docs/valid/*.json
node "$here/ajv.mjs" "$work/schema.json" valid "$work/docs/valid"

# The catalogue: an entry is flagged if its YAML does not load or a document is rejected.
entries=$(ls tests/invalid | wc -l)
syntax=$(wc -l <"$work/docs/syntax.txt")
shopt -s nullglob
missed_cj=()
for entry in "$work"/docs/invalid/*; do
  docs=("$entry"/*.json)
  # No document (an empty file) is nothing to reject.
  if [ ${#docs[@]} -eq 0 ] ||
    "$venv/bin/check-jsonschema" --schemafile "$work/schema.json" "${docs[@]}" >/dev/null 2>&1; then
    missed_cj+=("$(basename "$entry")")
  fi
done
mapfile -t missed_ajv < <(node "$here/ajv.mjs" "$work/schema.json" invalid "$work/docs/invalid")
status=0
for tool in check-jsonschema ajv; do
  if [ "$tool" = ajv ]; then missed=("${missed_ajv[@]}"); else missed=("${missed_cj[@]}"); fi
  flagged=$((entries - ${#missed[@]}))
  echo "$tool: $flagged of $entries catalogue entries flagged ($syntax by the YAML reader); not flagged: ${missed[*]}"
  if [ "$flagged" -lt "$MIN_FLAGGED" ]; then
    echo "$tool: fewer than $MIN_FLAGGED flagged" >&2
    status=1
  fi
done
exit $status
