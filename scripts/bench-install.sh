#!/usr/bin/env bash
# Benchmark: installing outbound from a release vs building it. In one run:
#   1. `cargo install --locked --path . --root DIR` in a fresh target dir (the release
#      profile of Cargo.toml; what a runner without a binary does), timed, with the binary's
#      size;
#   2. that binary packed as a release (outbound-TARGET.tar.gz + .sha256, as release.yml
#      names them), served on 127.0.0.1, installed with scripts/install.sh (action.yml's
#      logic) into a fresh root, 5 times; prints each wall time.
# Builds run under `nice -n 10` (a shared machine). Usage: scripts/bench-install.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
mkdir -p "$work"
now() { date +%s.%N; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(now)
CARGO_TARGET_DIR="$work/target" nice -n 10 cargo install --locked --quiet --path . --root "$work/cargo-root"
end=$(now)
exe="$work/cargo-root/bin/outbound"
echo "cargo install --path .: $(echo "$end - $start" | bc) s wall; binary $(stat -c %s "$exe") bytes"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

version=$("$exe" --version | cut -d' ' -f2)
target=x86_64-unknown-linux-musl
case $(uname -m) in aarch64 | arm64) target=aarch64-unknown-linux-musl ;; esac
asset=outbound-$target.tar.gz
mkdir -p "$work/www/v$version" "$work/stage"
cp "$exe" "$work/stage/outbound"
tar -czf "$work/www/v$version/$asset" -C "$work/stage" outbound
(cd "$work/www/v$version" && sha256sum "$asset" >"$asset.sha256")
echo "archive: $(stat -c %s "$work/www/v$version/$asset") bytes"

python3 -c '
import functools, http.server, sys
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
h.log_message = lambda *a: None
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
print(s.server_address[1], flush=True)
s.serve_forever()
' "$work/www" >"$work/port" &
server=$!
trap 'kill $server' EXIT
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")

for i in 1 2 3 4 5; do
	rm -rf "$work/root"
	start=$(now)
	OUTBOUND_VERSION=$version OUTBOUND_REPOSITORY=acme/outbound \
		OUTBOUND_BASE_URL="http://127.0.0.1:$port" OUTBOUND_ROOT="$work/root" \
		scripts/install.sh install >/dev/null 2>&1
	end=$(now)
	echo "install.sh from the loopback release, run $i: $(echo "$end - $start" | bc) s wall"
done
