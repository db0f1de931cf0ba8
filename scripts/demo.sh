#!/usr/bin/env bash
# The demo: outbound's main job on manifests/, against a local AWS emulator (moto) that this
# script starts on a loopback port and stops at the end. Nothing reaches real AWS.
#   validate -> plan -> apply -> plan again (no changes)
set -euo pipefail
cd "$(dirname "$0")/.."

# Dummy credentials only; never the instance-metadata service, never a real endpoint.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=eu-west-1
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE || true
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

echo "demo: preparing the emulator (.venv/; the first run installs moto)" >&2
python="$(scripts/moto-venv.sh)"
# cargo's own progress (on stderr): the first build compiles the AWS SDKs and takes minutes.
echo "demo: building outbound" >&2
cargo build
outbound="$PWD/target/debug/outbound"

work="$(mktemp -d)"
ready="$work/moto.json"
# The launcher exits when its stdin closes: keep a pipe open to it for the demo's lifetime.
exec 3> >("$python" tests/support/moto/launcher.py --ready-file "$ready" --log-file "$work/moto.log")
trap 'exec 3>&-; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do [ -s "$ready" ] && break; sleep 0.1; done
[ -s "$ready" ] || { echo "moto did not start; see $work/moto.log" >&2; exit 1; }
endpoint="$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["moto"])' "$ready")"
export AWS_ENDPOINT_URL="$endpoint"
export OUTBOUND_STATE="$work/state.json"

# The secrets manifests/ references, as a CI job would get them from its secret store.
export ACME_API_KEY=demo-acme-api-key ACME_SIGNING_SECRET=demo-acme-signing-secret
export INITECH_PASSWORD=demo-initech-password UMBRELLA_CLIENT_SECRET=demo-umbrella-secret

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
step outbound validate manifests
"$outbound" validate manifests
step outbound plan manifests
"$outbound" plan manifests
step outbound apply manifests --auto-approve
"$outbound" apply manifests --auto-approve
step outbound plan manifests --detailed-exitcode
"$outbound" plan manifests --detailed-exitcode
echo
echo "demo: AWS (moto at $endpoint) matches manifests/; moto and the demo state are removed on exit"
