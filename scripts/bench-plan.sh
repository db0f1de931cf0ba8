#!/usr/bin/env bash
# Benchmark: apply and plan for 300 resources (100 connections, 100 API destinations, 100
# connectors) against moto on loopback, and the floor measured in the same run: the same
# Describe calls issued back-to-back through the same SDK at the same concurrency
# (examples/describe_floor.rs). Prints wall times, AWS calls per resource (from the proxy's
# call log) and peak memory (GNU time). Usage: scripts/bench-plan.sh [N_PER_KIND] [PARALLELISM]
# BENCH_ARGS: more arguments for outbound's apply and plan, e.g.
# BENCH_ARGS="--rate-limit events=off,transfer=off" to compare with the floor, which has no limit.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}; par=${2:-16}
read -r -a extra <<< "${BENCH_ARGS:-}"

source scripts/bench-setup.sh
calls() { curl -s "$proxy/__calls" | "$python" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
forget() { curl -s -X DELETE "$proxy/__calls" > /dev/null; }
timed() { /usr/bin/time -f '%e %M' -o "$work/time" "$@" > "$work/out" 2> "$work/err" || { cat "$work/err"; exit 1; }; read -r wall rss < "$work/time"; }

resources=$((3 * n))
forget; timed $outbound apply "$work/m" --auto-approve --parallelism "$par" ${extra[@]+"${extra[@]}"}
echo "apply  ($resources resources, create): wall ${wall}s, peak RSS $((rss / 1024)) MB, $(calls) AWS calls"
best_plan=999; best_floor=999
for _ in 1 2 3; do
  forget; timed $outbound plan "$work/m" --detailed-exitcode --parallelism "$par" ${extra[@]+"${extra[@]}"}
  plan_calls=$(calls); plan_rss=$rss
  awk "BEGIN{exit !($wall < $best_plan)}" && best_plan=$wall
  floor=$(target/$profile/examples/describe_floor "$OUTBOUND_STATE" "$par")
  awk "BEGIN{exit !($floor < $best_floor)}" && best_floor=$floor
done
grep -q '^No changes' "$work/out" || { echo "plan after apply is not empty"; cat "$work/out"; exit 1; }
echo "plan   ($resources resources, no changes): wall ${best_plan}s (best of 3), peak RSS $((plan_rss / 1024)) MB, $plan_calls AWS calls = $(awk "BEGIN{printf \"%.3f\", $plan_calls / $resources}") per resource"
echo "floor  ($resources Describe calls, parallelism $par): ${best_floor}s (best of 3)"
echo "plan / floor: $(awk "BEGIN{printf \"%.2f\", $best_plan / $best_floor}")x"
