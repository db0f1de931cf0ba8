#!/usr/bin/env bash
# Installs an outbound release binary for this machine: the install logic of action.yml
# (docs/ci.md, "Installing outbound"), usable on its own. tests/it/install.rs runs it against
# a loopback HTTP server.
#
#   scripts/install.sh resolve   # writes version, tag, target, dir to $GITHUB_OUTPUT (the cache key)
#   scripts/install.sh install   # downloads, verifies the sha256, unpacks, checks `--version`
#
# Settings (environment; action.yml maps its inputs onto them):
#   OUTBOUND_VERSION     release to install: 0.1.0 or v0.1.0; default: the action's own ref
#                        (OUTBOUND_ACTION_REF, else GITHUB_ACTION_REF) when it is a version tag
#   OUTBOUND_REPOSITORY  OWNER/NAME of outbound's repository; default GITHUB_ACTION_REPOSITORY
#   OUTBOUND_BASE_URL    where the release assets are: BASE/vX.Y.Z/outbound-TARGET.tar.gz;
#                        default $GITHUB_SERVER_URL/OWNER/NAME/releases/download (a mirror works)
#   OUTBOUND_TOKEN       a token that can read a private repository (then `gh` downloads the
#                        assets and git fetches the source); empty for a public one
#   OUTBOUND_ROOT        install root (the binary goes to ROOT/bin); default
#                        ${RUNNER_TOOL_CACHE:-$HOME/.outbound}/outbound/VERSION/TARGET
#   OUTBOUND_TARGET      the Rust target triple to fetch; default: detected (uname)
#   OUTBOUND_FALLBACK_DRY_RUN=1   print the `cargo install` command instead of running it
#
# Where no binary fits (an unknown platform, or the release has no asset for it), it builds
# with `cargo install --locked` from the tag. A checksum mismatch is an error naming both sums.
set -euo pipefail

die() {
	echo "error: $*" >&2
	exit 1
}

# The release's version without its `v`, from OUTBOUND_VERSION or the action's ref.
version() {
	local v=${OUTBOUND_VERSION:-}
	if [ -z "$v" ]; then
		local ref=${OUTBOUND_ACTION_REF:-${GITHUB_ACTION_REF:-}}
		case $ref in
		v[0-9]*) v=$ref ;;
		*) die "no version: set the action's \`version\` input (or OUTBOUND_VERSION), e.g. 0.1.0; the action's ref \`$ref\` is not a version tag" ;;
		esac
	fi
	v=${v#v}
	[[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] ||
		die "\`$v\` is not a release version (expected X.Y.Z, e.g. 0.1.0)"
	echo "$v"
}

# The release target of this machine (SPEC: the targets release.yml builds), or nothing.
detect_target() {
	local os arch
	os=$(uname -s)
	arch=$(uname -m)
	case "$os/$arch" in
	Linux/x86_64) echo x86_64-unknown-linux-musl ;;
	Linux/aarch64 | Linux/arm64) echo aarch64-unknown-linux-musl ;;
	Darwin/x86_64) echo x86_64-apple-darwin ;;
	Darwin/arm64 | Darwin/aarch64) echo aarch64-apple-darwin ;;
	MINGW*/x86_64 | MSYS*/x86_64 | CYGWIN*/x86_64) echo x86_64-pc-windows-msvc ;;
	*) echo "" ;;
	esac
}

target() {
	if [ -n "${OUTBOUND_TARGET:-}" ]; then echo "$OUTBOUND_TARGET"; else detect_target; fi
}

root_dir() {
	local version=$1 target=$2
	echo "${OUTBOUND_ROOT:-${RUNNER_TOOL_CACHE:-$HOME/.outbound}/outbound/$version/${target:-source}}"
}

repository() {
	local repo=${OUTBOUND_REPOSITORY:-${GITHUB_ACTION_REPOSITORY:-}}
	[ -n "$repo" ] || die "no repository: set OUTBOUND_REPOSITORY=OWNER/NAME (outbound's repository)"
	echo "$repo"
}

sha256_of() {
	if command -v sha256sum >/dev/null; then
		sha256sum "$1" | cut -d' ' -f1
	else
		shasum -a 256 "$1" | cut -d' ' -f1
	fi
}

# Downloads URL to FILE; prints the HTTP status (000 when there was no answer).
fetch() {
	local url=$1 file=$2
	curl --silent --show-error --location --retry 3 --output "$file" --write-out '%{http_code}' "$url" || true
}

# Downloads ASSET and ASSET.sha256 of TAG into DIR. Returns 2 when the release has no such
# asset (the caller falls back to building), dies on any other failure.
download() {
	local tag=$1 asset=$2 dir=$3
	if [ -n "${OUTBOUND_TOKEN:-}" ] && [ -z "${OUTBOUND_BASE_URL:-}" ]; then
		# A private repository: its download URLs take no token, the API (through gh) does.
		if ! GH_TOKEN=$OUTBOUND_TOKEN gh release download "$tag" --repo "$(repository)" \
			--pattern "$asset" --pattern "$asset.sha256" --dir "$dir" 2>"$dir/gh.log"; then
			grep -qi 'no assets match' "$dir/gh.log" && return 2
			die "cannot download $asset of $tag from $(repository): $(cat "$dir/gh.log")"
		fi
		return 0
	fi
	local base=${OUTBOUND_BASE_URL:-${GITHUB_SERVER_URL:-https://github.com}/$(repository)/releases/download}
	local url="${base%/}/$tag/$asset" code
	code=$(fetch "$url" "$dir/$asset")
	case $code in
	200) ;;
	404) return 2 ;;
	*) die "cannot download $url (HTTP $code)" ;;
	esac
	code=$(fetch "$url.sha256" "$dir/$asset.sha256")
	[ "$code" = 200 ] || die "cannot download $url.sha256 (HTTP $code): the archive cannot be verified"
}

