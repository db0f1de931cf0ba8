#!/usr/bin/env bash
# Benchmark: `outbound validate` on 10,000 generated documents (100 files of 100 documents,
# a third of each kind, every connection with a secret). Prints wall time and peak memory
# of the best of 5 runs of the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
docs=${1:-10000}
cargo build --quiet --release
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 - "$work" "$docs" <<'PY'
import os, sys
out, total = sys.argv[1], int(sys.argv[2])
per_file = 100
for f in range(0, total, per_file):
    parts = []
    for i in range(f, min(f + per_file, total)):
        k = i % 3
        if k == 0:
            parts.append(f"""apiVersion: outbound/v1
kind: Connection
metadata: {{ name: conn-{i} }}
spec:
  description: Generated connection {i}
  authorizationType: API_KEY
  authParameters:
    apiKeyAuthParameters: {{ apiKeyName: x-api-key, apiKeyValue: {{ fromEnv: BENCH_SECRET }} }}
    invocationHttpParameters:
      headerParameters: [ {{ key: X-Env, value: prod }}, {{ key: X-Sig, value: {{ fromEnv: BENCH_SECRET }} }} ]
""")
        elif k == 1:
            parts.append(f"""apiVersion: outbound/v1
kind: ApiDestination
metadata: {{ name: dest-{i} }}
spec:
  connection: conn-{i - 1}
  invocationEndpoint: https://api.example.com/hooks/{i}
  httpMethod: POST
  invocationRateLimitPerSecond: 10
""")
        else:
            parts.append(f"""apiVersion: outbound/v1
kind: Connector
metadata: {{ name: as2-{i} }}
spec:
  url: https://as2.partner{i}.example/as2
  accessRole: arn:aws:iam::111122223333:role/TransferConnector
  as2Config:
    localProfileId: p-0123456789abcdef0
    partnerProfileId: p-0fedcba9876543210
    compression: ZLIB
    encryptionAlgorithm: AES256_CBC
    signingAlgorithm: SHA256
    mdnResponse: SYNC
  tags: {{ team: edi, partner: p{i} }}
""")
    with open(os.path.join(out, f"m{f // per_file:04}.yaml"), "w") as fh:
        fh.write("---\n".join(parts))
PY
export BENCH_SECRET=bench-secret-value
best_wall=999999; best_rss=0
for _ in 1 2 3 4 5; do
  /usr/bin/time -f '%e %M' -o "$work/time" target/release/outbound validate "$work" > "$work/out"
  read -r wall rss < "$work/time"
  if awk "BEGIN{exit !($wall < $best_wall)}"; then best_wall=$wall; best_rss=$rss; fi
done
echo "validate: $(cat "$work/out")"
echo "documents: $docs  wall: ${best_wall}s (best of 5)  peak RSS: $((best_rss / 1024)) MB"
