#!/usr/bin/env bash
# Benchmark: apply and plan for 300 resources (100 connections, 100 API destinations, 100
# connectors) against moto on loopback, and the floor measured in the same run: the same
# Describe calls issued back-to-back through the same SDK at the same concurrency
# (examples/describe_floor.rs). Prints wall times, AWS calls per resource (from the proxy's
# call log) and peak memory (GNU time). Usage: scripts/bench-plan.sh [N_PER_KIND] [PARALLELISM]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}; par=${2:-16}

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=eu-west-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN || true
python="$(scripts/moto-venv.sh)"
cargo build --quiet --release --bin outbound --example describe_floor
outbound=target/release/outbound

work=$(mktemp -d)
exec 3> >("$python" tests/support/moto/launcher.py --ready-file "$work/moto.json" --log-file "$work/moto.log")
trap 'exec 3>&-; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do [ -s "$work/moto.json" ] && break; sleep 0.1; done
proxy=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["proxy"])' "$work/moto.json")
export AWS_ENDPOINT_URL=$proxy OUTBOUND_STATE=$work/state.json BENCH_SECRET=bench-secret-value

mkdir "$work/m"
"$python" - "$work/m" "$n" <<'PY'
import os, sys
out, n = sys.argv[1], int(sys.argv[2])
docs = []
for i in range(n):
    docs.append(f"""apiVersion: outbound/v1
kind: Connection
metadata: {{ name: conn-{i} }}
spec:
  authorizationType: API_KEY
  authParameters:
    apiKeyAuthParameters: {{ apiKeyName: x-api-key, apiKeyValue: {{ fromEnv: BENCH_SECRET }} }}
---
apiVersion: outbound/v1
kind: ApiDestination
metadata: {{ name: dest-{i} }}
spec:
  connection: conn-{i}
  invocationEndpoint: https://api.example.com/hooks/{i}
  httpMethod: POST
---
apiVersion: outbound/v1
kind: Connector
metadata: {{ name: as2-{i} }}
spec:
  url: https://as2.partner{i}.example/as2
  accessRole: arn:aws:iam::111122223333:role/TransferConnector
  as2Config: {{ localProfileId: p-0123456789abcdef0, partnerProfileId: p-0fedcba9876543210 }}
""")
open(os.path.join(out, "bench.yaml"), "w").write("---\n".join(docs))
PY
calls() { curl -s "$proxy/__calls" | "$python" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
forget() { curl -s -X DELETE "$proxy/__calls" > /dev/null; }
timed() { /usr/bin/time -f '%e %M' -o "$work/time" "$@" > "$work/out" 2> "$work/err" || { cat "$work/err"; exit 1; }; read -r wall rss < "$work/time"; }

resources=$((3 * n))
forget; timed $outbound apply "$work/m" --auto-approve --parallelism "$par"
echo "apply  ($resources resources, create): wall ${wall}s, peak RSS $((rss / 1024)) MB, $(calls) AWS calls"
best_plan=999; best_floor=999
for _ in 1 2 3; do
  forget; timed $outbound plan "$work/m" --detailed-exitcode --parallelism "$par"
  plan_calls=$(calls); plan_rss=$rss
  awk "BEGIN{exit !($wall < $best_plan)}" && best_plan=$wall
  floor=$(target/release/examples/describe_floor "$OUTBOUND_STATE" "$par")
  awk "BEGIN{exit !($floor < $best_floor)}" && best_floor=$floor
done
grep -q '^No changes' "$work/out" || { echo "plan after apply is not empty"; cat "$work/out"; exit 1; }
echo "plan   ($resources resources, no changes): wall ${best_plan}s (best of 3), peak RSS $((plan_rss / 1024)) MB, $plan_calls AWS calls = $(awk "BEGIN{printf \"%.3f\", $plan_calls / $resources}") per resource"
echo "floor  ($resources Describe calls, parallelism $par): ${best_floor}s (best of 3)"
echo "plan / floor: $(awk "BEGIN{printf \"%.2f\", $best_plan / $best_floor}")x"
