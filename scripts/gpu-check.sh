#!/usr/bin/env bash
# GPU check: does vkcnn's Vulkan path run on this machine's GPU, and how fast?
# (README, "Checking a GPU machine".) This script is the machine's bootstrap:
# packing on the build machine, and on the GPU machine unpacking, the driver
# file, the validation layer, the device check, time limits and the clock
# sampler; what each mode then runs is scripts/gpu-stages.sh. The modes, each
# scripts/gpu-check.sh ...:
#   --prepare  on the build machine: builds bin/vkcnn, packs it, the test
#       binaries and the faultinject build (.deps/binaries.tar.gz), downloads
#       the Vulkan loader, glvnd and the validation layer (.deps/debs,
#       .deps/layer-debs), and notes the binary's glibc requirement
#   (none)  on the GPU machine (no Go, nothing to install; carry .deps and
#       data): unpacks the loader where it lacks one, finds the NVIDIA Vulkan
#       driver, checks that vkcnn chose the GPU, then times GEMM, tunes twice,
#       profiles a step and trains two epochs of the standard model
#   --smoke  the first stage whenever a GPU is lent, at most 2 minutes:
#       vkcnn devices, a GEMM and a convolution test at every precision the
#       device runs, without validation (Debian's layer predates cooperative
#       matrices), then 20 steps of the standard model at each
#   --tests [--run REGEX]  the test binaries on the GPU under the validation
#       layer, 120 s in all: a line a package, then what failed
#   --reproduce --budget S [--at PRECISION]  vkcnn reproduce --next: the next
#       run of the seed's table docs/reproduce lacks, if it fits in S seconds,
#       filed there with the report, and the folder packed into
#       .deps/reproduce-runs.tar.gz
#   --torch  vkcnn's step at each precision, PyTorch's in its settings beside
#       them, and the test-set logits of the same weights compared
#   --precision [--train]  the kernel tests without validation (Debian's
#       layer predates cooperative matrices), bench precision's error table
#       (and PyTorch's), the conv2-shaped product and a tuned step at each
#       precision; --train then trains the standard model two epochs at each
#   --vkcnn S ARGS...  bin/vkcnn ARGS for at most S seconds, after the same
#       setup and device check (a sweep of bench gemm --warp tiles, say)
#
# It cannot pass by mistake: where nvidia-smi lists a GPU but vkcnn's default
# device is not an NVIDIA one, it fails with the loader's diagnostics. Without
# nvidia-smi it runs on whatever device is there (lavapipe on the build
# machine: a small model, a trial run). Every stage has a hard limit (timeout
# -k: SIGTERM first, which lets vkcnn finish its step); with their 5 s of
# grace, the default check's add up to 545 s on a GPU and 495 s on lavapipe
# (which compiles each pipeline at its first dispatch). Where nvidia-smi lists
# a GPU, it samples the clocks twice a second and prints their range after
# every stage.
set -uo pipefail
cd "$(dirname "$0")/.."

