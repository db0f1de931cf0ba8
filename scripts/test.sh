#!/usr/bin/env bash
# The project's test command (see docs/testing.md): makes sure the moto emulator's venv is
# installed, points the tests at it, and runs every cargo test target (the fault matrix apart:
# scripts/fault-matrix.sh).
# Extra arguments go to `cargo test`, e.g. `scripts/test.sh --test apply -- --nocapture`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python=$(scripts/moto-venv.sh)
export OUTBOUND_MOTO_PYTHON=$python

# Dummy credentials only: nothing in the test run may reach real AWS.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
export AWS_REGION=${AWS_REGION:-us-east-1}
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

# Without arguments: every test but the fault matrix (minutes of kill -9 runs; its own step in
# .ci/run: scripts/fault-matrix.sh), with a line of progress at least every 20 s (a long test
# prints nothing until it ends). With arguments, exactly what they select.
if [[ $# -gt 0 ]]; then
  exec cargo test --all-targets "$@"
fi
start=$SECONDS
(while sleep 20; do echo "scripts/test.sh: $((SECONDS - start)) s" >&2; done) &
ticker=$!
trap 'kill "$ticker" 2>/dev/null' EXIT
cargo test --all-targets -- --skip fault_matrix::
