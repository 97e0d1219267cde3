#!/usr/bin/env bash
# GPU check: does vkcnn's Vulkan path run on this machine's GPU, and how fast?
#
#   scripts/gpu-check.sh --prepare   on the build machine: builds bin/vkcnn and
#                                    copies the Vulkan loader (and the glvnd
#                                    libraries NVIDIA's driver needs) to .deps/
#   scripts/gpu-check.sh             on the GPU machine (no Go, nothing to
#                                    install): finds the NVIDIA Vulkan driver,
#                                    lists devices and times each GEMM variant
#
# It runs to its end on lavapipe too, saying that no NVIDIA driver was found.
# Everything is bounded so the check ends within 8 minutes: devices and
# GEMM, then the standard model: tune, a step timed part by part and two
# epochs of training with 10% shifts (with data/ carried), which print
# images/s and seconds an epoch.
set -uo pipefail
cd "$(dirname "$0")/.."

deps=.deps/lib
glvnd_libs=(libGLdispatch.so.0 libEGL.so.1 libGLX.so.0 libOpenGL.so.0)

find_lib() { # prints the resolved path of a shared library known to ldconfig
	ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n && /x86-64/ { print $NF; exit }'
}

if [ "${1:-}" = --prepare ]; then
	./build.sh build || exit 1
	mkdir -p "$deps"
	loader=$(find_lib libvulkan.so.1)
	[ -n "$loader" ] || { echo "gpu-check: no libvulkan.so.1 here to copy (./build.sh deps)" >&2; exit 1; }
	cp -L "$loader" "$deps/libvulkan.so.1"
	for lib in "${glvnd_libs[@]}"; do
		path=$(find_lib "$lib")
		[ -n "$path" ] && cp -L "$path" "$deps/$lib"
	done
	echo "gpu-check: prepared bin/vkcnn and $(ls "$deps" | tr '\n' ' ')"
	echo "gpu-check: carry bin and .deps to the GPU machine, then run scripts/gpu-check.sh there"
	exit 0
fi

start=$(date +%s)
failures=0
section() { printf '\n== %s (%ds)\n' "$1" $(($(date +%s) - start)); }
fail() { echo "FAILED: $*"; failures=$((failures + 1)); }

[ -x bin/vkcnn ] || { echo "gpu-check: bin/vkcnn missing: run scripts/gpu-check.sh --prepare on the build machine and carry bin and .deps" >&2; exit 1; }

section "machine"
uname -srm
grep -m1 'model name' /proc/cpuinfo 2>/dev/null
if command -v nvidia-smi >/dev/null; then
	timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
else
	echo "nvidia-smi: not found"
fi

section "Vulkan loader and driver"
# Libraries the machine lacks come from .deps/lib.
missing=()
for lib in libvulkan.so.1 "${glvnd_libs[@]}"; do
	[ -n "$(find_lib "$lib")" ] || missing+=("$lib")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ -d "$deps" ] || { echo "gpu-check: the machine lacks ${missing[*]} and .deps/lib is missing (carry .deps)" >&2; exit 1; }
	export LD_LIBRARY_PATH="$PWD/$deps${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	echo "from .deps/lib: ${missing[*]}"
fi
loader=$(find_lib libvulkan.so.1)
export VKCNN_VULKAN_LIB=${loader:-$PWD/$deps/libvulkan.so.1}
echo "loader: $VKCNN_VULKAN_LIB"

icd=""
for f in /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json \
	/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd*.json /usr/local/share/vulkan/icd.d/nvidia_icd*.json; do
	[ -f "$f" ] && { icd=$f; break; }
done
if [ -z "$icd" ]; then
	# No ICD JSON (a container with only the compute capability, say):
	# write one naming the driver library if it is there.
	for name in libEGL_nvidia.so.0 libGLX_nvidia.so.0; do
		lib=$(find_lib "$name")
		for dir in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/lib; do
			[ -z "$lib" ] && [ -e "$dir/$name" ] && lib="$dir/$name"
		done
		if [ -n "$lib" ]; then
			mkdir -p .deps
			icd=$PWD/.deps/nvidia_icd.json
			printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "%s", "api_version": "1.3.0" } }\n' "$lib" >"$icd"
			echo "wrote $icd for $lib"
			break
		fi
	done
fi
nvidia=0
if [ -n "$icd" ]; then
	nvidia=1
	export VK_ICD_FILENAMES=$icd VK_DRIVER_FILES=$icd
	echo "NVIDIA Vulkan driver: $icd"
	cat "$icd"
else
	echo "no NVIDIA Vulkan driver found: checking whatever Vulkan device is here (lavapipe on the build machine)"
fi

section "vkcnn devices"
if ! timeout 60 bin/vkcnn devices; then
	fail "vkcnn devices"
	echo "-- loader debug output (last 80 lines):"
	VK_LOADER_DEBUG=all timeout 60 bin/vkcnn devices 2>&1 | tail -80
	[ -n "$loader" ] || ldd "$VKCNN_VULKAN_LIB"
	ldd bin/vkcnn
fi

# 4096^3 on a GPU; lavapipe would take minutes a product there.
size=4096 reps=10
[ $nvidia -eq 1 ] || { size=512 reps=3; }
section "vkcnn bench gemm ${size}^3, every variant"
timeout 90 bin/vkcnn bench gemm --m $size --n $size --k $size --reps $reps --variant all || fail "bench gemm"

# The training path: every kernel of a step at the standard model's shapes,
# then real training, bounded so the whole check stays within 8 minutes.
if [ $nvidia -eq 1 ]; then
	model=standard batch=64 train_args=(--epochs 2 --shift 0.1) train_limit=200
else
	model=small batch=8 train_args=(--epochs 1 --steps-per-epoch 20 --batch-size 8) train_limit=120
fi
# Tuned choices go to a cache of this run's own.
export VKCNN_TUNING=$PWD/.deps/gpu-check-tuning.json
section "vkcnn tune --model $model --batch-size $batch"
timeout 90 bin/vkcnn tune --model $model --batch-size $batch --reps 3 || fail "tune"
section "vkcnn bench all --model $model --batch-size $batch"
timeout 60 bin/vkcnn bench all --model $model --batch-size $batch --reps 3 || fail "bench all"
if [ -f data/mnist/train-images-idx3-ubyte.gz ]; then
	section "vkcnn train --model $model ${train_args[*]}"
	timeout $train_limit bin/vkcnn train --model $model "${train_args[@]}" --out .deps/gpu-check-run || fail "train"
else
	echo "no data/mnist here (carry data): skipping the training stage"
fi

section "done"
if [ $failures -gt 0 ]; then
	echo "gpu-check: $failures step(s) failed"
	exit 1
fi
echo "gpu-check: every step passed"