# Refuses an archive whose sha256 differs from the one published beside it.
verify() {
	local file=$1 expected actual
	expected=$(tr -d '\r' <"$file.sha256" | awk '{print $1; exit}')
	actual=$(sha256_of "$file")
	[[ $expected =~ ^[0-9a-fA-F]{64}$ ]] || die "$(basename "$file").sha256 holds no sha256: \`$expected\`"
	[ "$(echo "$expected" | tr 'A-F' 'a-f')" = "$actual" ] ||
		die "checksum mismatch for $(basename "$file"): expected sha256 $expected (from $(basename "$file").sha256), got $actual; nothing was installed"
	echo "sha256 $actual verified" >&2
}

unpack() {
	local file=$1 bin=$2
	mkdir -p "$bin"
	case $file in
	*.zip)
		# Windows runners: Git Bash may lack unzip; 7-Zip is on GitHub's images.
		if command -v unzip >/dev/null; then
			unzip -q -o "$file" -d "$bin"
		elif command -v 7z >/dev/null; then
			7z x -y "-o$bin" "$file" >/dev/null
		else
			die "cannot unpack $file: neither unzip nor 7z is installed"
		fi
		;;
	*) tar -xzf "$file" -C "$bin" ;;
	esac
}

# Builds outbound from source where no binary fits (bash 3.2 too: macOS's /bin/bash).
build_from_source() {
	local tag=$1 root=$2 why=$3
	local cmd=(cargo install --locked --git "${GITHUB_SERVER_URL:-https://github.com}/$(repository)" --tag "$tag" --root "$root" outbound)
	echo "$why: building outbound from source" >&2
	if [ "${OUTBOUND_FALLBACK_DRY_RUN:-}" = 1 ]; then
		echo "would run: ${cmd[*]}"
		return 0
	fi
	command -v cargo >/dev/null || die "$why, and cargo is not installed to build it (install Rust 1.94.1 or newer, or use a supported runner)"
	if [ -n "${OUTBOUND_TOKEN:-}" ]; then
		# git (not cargo's own fetcher) reads the token from a config scoped to this command,
		# so it is never part of a URL that cargo prints.
		CARGO_NET_GIT_FETCH_WITH_CLI=true GIT_CONFIG_COUNT=1 \
			GIT_CONFIG_KEY_0="http.${GITHUB_SERVER_URL:-https://github.com}/.extraheader" \
			GIT_CONFIG_VALUE_0="AUTHORIZATION: basic $(printf 'x-access-token:%s' "$OUTBOUND_TOKEN" | base64 | tr -d '\n')" \
			"${cmd[@]}"
	else
		"${cmd[@]}"
	fi
}

# `outbound --version` prints `outbound X.Y.Z (state format N, plan format N)`.
is_version() {
	case $1 in
	"outbound $2" | "outbound $2 "*) return 0 ;;
	*) return 1 ;;
	esac
}

# The binary answers `--version` with the release's version, or it is not installed.
check_binary() {
	local exe=$1 version=$2 out
	out=$("$exe" --version) || die "$exe --version failed"
	is_version "$out" "$version" || die "$exe reports \`$out\`, not outbound $version"
	echo "$out" >&2
}

cmd_resolve() {
	local version target
	version=$(version)
	target=$(target)
	{
		echo "version=$version"
		echo "tag=v$version"
		echo "target=${target:-none}"
		echo "dir=$(root_dir "$version" "$target")"
	} | tee -a "${GITHUB_OUTPUT:-/dev/null}"
}

cmd_install() {
	local version tag target root bin exe asset
	version=$(version)
	tag=v$version
	target=$(target)
	root=$(root_dir "$version" "$target")
	bin=$root/bin
	exe=$bin/outbound
	case $target in *-windows-*) exe=$bin/outbound.exe ;; esac

	if [ -x "$exe" ] && is_version "$("$exe" --version 2>/dev/null)" "$version"; then
		echo "outbound $version already in $bin (cache)" >&2
	elif [ -z "$target" ]; then
		build_from_source "$tag" "$root" "no release binary for $(uname -s)/$(uname -m)"
	else
		case $target in *-windows-*) asset=outbound-$target.zip ;; *) asset=outbound-$target.tar.gz ;; esac
		tmp=$(mktemp -d) # global: the EXIT trap removes it
		trap 'rm -rf "$tmp"' EXIT
		local status=0
		download "$tag" "$asset" "$tmp" || status=$?
		if [ "$status" = 2 ]; then
			build_from_source "$tag" "$root" "release $tag has no $asset"
		else
			verify "$tmp/$asset"
			unpack "$tmp/$asset" "$bin"
			chmod +x "$exe"
		fi
	fi
	if [ "${OUTBOUND_FALLBACK_DRY_RUN:-}" = 1 ] && [ ! -e "$exe" ]; then
		return 0
	fi
	check_binary "$exe" "$version"
	[ -z "${GITHUB_PATH:-}" ] || echo "$bin" >>"$GITHUB_PATH"
	[ -z "${GITHUB_OUTPUT:-}" ] || echo "path=$exe" >>"$GITHUB_OUTPUT"
	echo "$exe"
}

case ${1:-} in
resolve) cmd_resolve ;;
install) cmd_install ;;
*) die "usage: $0 resolve|install (settings in the environment; see the top of this file)" ;;
esac