debs=.deps/debs
# The loader, and the glvnd libraries NVIDIA's driver library needs.
packages=(libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
# The Khronos validation layer, under which the tests run (unpacked into
# .deps/layer, never into /).
layer_debs=.deps/layer-debs layer_packages=(vulkan-validationlayers)
# Every binary the GPU machine runs: vkcnn, the test binaries of every
# package whose tests open a device, and the limit on running them all.
binaries=.deps/binaries.tar.gz tests_limit=120

# download DIR PACKAGE...: the packages' .debs into DIR, with apt-get.
download() {
	local dir=$1 lists rc=0
	shift
	rm -rf "$dir" && mkdir -p "$dir"
	lists=$(mktemp -d) && mkdir -p "$lists/partial"
	local apt=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
	if ! apt-get "${apt[@]}" update -qq >/dev/null 2>&1 ||
		! (cd "$dir" && apt-get "${apt[@]}" download "$@" >/dev/null 2>&1); then
		echo "gpu-check: could not download $* with apt-get (a Debian or Ubuntu machine with its archive reachable is needed)" >&2
		rc=1
	fi
	rm -rf "$lists"
	return $rc
}

# build_binaries writes $binaries: vkcnn, the test binaries (go test -c)
# of vk and of every package whose test binary links it, a list of
# "folder binary" lines, and the faultinject build of vkcnn, all without
# symbol tables (-s -w: panics still name functions), for a GPU machine
# without Go and a 64 MiB carry.
build_binaries() {
	local dir=.deps/tests pkg name
	rm -rf "$dir" && mkdir -p "$dir" || return 1
	go list -test -f '{{if eq .Name "main"}}{{.ImportPath}} {{join .Deps " "}}{{end}}' ./... |
		awk '$1 ~ /\.test$/ && ($1 == "github.com/vkcnn/vkcnn/vk.test" || / github.com\/vkcnn\/vkcnn\/vk( |$)/) { sub(/\.test$/, "", $1); sub(/^github.com\/vkcnn\/vkcnn\/?/, "", $1); print ($1 == "" ? "." : $1) }' >"$dir/list" || return 1
	while read -r pkg; do
		# The module's root, the library, is "."; its binary vkcnn.test.
		name=$(tr / - <<<"${pkg/#./vkcnn}").test
		go test -c -ldflags='-s -w' -o "$dir/$name" "./$pkg" || return 1
		echo "$pkg $name" >>"$dir/packages"
	done <"$dir/list"
	# cli's fault tests run vkcnn built with the faultinject tag, found
	# beside the test binary.
	go build -ldflags='-s -w' -o "$dir/vkcnn" ./cmd/vkcnn && go build -tags faultinject -ldflags='-s -w' -o "$dir/vkcnn-faultinject" ./cmd/vkcnn || return 1
	tar -czf "$binaries" -C "$dir" packages vkcnn vkcnn-faultinject $(cut -d' ' -f2 "$dir/packages") && rm -rf "$dir"
}

if [ "${1:-}" = --prepare ]; then
	./build.sh build || exit 1
	# .deps travels to the GPU machine (64 MiB in all there, with bin and
	# data): what earlier checks left here stays behind.
	rm -rf .deps/tests .deps/test-logs .deps/layer .deps/root .deps/reproduce .deps/reproduce-trial \
		.deps/reproduce-runs.tar.gz .deps/torch .deps/gpu-check-run .deps/pipelines-check
	download "$debs" "${packages[@]}" && download "$layer_debs" "${layer_packages[@]}" || exit 1
	build_binaries || { echo "gpu-check: could not build the binaries" >&2; exit 1; }
	glibc=$({ objdump -T bin/vkcnn 2>/dev/null || readelf -V bin/vkcnn 2>/dev/null; } | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
	echo "${glibc:-unknown}" >.deps/glibc-requirement
	# The commit the binaries were built from, so a GPU run's log says
	# which tree it checked (a tag where there is one; "dirty" where the
	# tree had changes).
	git describe --tags --always --dirty >.deps/commit 2>/dev/null || echo unknown >.deps/commit
	echo "gpu-check: prepared bin/vkcnn of $(cat .deps/commit) (needs ${glibc:-an unknown glibc}), $(ls "$debs" | wc -l) packages in $debs, the validation layer in $layer_debs, and vkcnn and the test binaries in $binaries"
	echo "gpu-check: carry .deps and data ($(du -shcL .deps data 2>/dev/null | tail -1 | cut -f1) in all) to the GPU machine, then run scripts/gpu-check.sh there"
	exit 0
fi

mode=check budget=0 vkcnn_args=() filter="" train=0 at=""
while [ $# -gt 0 ]; do
	case "$1" in
	--tests) mode=tests ;;
	--smoke) mode=smoke ;;
	--torch) mode=torch ;;
	--precision) mode=precision ;;
	--train) train=1 ;;
	--run) filter=${2:-}; shift ;;
	--reproduce) mode=reproduce ;;
	--budget) budget=${2:-}; shift ;;
	--at) at=${2:-}; shift ;;
	--vkcnn)
		mode=vkcnn budget=${2:-}
		shift 2 || { echo "gpu-check: --vkcnn needs SECONDS and arguments" >&2; exit 2; }
		vkcnn_args=("$@")
		break
		;;
	*) echo "gpu-check: unknown argument $1 (--prepare, --smoke, --tests [--run REGEX], --reproduce --budget S [--at P], --torch, --precision [--train], --vkcnn S ARGS...)" >&2; exit 2 ;;
	esac
	shift
done
if [ -n "$filter" ] && [ $mode != tests ]; then
	echo "gpu-check: --run filters --tests" >&2
	exit 2
fi
if [ $mode = reproduce ] && ! [ "$budget" -gt 60 ] 2>/dev/null; then
	echo "gpu-check: --reproduce needs --budget SECONDS, more than 60" >&2
	exit 2
