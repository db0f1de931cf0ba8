#!/usr/bin/env bash
# Benchmark: state calls and writes with the state on S3 (moto, loopback), for an apply that
# creates 300 resources (100 connections, 100 API destinations, 100 AS2 connectors), the plan
# after it, and an apply with nothing to do. S3 calls are counted by the emulator's proxy;
# writes are outbound's own count (`-v`). Usage: scripts/bench-state.sh [N_PER_KIND] [PARALLELISM]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}; par=${2:-16}

source scripts/bench-setup.sh
bucket=outbound-bench-state
"$python" - "$proxy" "$bucket" <<'PY'
import sys, boto3
boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1").create_bucket(Bucket=sys.argv[2])
PY
export OUTBOUND_STATE=s3://$bucket/team/state.json
s3_calls() {
  curl -s "$proxy/__calls?service=s3" | "$python" -c '
import collections, json, sys
ops = collections.Counter(c["operation"] for c in json.load(sys.stdin))
print(sum(ops.values()), "S3 calls:", ", ".join(f"{k} {v}" for k, v in sorted(ops.items())))'
}
forget() { curl -s -X DELETE "$proxy/__calls" > /dev/null; }
writes() { grep -o 'state: [0-9]* writes\?' "$work/err" | grep -o '[0-9]*' || echo 0; }

resources=$((3 * n))
forget
start=$(date +%s.%N)
$outbound apply "$work/m" --auto-approve --parallelism "$par" -v > "$work/out" 2> "$work/err" || { cat "$work/err"; exit 1; }
took=$(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $start}")
echo "($profile build) apply ($resources resources, create, ${took}s): $(writes) state writes; $(s3_calls)"
forget
$outbound plan "$work/m" --detailed-exitcode --parallelism "$par" > "$work/out" 2> "$work/err" || true
grep -q '^No changes' "$work/out" || { echo "plan after apply is not empty"; cat "$work/out" "$work/err"; exit 1; }
echo "plan  ($resources resources, no changes): $(s3_calls)"
forget
$outbound apply "$work/m" --auto-approve --parallelism "$par" -v > "$work/out" 2> "$work/err" || { cat "$work/err"; exit 1; }
echo "apply ($resources resources, no changes): $(writes) state writes; $(s3_calls)"
