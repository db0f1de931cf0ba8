# Shared by the benchmark scripts (sourced, with `n` set): builds outbound (release), starts
# moto behind its proxy on loopback, and writes `$work/m/bench.yaml` with n connections, n API
# destinations and n AS2 connectors. Sets `python`, `work`, `proxy`, `outbound`, `profile`.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=eu-west-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN || true
python="$(scripts/moto-venv.sh)"
# BENCH_PROFILE=debug measures a debug build (counts of calls and writes, not times).
profile=${BENCH_PROFILE:-release}
if [ "$profile" = release ]; then
  cargo build --quiet --release --bin outbound --example describe_floor
else
  cargo build --quiet --bin outbound --example describe_floor
fi
outbound=target/$profile/outbound

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
