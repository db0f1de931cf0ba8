#!/usr/bin/env bash
# The full fault matrix (docs/reliability.md): the 20-action apply interrupted at every one of
# its AWS calls by kill -9 (before and after the call) and by every failing-call kind
# (AccessDenied, HTTP 500, throttling, a dropped answer). The default test run tries every
# kill point and a stride of the failing calls; this tries them all.
#   scripts/fault-matrix.sh                        # the full sweep
#   OUTBOUND_FAULT_MATRIX_CALLS=31,32 scripts/fault-matrix.sh   # only those calls
#   OUTBOUND_FAULT_MATRIX_JOBS=4 scripts/fault-matrix.sh        # cells run at once per test (default 2)
# The tables are written to target/tmp/fault-matrix-{kill,faults}.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export OUTBOUND_FAULT_MATRIX=full
start=$SECONDS
status=0
scripts/test.sh --test it -- fault_matrix:: --nocapture "$@" || status=$?
echo "fault matrix: $((SECONDS - start)) s wall, exit $status; tables in target/tmp/fault-matrix-*.md" >&2
exit $status
