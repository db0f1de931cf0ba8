#!/usr/bin/env bash
# Benchmark of `plan --env all` (issue 16 §3): a project of ENVS environments (default 4),
# each in its own emulated account (its `role` assumed: moto gives the credentials it hands
# out the role ARN's account), each with N resources (default 300: a third connections, a
# third API destinations, a third AS2 connectors), all applied first. Then, RUNS times
# (default 3): `plan --env E` for each environment alone, `plan --env all`, and (to tell
# outbound from the emulator) the ENVS single-environment plans as separate processes at
# once. Each row: wall and CPU seconds and peak RSS (GNU time), and the emulator's CPU
# seconds in that time. The figures kept are the best wall of the runs and the highest peak RSS; the targets are wall(all) <= 1.3x the
# slowest single environment's and peak RSS(all) <= 2x a single environment's.
#
# Usage: scripts/bench-envs.sh [N] [ENVS] [RUNS]
# OUTBOUND_BIN: the binary to measure (e.g. a release build); default: the debug build
# (`cargo build --bin outbound`), whose times are not a release binary's.
# BENCH_FINGERPRINT_KEY (32+ bytes): keyed secret fingerprints (OUTBOUND_FINGERPRINT_KEY) for
# the whole run instead of the default Argon2id, whose CPU (about 10 ms a secret) is most of
# a plan's here; unset by default.
# BENCH_VIA_PROXY=1: every call through the test proxy (fault injection and call records, in
# the emulator's process), as up to 2026-12-06; default: straight to moto, the proxy serving
# only the call count below.
# BENCH_HEAPTRACK=DIR: every outbound run under heaptrack, its data in DIR/NAME.zst (NAME: the
# row, e.g. `all`, `e0`; use RUNS=1, a later run overwrites); times and RSS are then
# heaptrack's, not outbound's alone.
# One moto server (a single Python process) holds every account: see docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-300}; envs=${2:-4}; runs=${3:-3}

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=eu-west-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN OUTBOUND_STATE OUTBOUND_RATE_LIMIT OUTBOUND_ENV OUTBOUND_PROJECT OUTBOUND_FINGERPRINT_KEY || true
fingerprints="Argon2id fingerprints"
if [ -n "${BENCH_FINGERPRINT_KEY:-}" ]; then
  export OUTBOUND_FINGERPRINT_KEY=$BENCH_FINGERPRINT_KEY; fingerprints="keyed fingerprints"
fi
python="$(scripts/moto-venv.sh)"
if [ -n "${OUTBOUND_BIN:-}" ]; then
  outbound=$(realpath "$OUTBOUND_BIN"); build="OUTBOUND_BIN=$OUTBOUND_BIN"
else
  cargo build --quiet --bin outbound
  outbound=$PWD/target/debug/outbound; build="debug build (target/debug/outbound)"
fi

work=$(mktemp -d)
exec 3> >("$python" tests/support/moto/launcher.py --ready-file "$work/moto.json" --log-file "$work/moto.log")
trap 'exec 3>&-; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do [ -s "$work/moto.json" ] && break; sleep 0.1; done
read -r moto proxy emulator < <("$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["moto"], d["proxy"], d["pid"])' "$work/moto.json")
# CPU seconds the emulator (moto and its proxy: one Python process, so at most one core at a
# time under the GIL) has used so far.
tck=$(getconf CLK_TCK)
emu() { awk -v t="$tck" '{printf "%.2f\n", ($14 + $15) / t}' "/proc/$emulator/stat"; }
endpoint=$moto; [ -n "${BENCH_VIA_PROXY:-}" ] && endpoint=$proxy
export AWS_ENDPOINT_URL=$endpoint BENCH_KEY=bench-api-key-value

# The project: shared manifests, one environment per account (e0 in 100000000000, ...).
mkdir -p "$work/p/manifests" "$work/p/states"
"$python" - "$work/p" "$n" "$envs" <<'PY'
import os, sys
out, n, envs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = n // 3
docs = []
for i in range(per):
    docs.append(f"""apiVersion: outbound/v1
kind: Connection
metadata: {{ name: conn-{i} }}
spec:
  description: bench {i} in ${{env.name}}
  authorizationType: API_KEY
  authParameters:
    apiKeyAuthParameters: {{ apiKeyName: x-api-key, apiKeyValue: {{ fromEnv: BENCH_KEY }} }}
---
apiVersion: outbound/v1
kind: ApiDestination
metadata: {{ name: dest-{i} }}
spec:
  connection: conn-{i}
  invocationEndpoint: https://${{values.host}}/hooks/{i}
  httpMethod: POST
---
apiVersion: outbound/v1
kind: Connector
metadata: {{ name: as2-{i} }}
spec:
  url: https://as2.partner{i}.example/as2
  accessRole: arn:aws:iam::${{env.account}}:role/TransferConnector
  as2Config: {{ localProfileId: p-0123456789abcdef0, partnerProfileId: p-0fedcba9876543210 }}
""")
for f in range(0, len(docs), 100):
    open(os.path.join(out, "manifests", f"bench-{f // 100:03}.yaml"), "w").write("---\n".join(docs[f:f + 100]))
project = ["apiVersion: outbound/v1", "kind: Project", "environments:"]
for e in range(envs):
    account = f"{100000000000 + e}"
    project += [
        f"  e{e}:",
        f'    account: "{account}"',
        "    region: eu-west-1",
        f"    state: states/e{e}.json",
        f"    role: arn:aws:iam::{account}:role/outbound",
        f"    values: {{ host: e{e}.partner.example }}",
    ]
open(os.path.join(out, "outbound.yaml"), "w").write("\n".join(project) + "\n")
PY
names=(); for e in $(seq 0 $((envs - 1))); do names+=("e$e"); done
cd "$work/p"

# timed NAME EXPECTED_EXIT -- outbound args: one row of `$work/rows` (name wall cpu rss emu).
timed() {
  local name=$1 ok=$2 code=0 before wrap=(); shift 3
  [ -n "${BENCH_HEAPTRACK:-}" ] && wrap=(heaptrack -o "$BENCH_HEAPTRACK/$name")
  before=$(emu)
  /usr/bin/time -f '%e %U %S %M' -o "$work/time.$name" "${wrap[@]}" "$outbound" "$@" \
    > "$work/out.$name" 2> "$work/err.$name" || code=$?
  if [ "$code" != "$ok" ]; then
    echo "$name: exit $code, expected $ok:"; tail -20 "$work/err.$name"; exit 1
  fi
  read -r wall user sys rss < <(tail -1 "$work/time.$name")
  echo "$name $wall $(awk "BEGIN{print $user + $sys}") $rss $(awk "BEGIN{print $(emu) - $before}")" >> "$work/rows"
}

via="straight to moto"; [ -n "${BENCH_VIA_PROXY:-}" ] && via="through the test proxy"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) (start); binary: $build; $fingerprints; calls $via"
for e in "${names[@]}"; do
  timed "apply-$e" 0 -- apply --env "$e" --auto-approve
