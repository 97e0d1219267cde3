#!/usr/bin/env bash
# build.sh: the one way to install dependencies, compile shaders, build, test
# and fetch data for vkcnn. Run `./build.sh help` for the subcommands.
set -euo pipefail
cd "$(dirname "$0")"

log() { printf 'build.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# Debian package names: the Vulkan loader, lavapipe, the shader compiler and
# the Khronos validation layer.
DEB_PACKAGES=(libvulkan1 mesa-vulkan-drivers glslc vulkan-validationlayers)

deb_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# The archive URI and keyring of the apt source that serves the "$1" suite,
# read from the machine's own sources (deb822 .sources or one-line .list).
apt_archive_for_suite() {
	local suite=$1 f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v suite="$suite" '
			function flush() {
				if (uris != "" && index(" " suites " ", " " suite " ")) { print uris "|" signed; found = 1; exit }
				uris = ""; suites = ""; signed = ""
			}
			/^[[:space:]]*$/ { flush(); next }
			/^URIs:/ { uris = $2 }
			/^Suites:/ { $1 = ""; suites = $0 }
			/^Signed-By:/ { signed = $2 }
			END { if (!found) flush() }
		' "$f" | head -1
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -E 's/\[[^]]*\]//' "$f" | awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2 "|"; exit }'
	done
}

mesa_major() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^([0-9]+:)?([0-9]+).*/\2/'; }

cmd_deps() {
	local missing=() p
	for p in "${DEB_PACKAGES[@]}"; do deb_installed "$p" || missing+=("$p"); done
	local codename=""
	[ -r /etc/os-release ] && codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	local want_backports=0
	if [ "$codename" = bookworm ]; then
		# Lavapipe in Mesa 25 (bookworm-backports) runs our kernels 3-5x
		# faster than Debian 12's own Mesa 22.3.
		if ! deb_installed mesa-vulkan-drivers || [ "$(mesa_major)" -lt 24 ]; then want_backports=1; fi
	fi
	if [ ${#missing[@]} -eq 0 ] && [ $want_backports -eq 0 ]; then
		log "deps: all present (mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers))"
		return
	fi
	if ! command -v apt-get >/dev/null || [ "$(id -u)" -ne 0 ]; then
		log "deps: cannot install here (needs apt-get as root); please install: ${missing[*]:-a Mesa >= 24 lavapipe}"
		if ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
			log "deps: a Vulkan loader is present; going on"
			return
		fi
		die "deps: no Vulkan loader (libvulkan.so.1) found"
	fi
	export DEBIAN_FRONTEND=noninteractive
	if [ $want_backports -eq 1 ] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		local line uri signed
		line=$(apt_archive_for_suite bookworm)
		uri=${line%%|*}
		signed=${line#*|}
		[ -n "$uri" ] || die "deps: no apt source for bookworm found to add bookworm-backports to"
		log "deps: adding bookworm-backports from $uri"
		{
			echo "Types: deb"
			echo "URIs: $uri"
			echo "Suites: bookworm-backports"
			echo "Components: main"
			[ -n "$signed" ] && echo "Signed-By: $signed"
		} >/etc/apt/sources.list.d/vkcnn-bookworm-backports.sources
	fi
	log "deps: apt-get update"
	apt-get update -qq >/dev/null
	local from_main=()
	for p in "${missing[@]}"; do
		[ $want_backports -eq 1 ] && [ "$p" = mesa-vulkan-drivers ] && continue
		from_main+=("$p")
	done
	if [ ${#from_main[@]} -gt 0 ]; then
		log "deps: installing ${from_main[*]}"
		apt-get install -y -qq --no-install-recommends "${from_main[@]}" >/dev/null
	fi
	if [ $want_backports -eq 1 ]; then
		log "deps: installing mesa-vulkan-drivers from bookworm-backports"
		apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null
	fi
	log "deps: mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
}

# Exactly these flags make the committed SPIR-V; --check compares with them.
GLSLC_FLAGS=(--target-env=vulkan1.1 -O)

cmd_shaders() {
	local check=0
	[ "${1:-}" = --check ] && check=1
	command -v glslc >/dev/null || die "shaders: glslc not found (./build.sh deps installs it)"
	local out=shaders stale=() src spv
	if [ $check -eq 1 ]; then
		out=$(mktemp -d)
	fi
	for src in shaders/*.comp; do
		spv="$out/$(basename "${src%.comp}").spv"
		glslc "${GLSLC_FLAGS[@]}" -o "$spv" "$src" || die "shaders: $src does not compile"
		if [ $check -eq 1 ] && ! cmp -s "$spv" "${src%.comp}.spv"; then
			stale+=("${src%.comp}.spv")
		fi
	done
	if [ $check -eq 1 ]; then
		rm -rf "$out"
		[ ${#stale[@]} -eq 0 ] || die "shaders: committed SPIR-V differs from its source (run ./build.sh shaders): ${stale[*]}"
		log "shaders: every .spv matches its source"
	else
		log "shaders: compiled $(ls shaders/*.comp | wc -l) shaders"
	fi
}

cmd_build() {
	command -v go >/dev/null || die "build: Go not found (https://go.dev/dl; vkcnn needs Go 1.26)"
	mkdir -p bin
	go build -o bin/vkcnn .
	log "build: bin/vkcnn"
}

cmd_test() {
	cmd_deps
	cmd_build
	local unformatted
	unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.deps/*'))
	[ -z "$unformatted" ] || die "test: gofmt would change: $unformatted"
	go vet ./...
	if command -v glslc >/dev/null; then
		cmd_shaders --check
	else
		log "test: glslc not found; skipping the shader check"
	fi
	log "test: VKCNN_VALIDATE=1 go test ./..."
	VKCNN_VALIDATE=1 go test "$@" ./...
}

usage() {
	cat <<'USAGE'
usage: ./build.sh COMMAND
  deps             install the Vulkan loader, lavapipe (Mesa 25 on Debian 12),
                   glslc and the validation layer (apt-get, as root)
  shaders [--check]  compile shaders/*.comp to SPIR-V; --check fails when a
                   committed .spv is not what its source compiles to
  build            build bin/vkcnn
  test [ARGS]      deps, build, gofmt, go vet, shader check, then
                   VKCNN_VALIDATE=1 go test ARGS ./...
USAGE
}

case "${1:-help}" in
deps) shift; cmd_deps "$@" ;;
shaders) shift; cmd_shaders "$@" ;;
build) shift; cmd_build "$@" ;;
test) shift; cmd_test "$@" ;;
help | -h | --help) usage ;;
*) usage >&2; die "unknown command ${1:-}" ;;
esac
