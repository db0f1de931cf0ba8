#!/usr/bin/env bash
# Benchmark at account-quota scale (issue 8): CONNECTIONS connections (two secrets each), as many
# API destinations, CONNECTORS AS2 connectors, against moto on loopback. Two passes, each in a
# region of its own:
#   1. unthrottled: outbound with `--rate-limit events=off,transfer=off`, beside the Describe
#      floor of the same run (examples/describe_floor.rs);
#   2. rate: the proxy throttles EventBridge above RATE per second (its rate-limiting mode),
#      outbound runs with its default client limits; wall against calls / rate;
#   3. over (only when named in PASSES): the same proxy, outbound without client limits, so
#      adaptive retry alone meets the throttling (does MAX_ATTEMPTS suffice?).
# Cases per pass: apply of all creates, plan with no changes, plan with 1% of the resources
# changed outside (straight to moto), drift, apply of those 1% updates, no-op apply. Each row:
# exit code, wall and CPU seconds and peak RSS (GNU time), AWS calls by operation (the proxy's
# call log), throttled answers and throttling errors surfaced by outbound (must be 0).
#
# Usage: scripts/bench-scale.sh [CONNECTIONS] [CONNECTORS] [PARALLELISM] [RATE] [PASSES]
#        defaults:                 3000          200          16            50     "free rate"
# A quick run: scripts/bench-scale.sh 30 4. Not part of the test run.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3000}; m=${2:-200}; par=${3:-16}; rate=${4:-50}; passes=${5:-"free rate"}

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN OUTBOUND_RATE_LIMIT OUTBOUND_FINGERPRINT_KEY || true
python="$(scripts/moto-venv.sh)"
# BENCH_PROFILE=dev: a debug build, only to try the script itself quickly.
profile=${BENCH_PROFILE:-release}; dir=release; [ "$profile" = dev ] && dir=debug
cargo build --quiet --profile "$profile" --bin outbound --example describe_floor
outbound=$PWD/target/$dir/outbound

