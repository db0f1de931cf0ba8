#!/usr/bin/env bash
# The fault matrix (docs/reliability.md), apart from `scripts/test.sh`: the 20-action apply
# interrupted at every one of its AWS calls by kill -9 (before and after the call), by the
# failing-call kinds (AccessDenied, HTTP 500, throttling, a dropped answer), and while AWS is
# read (kill -9, GitHub's cancel sequence) or an S3 answer is lost, on the local file and S3.
#   scripts/fault-matrix.sh                        # every kind at every call (the full sweep,
#                                                  # as CI runs it: .ci/run)
#   OUTBOUND_FAULT_MATRIX=stride scripts/fault-matrix.sh        # a quicker part: every kill
#       point, AccessDenied and a dropped answer at every mutating call, a stride of the others
#   OUTBOUND_FAULT_MATRIX_CALLS=31,32 scripts/fault-matrix.sh   # only those calls
#   OUTBOUND_FAULT_MATRIX_JOBS=4 scripts/fault-matrix.sh        # cells run at once per test (default 2)
# The tables are written to target/tmp/fault-matrix-{kill,faults,interruptions}.md; the last
# line counts the cells of this run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export OUTBOUND_FAULT_MATRIX=${OUTBOUND_FAULT_MATRIX:-full}
mkdir -p target/tmp
rm -f target/tmp/fault-matrix-*.md
start=$SECONDS
status=0
scripts/test.sh --test it -- fault_matrix:: --nocapture "$@" || status=$?
cells=0 failing=0
for table in target/tmp/fault-matrix-*.md; do
  [[ -e $table ]] || continue
  line=$(grep -E '^cells [0-9]+, failing [0-9]+' "$table" | tail -1)
  read -r c f <<<"$(sed -E 's/^cells ([0-9]+), failing ([0-9]+).*/\1 \2/' <<<"$line")"
  cells=$((cells + ${c:-0})) failing=$((failing + ${f:-0}))
done
echo "fault matrix ($OUTBOUND_FAULT_MATRIX): $cells cells, $failing failing; $((SECONDS - start)) s wall, exit $status; tables in target/tmp/fault-matrix-*.md" >&2
exit $status