done
timed check 0 -- plan --env all --detailed-exitcode
# The calls of one environment's plan, by service: with the default client rate limits
# (events 45/s, transfer 40/s), a lower bound of its wall.
curl -sf -X DELETE "$proxy/__calls" > /dev/null
"$outbound" --endpoint-url "$proxy" plan --env e0 > /dev/null 2>&1
curl -sf "$proxy/__calls" | "$python" -c '
import collections, json, sys
calls = collections.Counter(c["service"] for c in json.load(sys.stdin))
floor = max(calls["events"] / 45, calls["transfer"] / 40)
print("one environment plan: " + ", ".join(f"{s} {n}" for s, n in sorted(calls.items()))
      + f" AWS calls; at the default client rate limits at least {floor:.1f} s")'
: > "$work/rows"
for run in $(seq 1 "$runs"); do
  for e in "${names[@]}"; do timed "$e" 0 -- plan --env "$e" --detailed-exitcode; done
  timed all 0 -- plan --env all --detailed-exitcode
  # The same environments as separate processes at once: what the emulator allows.
  pids=(); before=$(emu); start=$(date +%s.%N)
  for e in "${names[@]}"; do (timed "apart-$e" 0 -- plan --env "$e" --detailed-exitcode) & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
  echo "apart $(awk "BEGIN{print $(date +%s.%N) - $start}") 0 0 $(awk "BEGIN{print $(emu) - $before}")" >> "$work/rows"
  echo "run $run done (load average $(cut -d' ' -f1-3 /proc/loadavg))"
done

# Best wall and highest peak RSS per name; then the ratios.
"$python" - "$work/rows" "$n" "$envs" "$runs" <<'PY'
import collections, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, wall, cpu, rss, emu = line.split()
    rows[name].append((float(wall), float(cpu), int(rss), float(emu)))
n, envs, runs = sys.argv[2], int(sys.argv[3]), sys.argv[4]
best = {k: min(r[0] for r in v) for k, v in rows.items()}
cpu = {k: min(r[1] for r in v) for k, v in rows.items()}
rss = {k: max(r[2] for r in v) for k, v in rows.items()}
emu = {k: min(r[3] for r in v) for k, v in rows.items()}
singles = [f"e{e}" for e in range(envs)]
print(f"\n| plan ({n} resources per environment, best of {runs}) | wall s | outbound CPU s | peak RSS MB | emulator CPU s |")
print("|---|---|---|---|---|")
for k in singles:
    print(f"| --env {k} alone | {best[k]:.2f} | {cpu[k]:.2f} | {rss[k] / 1024:.0f} | {emu[k]:.2f} |")
print(f"| --env all ({envs} environments, one process) | {best['all']:.2f} | {cpu['all']:.2f} | {rss['all'] / 1024:.0f} | {emu['all']:.2f} |")
apart_rss = max(rss[f"apart-e{e}"] for e in range(envs))
print(f"| the {envs} `--env E` plans as separate processes at once | {best['apart']:.2f} | | {apart_rss / 1024:.0f} each | {emu['apart']:.2f} |")
slowest = max(best[k] for k in singles)
biggest = max(rss[k] for k in singles)
w, m = best["all"] / slowest, rss["all"] / biggest
print(f"\nwall(all) / slowest single: {w:.2f}x (target <= 1.3x: {'met' if w <= 1.3 else 'MISSED'})")
print(f"peak RSS(all) / largest single: {m:.2f}x (target <= 2x: {'met' if m <= 2 else 'MISSED'})")
print(f"separate processes at once / slowest single: {best['apart'] / slowest:.2f}x")
print(f"emulator busy during --env all: {emu['all'] / best['all']:.0%} of the wall (one Python process: 100% = one core)")
PY
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) (end)"