work=$(mktemp -d)
exec 3> >("$python" tests/support/moto/launcher.py --ready-file "$work/moto.json" --log-file "$work/moto.log")
trap 'exec 3>&-; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do [ -s "$work/moto.json" ] && break; sleep 0.1; done
read -r proxy moto < <("$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["proxy"], d["moto"])' "$work/moto.json")
export AWS_ENDPOINT_URL=$proxy BENCH_KEY=bench-api-key-value BENCH_SIGNATURE=bench-signature-value

mkdir "$work/m"
"$python" - "$work/m" "$n" "$m" <<'PY'
import os, sys
out, n, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
docs = []
for i in range(n):
    docs.append(f"""apiVersion: outbound/v1
kind: Connection
metadata: {{ name: conn-{i} }}
spec:
  description: bench {i}
  authorizationType: API_KEY
  authParameters:
    apiKeyAuthParameters: {{ apiKeyName: x-api-key, apiKeyValue: {{ fromEnv: BENCH_KEY }} }}
    invocationHttpParameters:
      headerParameters:
        - {{ key: X-Signature, value: {{ fromEnv: BENCH_SIGNATURE }} }}
---
apiVersion: outbound/v1
kind: ApiDestination
metadata: {{ name: dest-{i} }}
spec:
  description: bench {i}
  connection: conn-{i}
  invocationEndpoint: https://api.example.com/hooks/{i}
  httpMethod: POST
""")
for i in range(m):
    docs.append(f"""apiVersion: outbound/v1
kind: Connector
metadata: {{ name: as2-{i} }}
spec:
  url: https://as2.partner{i}.example/as2
  accessRole: arn:aws:iam::111122223333:role/TransferConnector
  as2Config: {{ localProfileId: p-0123456789abcdef0, partnerProfileId: p-0fedcba9876543210, messageSubject: bench }}
""")
for f in range(0, len(docs), 100):  # 100 documents a file
    open(os.path.join(out, f"bench-{f // 100:03}.yaml"), "w").write("---\n".join(docs[f:f + 100]))
PY

control() { curl -sf -X "$1" "$proxy$2" ${3:+-d "$3"}; }
# "Op n, Op n, ..." of the region's calls; total; throttled answers.
summary() {
  control GET "/__calls?region=$1" | "$python" -c '
import collections, json, sys
calls = json.load(sys.stdin)
ops = collections.Counter(c["operation"] for c in calls)
throttled = sum(1 for c in calls if c["error"] == "ThrottlingException")
print(len(calls), throttled, ", ".join(f"{o} {k}" for o, k in sorted(ops.items())) or "-")'
}
# Changes 1% of the connections, destinations and connectors outside outbound (straight to
# moto, so the proxy neither logs nor throttles it).
change_outside() {
  "$python" - "$moto" "$1" "$2" "$n" "$m" <<'PY'
import json, sys, boto3
moto, region, state, n, m = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
kw = dict(region_name=region, endpoint_url=moto, aws_access_key_id="testing", aws_secret_access_key="testing")
events, transfer = boto3.client("events", **kw), boto3.client("transfer", **kw)
resources = json.load(open(state))["resources"]
for i in range(0, n, 100):
    events.update_connection(Name=f"conn-{i}", Description="changed outside")
    events.update_api_destination(Name=f"dest-{i}", Description="changed outside")
for i in range(0, m, 100):
    transfer.update_connector(ConnectorId=resources[f"Connector/as2-{i}"]["id"], As2Config={"MessageSubject": "changed outside"})
PY
}

printf '| pass | case | exit | wall s | CPU s | peak RSS MB | AWS calls | throttled | surfaced | calls / rate s | by operation |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
# run PASS REGION CASE EXPECTED_EXITS -- outbound args...
run() {
  local pass=$1 region=$2 case=$3 ok=$4; shift 5
  control DELETE "/__calls?region=$region" > /dev/null
  local code=0
  AWS_REGION=$region /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$outbound" "$@" "$work/m" \
    > "$work/out" 2> "$work/err" || code=$?
  read -r wall user sys rss < <(tail -1 "$work/time")
  read -r total throttled ops < <(summary "$region")
  local surfaced; surfaced=$(cat "$work/err" "$work/out" | { grep -c -i 'throttl' || true; })
  local bound=-
  [ "$pass" != free ] && bound=$(awk "BEGIN{printf \"%.1f\", $total / $rate}")
  printf '| %s | %s | %s | %s | %.1f | %d | %s | %s | %s | %s | %s |\n' "$pass" "$case" "$code" "$wall" \
    "$(awk "BEGIN{print $user + $sys}")" "$((rss / 1024))" "$total" "$throttled" "$surfaced" "$bound" "$ops"
  case " $ok " in *" $code "*) ;; *) echo "unexpected exit $code:"; tail -20 "$work/err"; exit 1 ;; esac
}

for pass in $passes; do
  region=bench-$pass; export OUTBOUND_STATE=$work/state-$pass.json
  limits=(--rate-limit events=off,transfer=off)
  [ "$pass" = rate ] && limits=()
  [ "$pass" != free ] && control POST /__ratelimit "{\"region\": \"$region\", \"rate\": $rate}" > /dev/null
  run "$pass" "$region" "apply, all create" "0" -- apply --auto-approve --parallelism "$par" "${limits[@]}"
  run "$pass" "$region" "plan, no changes" "0" -- plan --detailed-exitcode --parallelism "$par" "${limits[@]}"
  if [ "$pass" = free ]; then
    floor=$(AWS_REGION=$region target/$dir/examples/describe_floor "$OUTBOUND_STATE" "$par")
    echo "| free | Describe floor ($((2 * n + m)) Describe calls) | 0 | $floor | | | $((2 * n + m)) | | | | |"
  fi
  change_outside "$region" "$OUTBOUND_STATE"
  run "$pass" "$region" "plan, 1% changed outside" "2" -- plan --detailed-exitcode --parallelism "$par" "${limits[@]}"
  run "$pass" "$region" "drift" "2" -- drift --parallelism "$par" "${limits[@]}"
  run "$pass" "$region" "apply, 1% updates" "0" -- apply --auto-approve --parallelism "$par" "${limits[@]}"
  run "$pass" "$region" "apply, no-op" "0" -- apply --auto-approve --parallelism "$par" "${limits[@]}"
done
echo
echo "$n connections (2 secrets each), $n API destinations, $m connectors; --parallelism $par; proxy rate $rate/s (rate pass)"