fi
if [ $mode = vkcnn ] && { ! [ "$budget" -gt 0 ] 2>/dev/null || [ ${#vkcnn_args[@]} -eq 0 ]; }; then
	echo "gpu-check: --vkcnn needs SECONDS (a positive number) and vkcnn's arguments" >&2
	exit 2
fi

start=$(date +%s)
failures=0
sampler="" clocks=.deps/gpu-clocks.csv
section() { printf '\n== %s (%ds)\n' "$1" $(($(date +%s) - start)); }
fail() { echo "FAILED: $*"; failures=$((failures + 1)); }
# stage LIMIT CMD...: runs CMD for at most LIMIT seconds, then 5 more after
# SIGTERM before SIGKILL.
# While the clock sampler runs, it also prints to stderr the GPU's clocks
# during the stage: each figure with the clock it was measured at.
stage() {
	local limit=$1 first=0
	shift
	[ -n "$sampler" ] && first=$(wc -l <"$clocks")
	timeout -k 5 "$limit" "$@"
	local rc=$?
	[ $rc -eq 124 ] && echo "(stopped at its limit of ${limit}s)"
	[ -n "$sampler" ] && clock_summary "$first" "this stage" >&2
	return $rc
}
# clock_summary N WHAT prints the clock samples after the first N: the
# SM clock's range, power and temperature, and any throttle reasons.
clock_summary() {
	awk -F', *' -v first="$1" -v what="$2" 'NR > first && NF >= 5 && $2 ~ /^[0-9]+$/ {
		n++; if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2
		if ($3 > power) power = $3; if ($4 > temp) temp = $4
		if ($5 != "0x0000000000000000" && $5 != "0x0000000000000001") { slow++; why[$5]++ }
	} END {
		if (n == 0) { printf "clocks, %s: no samples\n", what; exit }
		printf "clocks, %s: %d samples, SM clock %d-%d MHz, power up to %s W, temperature up to %s C", what, n, min, max, power, temp
		if (slow == 0) print "; no throttle reason but idle"
		else { print ""; for (r in why) printf "  throttle reasons %s in %d samples (0x4 power cap, 0x8 HW slowdown, 0x20/0x40 thermal, 0x80 power brake)\n", r, why[r] }
	}' "$clocks"
}
find_lib() { # prints the resolved path of a shared library known to ldconfig
	ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n && /x86-64/ { print $NF; exit }'
}

# Where Go is here (the build machine), bin/vkcnn is the tree as it is.
if command -v go >/dev/null; then
	./build.sh build 2>/dev/null || { echo "gpu-check: ./build.sh build failed" >&2; exit 1; }
fi
# Elsewhere (the GPU machine) it comes packed, with the test binaries.
if ! [ -x bin/vkcnn ] && [ -f "$binaries" ]; then
	mkdir -p bin && tar -xzf "$binaries" -C bin vkcnn
fi
[ -x bin/vkcnn ] || { echo "gpu-check: bin/vkcnn missing: run scripts/gpu-check.sh --prepare on the build machine and carry .deps and data" >&2; exit 1; }

section "machine"
uname -srm
ldd --version 2>/dev/null | head -1
[ -f .deps/commit ] && echo "bin/vkcnn built from $(cat .deps/commit)"
[ -f .deps/glibc-requirement ] && echo "bin/vkcnn needs $(cat .deps/glibc-requirement)"
gpu=""
if command -v nvidia-smi >/dev/null; then
	stage 10 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
	gpu=$(stage 10 nvidia-smi -L 2>/dev/null | grep -m1 '^GPU ')
fi
[ -n "$gpu" ] && echo "nvidia-smi lists $gpu: vkcnn must run on it" || echo "nvidia-smi lists no GPU: checking whatever Vulkan device is here"

section "Vulkan loader and driver"
if [ -z "$(find_lib libvulkan.so.1)" ]; then
	ls "$debs"/*.deb >/dev/null 2>&1 || { echo "gpu-check: the machine has no libvulkan.so.1 and $debs holds no packages (run --prepare, carry .deps)" >&2; exit 1; }
	if [ "$(id -u)" -eq 0 ]; then
		for f in "$debs"/*.deb; do dpkg -x "$f" /; done
		ldconfig
		echo "unpacked ${packages[*]} into / from $debs"
	else
		mkdir -p .deps/root
		for f in "$debs"/*.deb; do dpkg -x "$f" .deps/root; done
		export LD_LIBRARY_PATH="$PWD/.deps/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
		export VKCNN_VULKAN_LIB=$PWD/.deps/root/usr/lib/x86_64-linux-gnu/libvulkan.so.1
		echo "unpacked ${packages[*]} into .deps/root (not root: LD_LIBRARY_PATH)"
	fi
fi
echo "loader: ${VKCNN_VULKAN_LIB:-$(find_lib libvulkan.so.1)}"

icd_dirs=(/usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d /usr/local/share/vulkan/icd.d)
icd=""
for d in "${icd_dirs[@]}"; do
	for f in "$d"/nvidia_icd*.json; do
		[ -z "$icd" ] && [ -f "$f" ] && icd=$f
	done
done
if [ -z "$icd" ] && [ -n "$gpu" ]; then
	# No ICD file (a container started with the compute capability only):
	# write one naming the driver library if it is there.
	for name in libGLX_nvidia.so.0 libEGL_nvidia.so.0; do
		lib=$(find_lib "$name")
		for dir in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/lib; do
			[ -z "$lib" ] && [ -e "$dir/$name" ] && lib="$dir/$name"
		done
		if [ -n "$lib" ]; then
			icd=$PWD/.deps/nvidia_icd.json
			printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "%s", "api_version": "1.3.0" } }\n' "$lib" >"$icd"
			echo "wrote $icd for $lib"
			break
		fi
	done
fi
if [ -n "$icd" ]; then
	export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
	echo "NVIDIA Vulkan driver: $icd: $(tr -d '\n' <"$icd")"
	egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
	[ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
fi

# The validation layer, for the tests: the machine's own, else the one
# --prepare downloaded, unpacked beside the tree with its library named by
# its full path.
layer=""
for d in /usr/share/vulkan/explicit_layer.d /etc/vulkan/explicit_layer.d /usr/local/share/vulkan/explicit_layer.d; do
	[ -z "$layer" ] && [ -f "$d/VkLayer_khronos_validation.json" ] && layer=$d/VkLayer_khronos_validation.json
done
if [ -z "$layer" ] && ls "$layer_debs"/*.deb >/dev/null 2>&1; then
	rm -rf .deps/layer && mkdir -p .deps/layer
	for f in "$layer_debs"/*.deb; do dpkg -x "$f" .deps/layer; done
	layer=$PWD/.deps/layer/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json
	lib=$PWD/.deps/layer/usr/lib/x86_64-linux-gnu/libVkLayer_khronos_validation.so
	sed -i "s|\"library_path\": \"[^\"]*\"|\"library_path\": \"$lib\"|" "$layer"
	export VK_LAYER_PATH=${layer%/*}
	ldd "$lib" 2>&1 | grep 'not found' | sed 's/^/validation layer: missing /'
fi
echo "validation layer: ${layer:-none (the tests run without it)}"

# diagnose prints what decides whether the loader finds NVIDIA's driver.
diagnose() {
	echo "-- NVIDIA_DRIVER_CAPABILITIES=${NVIDIA_DRIVER_CAPABILITIES:-(unset)} (Vulkan needs graphics or all)"
	echo "-- ldconfig -p | grep -i nvidia:"
	ldconfig -p 2>/dev/null | grep -i nvidia | head -30
	echo "-- ICD files:"
	ls -l "${icd_dirs[@]}" 2>&1
	echo "-- VK_LOADER_DEBUG=all vkcnn devices (last 60 lines):"
	VK_LOADER_DEBUG=all stage 30 bin/vkcnn devices 2>&1 | tail -60
}

section "vkcnn devices"
devices=$(stage 20 bin/vkcnn devices 2>&1)
rc=$?
echo "$devices"
chosen=$(printf '%s\n' "$devices" | sed -n 's/^\* [0-9]*  //p')
if [ $rc -ne 0 ] || [ -z "$chosen" ]; then
	fail "vkcnn devices found no usable device"
	diagnose
	exit 1
fi
if [ -n "$gpu" ] && [[ "$chosen" != *NVIDIA* ]]; then
	fail "nvidia-smi lists a GPU but vkcnn's default device is $chosen, not an NVIDIA device"
	diagnose
	exit 1
fi
echo "vkcnn runs on: $chosen"
# Tuned choices go to a cache of this run's own.
export VKCNN_TUNING=$PWD/.deps/gpu-check-tuning.json
# The GPU's clocks, power, temperature and throttle reasons twice a second
# while the stages run: on the H100 the same pipeline ran at 10 to 45
# TFLOPS from one process to the next, which a throttled clock would
# explain.
if [ -n "$gpu" ]; then
	nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu,clocks_event_reasons.active \
		--format=csv,noheader,nounits -lms 500 >"$clocks" 2>&1 &
	sampler=$!
fi

# What the mode runs (scripts/gpu-stages.sh).
. scripts/gpu-stages.sh
stages_$mode

if [ -n "$sampler" ]; then
	kill "$sampler" 2>/dev/null
	wait "$sampler" 2>/dev/null
	section "GPU clocks while the stages ran ($clocks)"
	sampler=""
	clock_summary 0 "every stage"
fi

section "done"
if [ $failures -gt 0 ]; then
	echo "gpu-check: $failures step(s) failed"
	exit 1
fi
echo "gpu-check: every step passed on $chosen"
