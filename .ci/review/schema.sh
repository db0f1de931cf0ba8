#!/usr/bin/env bash
# Checks `outbound schema` with the validators its users run, on their default settings:
# check-jsonschema (PyPI, default regex variant), Ajv 2020 (npm, strict and unicode) and
# yaml-language-server (npm, the editors'). Each must compile the schema and accept every valid example (manifests/, the README's
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
node "$here/yls.mjs" "$work/schema.json" valid manifests/*.yaml "$work"/docs/readme/*.yaml

# The catalogue: an entry is flagged if its YAML does not load or a document is rejected.
entries=$(ls tests/invalid | wc -l)
echo "$(wc -l <"$work/docs/syntax.txt") catalogue entries are not YAML an editor loads (flagged by the reader)"
# One check-jsonschema run over every document (its JSON report names each failing file).
shopt -s nullglob
"$venv/bin/check-jsonschema" --schemafile "$work/schema.json" -o JSON \
  "$work"/docs/invalid/*/*.json >"$work/cj.json" || true
mapfile -t missed_cj < <("$venv/bin/python" - "$work/cj.json" "$work"/docs/invalid/* <<'PY'
import json, pathlib, sys
report = json.load(open(sys.argv[1]))
failed = {pathlib.Path(e["filename"]).parent.name for e in report["errors"]}
failed |= {pathlib.Path(e["filename"]).parent.name for e in report["parse_errors"]}
for entry in sys.argv[2:]:
    # An entry with no document (an empty file) is nothing to reject.
    if pathlib.Path(entry).name not in failed:
        print(pathlib.Path(entry).name)
PY
)
mapfile -t missed_ajv < <(node "$here/ajv.mjs" "$work/schema.json" invalid "$work/docs/invalid")
# The editor reads the YAML itself: its syntax errors count as it shows them.
mapfile -t missed_yls < <(node "$here/yls.mjs" "$work/schema.json" invalid tests/invalid/*)
status=0
for tool in check-jsonschema ajv yaml-language-server; do
  case $tool in
    ajv) missed=("${missed_ajv[@]}") ;;
    yaml-language-server) missed=("${missed_yls[@]}") ;;
    *) missed=("${missed_cj[@]}") ;;
  esac
  flagged=$((entries - ${#missed[@]}))
  echo "$tool: $flagged of $entries catalogue entries flagged; not flagged: ${missed[*]}"
  if [ "$flagged" -lt "$MIN_FLAGGED" ]; then
    echo "$tool: fewer than $MIN_FLAGGED flagged" >&2
    status=1
  fi
done
exit $status
