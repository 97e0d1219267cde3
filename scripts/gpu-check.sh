#!/usr/bin/env bash
# GPU check: does vkcnn's Vulkan path run on this machine's GPU, and how fast?
#
#   scripts/gpu-check.sh --prepare   on the build machine: builds bin/vkcnn
#                                    and packs it, the test binaries and the
#                                    faultinject build (.deps/binaries.tar.gz),
#                                    downloads the Vulkan loader and glvnd
#                                    packages into .deps/debs and the
#                                    validation layer into .deps/layer-debs,
#                                    and notes the binary's glibc requirement
#   scripts/gpu-check.sh             on the GPU machine (no Go, nothing to
#                                    install; carry .deps and data):
#                                    unpacks the loader if the machine lacks
#                                    one, finds the NVIDIA Vulkan driver,
#                                    checks that vkcnn chose the GPU, then
#                                    times GEMM, tunes twice, profiles a step
#                                    and trains two epochs of the standard
#                                    model
#   scripts/gpu-check.sh --smoke     the first stage whenever a GPU is lent,
#                                    at most 2 minutes: vkcnn devices, a
#                                    kernel test of each product (a GEMM, a
#                                    convolution's three passes) at every
#                                    precision the device runs, without
#                                    validation (Debian's layer predates
#                                    cooperative matrices), then 20 steps of
#                                    the standard model at each
#   scripts/gpu-check.sh --tests [--run REGEX]
#                                    runs the test binaries against the GPU
#                                    under the validation layer, 120 s in
#                                    all (-test.run REGEX where given): a
#                                    line a package, then what failed
#   scripts/gpu-check.sh --reproduce --budget S
#                                    trains the next run of the seed's table
#                                    that docs/reproduce lacks, if it fits in
#                                    S seconds, files its small files there,
#                                    rebuilds the report and packs both into
#                                    .deps/reproduce-runs.tar.gz
#   scripts/gpu-check.sh --torch     tunes twice and times vkcnn's step, times
#                                    PyTorch's in its settings beside it, and
#                                    compares the test-set logits of the same
#                                    weights (bench/torch_model.py)
#   scripts/gpu-check.sh --precision [--train]
#                                    the tensor-core precisions: the kernel
#                                    tests (without validation: Debian's
#                                    layer predates cooperative matrices),
#                                    bench precision's error table with
#                                    uniform and the model's inputs (and
#                                    PyTorch's where it is here), the rate
#                                    of the conv2-shaped product, and a
#                                    tuned standard step at fp32, bf16x3
#                                    and bf16; --train then trains the
#                                    standard model two epochs at each
#   scripts/gpu-check.sh --vkcnn S ARGS...
#                                    runs bin/vkcnn ARGS for at most S
#                                    seconds on the GPU, after the same
#                                    setup and device check (a sweep of
#                                    bench gemm --warp tiles, say)
#
# It cannot pass by mistake: where nvidia-smi lists a GPU but vkcnn's
# default device is not an NVIDIA one, it fails with the loader's
# diagnostics. On a machine without nvidia-smi it runs on whatever device
# is there (lavapipe on the build machine: a small model, a trial run).
# Every stage has a hard limit (timeout -k: SIGTERM first, which lets
# vkcnn finish its step); with their 5 s of grace, the default check's add
# up to 545 s on a GPU and 495 s on lavapipe (which compiles each pipeline
# at its first dispatch, seconds apiece on a fresh machine: its first tune
# gets longer, its training shorter). Where nvidia-smi lists a GPU, it
# samples the clocks twice a second and prints their range after every
# stage.
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
		awk '$1 ~ /\.test$/ && ($1 == "github.com/vkcnn/vkcnn/vk.test" || / github.com\/vkcnn\/vkcnn\/vk( |$)/) { sub(/\.test$/, "", $1); sub(/^github.com\/vkcnn\/vkcnn\//, "", $1); print $1 }' >"$dir/list" || return 1
	while read -r pkg; do
		name=$(tr / - <<<"$pkg").test
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
	rm -rf .deps/tests .deps/test-logs .deps/layer .deps/root .deps/reproduce .deps/reproduce-probe .deps/reproduce-trial \
		.deps/reproduce-runs.tar.gz .deps/torch .deps/gpu-check-run .deps/pipelines-check
	download "$debs" "${packages[@]}" && download "$layer_debs" "${layer_packages[@]}" || exit 1
	build_binaries || { echo "gpu-check: could not build the binaries" >&2; exit 1; }
	glibc=$({ objdump -T bin/vkcnn 2>/dev/null || readelf -V bin/vkcnn 2>/dev/null; } | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
	echo "${glibc:-unknown}" >.deps/glibc-requirement
	echo "gpu-check: prepared bin/vkcnn (needs ${glibc:-an unknown glibc}), $(ls "$debs" | wc -l) packages in $debs, the validation layer in $layer_debs, and vkcnn and the test binaries in $binaries"
	echo "gpu-check: carry .deps and data ($(du -shcL .deps data 2>/dev/null | tail -1 | cut -f1) in all) to the GPU machine, then run scripts/gpu-check.sh there"
	exit 0
fi

mode=check budget=0 vkcnn_args=() filter="" train=0
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
	--vkcnn)
		mode=vkcnn budget=${2:-}
		shift 2 || { echo "gpu-check: --vkcnn needs SECONDS and arguments" >&2; exit 2; }
		vkcnn_args=("$@")
		break
		;;
	*) echo "gpu-check: unknown argument $1 (--prepare, --smoke, --tests [--run REGEX], --reproduce --budget S, --torch, --precision [--train], --vkcnn S ARGS...)" >&2; exit 2 ;;
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
# run_tests runs the test binaries of $binaries (rebuilt first where Go is
# here) against the device, every package at once, under the validation
# layer where there is one, for at most $tests_limit seconds in all
# (-test.run $filter where set); it prints a line for each package, each
# skipped test's reason, and every failed test's output.
run_tests() {
	local dir=.deps/tests logs=.deps/test-logs root=$PWD pkg bin
	# Where Go is here, the test binaries are built from the tree as it
	# is, if a source is newer.
	if command -v go >/dev/null && { ! [ -f "$binaries" ] ||
		[ -n "$(find . -path ./.deps -prune -o \( -name '*.go' -o -name '*.spv' -o -name 'go.mod' -o -name 'go.sum' \) -newer "$binaries" -print -quit)" ]; }; then
		build_binaries || { fail "building the test binaries"; return; }
	fi
	[ -f "$binaries" ] || { fail "no $binaries: run --prepare on the build machine and carry .deps"; return; }
	rm -rf "$dir" "$logs" && mkdir -p "$dir" "$logs" && tar -xzf "$binaries" -C "$dir" || { fail "unpacking $binaries"; return; }
	# cli's tests run vkcnn: the one built beside them.
	export VKCNN_TEST_BINARY=${VKCNN_TEST_BINARY:-$root/bin/vkcnn}
	local validate="" pids=()
	[ -n "$layer" ] && validate=1
	while read -r pkg bin; do
		(
			begin=$(date +%s)
			cd "$pkg" && VKCNN_VALIDATE=$validate timeout -k 5 $tests_limit "$root/$dir/$bin" -test.v -test.count=1 \
				-test.timeout $((tests_limit - 5))s ${filter:+-test.run "$filter"} >"$root/$logs/$bin.log" 2>&1
			echo "$? $(($(date +%s) - begin))" >"$root/$logs/$bin.rc"
		) &
		pids+=($!)
	done <"$dir/packages"
	wait "${pids[@]}" # not the clock sampler
	cp "$dir/packages" "$logs/" && rm -rf "$dir" # 31 MB of binaries
	local failed=0 rc took
	while read -r pkg bin; do
		read -r rc took <"$logs/$bin.rc"
		awk -v pkg="$pkg" -v rc="$rc" -v took="$took" -v limit="$tests_limit" '
			/^=== RUN   / { said = "" }
			/^    [^ ].*\.go:[0-9]+: / { said = $0; sub(/^ +/, "", said) }
			/^--- PASS: / { pass++ }
			/^--- SKIP: / { skip++; why[$3] = said }
			/^--- FAIL: / { fail++ }
			END {
				state = rc == 0 ? "ok  " : "FAIL"
				note = rc == 124 || rc == 137 ? ", stopped at the limit of " limit "s" : rc != 0 && fail == 0 ? ", exit status " rc : ""
				printf "%s %-18s %4ds  %d passed, %d failed, %d skipped%s\n", state, pkg, took, pass, fail, skip, note
				for (t in why) printf "     skipped %s: %s\n", t, why[t]
			}' "$logs/$bin.log"
		[ "$rc" -eq 0 ] || failed=$((failed + 1))
	done <"$logs/packages"
	[ $failed -eq 0 ] && return
	while read -r pkg bin; do
		read -r rc took <"$logs/$bin.rc"
		[ "$rc" -eq 0 ] && continue
		echo "-- $pkg: what failed ($logs/$bin.log)"
		# A top-level test's lines run from its "=== RUN" to the next;
		# print those of the tests that failed, else (a crash or the
		# limit) the log's end.
		awk '
			function flush() { if (failed) { printf "%s", block; shown = 1 } block = ""; failed = 0 }
			/^=== RUN   [^\/]*$/ { flush() }
			/^(=== (RUN|PAUSE|CONT|NAME)|[ ]*--- (PASS|SKIP):)/ { next }
			/^--- FAIL: / { failed = 1 }
			{ block = block $0 "\n"; last[NR % 40] = $0 }
			END {
				flush()
				if (!shown) for (i = NR + 1; i <= NR + 40; i++) if ((i % 40) in last) print last[i % 40]
			}' "$logs/$bin.log" | head -80
	done <"$logs/packages"
	fail "tests: $failed package(s) failed on $chosen"
}
# small_model writes a model small enough for lavapipe to run every stage
# in seconds, and prints its path.
small_model() {
	mkdir -p .deps
	printf '%s\n' '{"format": "vkcnn-sequential-1", "name": "gpu-check", "input_shape": [28, 28, 1], "layers": [' \
		'{"type": "conv2d", "filters": 8, "kernel_size": 5, "activation": "relu"}, {"type": "maxpool2d"}, {"type": "flatten"},' \
		'{"type": "dense", "units": 10, "activation": "softmax"}]}' >.deps/gpu-check-model.json
	echo .deps/gpu-check-model.json
}

# history_rows FILE prints the epochs a history.csv holds (0 if none).
history_rows() {
	if [ -f "$1" ]; then echo $(($(wc -l <"$1") - 1)); else echo 0; fi
}

# reproduce_next trains the next run of the seed's table that $records
# lacks (fp32 shift seed 1, plain seed 1, paper seed 1, then seeds 2 and
# 3), with tuned kernels, if it fits in what is left of $budget seconds,
# judged from the last epoch recorded on this device or, with none, from a
# 20-step probe. A
# finished run's small files (run.json, history.csv, steps.csv,
# kernels.json; never weights) go to $records/EXPERIMENT-seedN, the report
# is rebuilt from $records, and both are packed into $pack, to unpack in
# the repository's root wherever the run's machine does not last.
reproduce_next() {
	local deadline=$(($(date +%s) + budget)) run="" e seed work=.deps/reproduce
	for seed in 1 2 3; do
		for e in shift plain paper; do
			if [ -z "$run" ] && [ "$(history_rows "$records/$e-seed$seed/history.csv")" -lt "$epochs" ]; then
				run=$e-seed$seed
			fi
		done
	done
	if [ -z "$run" ]; then
		echo "every run of the table is in $records"
		return
	fi
	local name=${run%-seed*} n=${run##*-seed} device=${chosen%  (*}
	# Untuned kernels would take the standard model's step from about 21
	# to 37 ms on an H100.
	if ! grep -qF "\"$device |" "$VKCNN_TUNING" 2>/dev/null; then
		echo "tuning the kernels first: vkcnn tune --model $model --batch-size $batch"
		stage $((deadline - $(date +%s))) bin/vkcnn tune --model "$model" --batch-size $batch --reps 3 | grep '^saved' ||
			{ fail "tune"; return; }
	fi
	# Runs at another precision will need their own figures here, once
	# vkcnn has a --precision.
	local epoch_s="" f
	for f in $(ls -t "$records"/*/history.csv 2>/dev/null); do
		if [ -z "$epoch_s" ] && grep -qF "\"device\": \"$device\"" "${f%/history.csv}/run.json"; then
			epoch_s=$(awk -F, 'END { printf "%.0f", $NF }' "$f")
			echo "the last epoch recorded on $device took ${epoch_s}s (${f%/history.csv})"
		fi
	done
	if [ -z "$epoch_s" ]; then
		local probe=.deps/reproduce-probe have=$((deadline - $(date +%s)))
		rm -rf "$probe"
		echo "no epoch of $device recorded in $records: timing $probe_steps steps"
		[ $have -gt 10 ] && stage $have bin/vkcnn train "${args[@]}" --epochs 1 --steps-per-epoch "$probe_steps" --out "$probe" >/dev/null ||
			{ fail "the probe run"; return; }
		# The last log row's rate is past the pipelines' first runs; the
		# rest of the probe's epoch is the test pass.
		epoch_s=$(awk -F, -v steps="$steps" -v probe="$probe_steps" -v batch="$batch" '
			FILENAME ~ /steps/ && FNR > 1 { ips = $NF } FILENAME ~ /history/ && FNR > 1 { secs = $NF }
			END { train = probe * batch / ips; printf "%.0f", steps * batch / ips + (secs > train ? secs - train : 0) }' \
			"$probe/steps.csv" "$probe/history.csv")
		echo "an epoch would take about ${epoch_s}s"
	fi
	mkdir -p "$work" "$records"
	[ -f "$records/reproduce.json" ] && cp "$records/reproduce.json" "$work/"
	local left=$((epochs - $(history_rows "$work/$run/history.csv")))
	local need=$((left * epoch_s + 30)) have=$((deadline - $(date +%s)))
	if [ $need -gt $have ]; then
		echo "the next run, $name seed $n, needs about ${need}s ($left x ${epoch_s}s an epoch): more than the ${have}s left of the budget; not started"
		return
	fi
	section "vkcnn reproduce ${args[*]} --epochs $epochs --run $name:$n (about ${need}s, at most ${have}s)"
	stage $have bin/vkcnn reproduce "${args[@]}" --epochs "$epochs" --run "$name:$n" --out "$work"
	local rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 124 ] || [ $rc -eq 130 ] || fail "reproduce (status $rc)"
	if [ -f "$work/$run/history.csv" ]; then
		echo "test error by epoch ($work/$run/history.csv):"
		awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
			{ printf "epoch %s: %.2f%% (%.0f s)\n", $col["epoch"], 100 * (1 - $col["val_acc"]), $col["seconds"] }' "$work/$run/history.csv"
	fi
	if [ "$(history_rows "$work/$run/history.csv")" -lt "$epochs" ]; then
		echo "$name seed $n did not finish: nothing filed in $records"
		return
	fi
	mkdir -p "$records/$run"
	cp "$work/reproduce.json" "$records/"
	cp "$work/$run/"{run.json,history.csv,steps.csv,kernels.json} "$records/$run/" || { fail "filing $run in $records"; return; }
	bin/vkcnn reproduce --report-only --epochs "$epochs" --out "$records" >/dev/null || { fail "the report of $records"; return; }
	tar -czf "$pack" "$records"/{reproduce.json,REPORT.md,reproduce.png} "$records/$run" || { fail "packing $pack"; return; }
	echo "filed $name seed $n in $records/$run and packed it with the report into $pack ($(du -k "$pack" | cut -f1) KiB): unpack it in the repository's root (tar -xzf)"
	cat "$records/REPORT.md"
}

# tune_twice tunes $model at $batch, then again, and shows where the
# second tune chose otherwise, with its timings: a choice made on a
# settled clock is made again.
tune_twice() {
	section "vkcnn tune --model $model --batch-size $batch"
	stage $tune_limit bin/vkcnn tune --model "$model" --batch-size $batch --reps 3 || fail "tune"
	cp "$VKCNN_TUNING" .deps/gpu-check-tuning-first.json
	section "vkcnn tune again: the same choices?"
	stage $again_limit bin/vkcnn tune --model "$model" --batch-size $batch --reps 3 >.deps/gpu-check-tune-again.txt || fail "tune again"
	local first second
	first=$(grep '": "' .deps/gpu-check-tuning-first.json)
	second=$(grep '": "' "$VKCNN_TUNING")
	if [ "$first" = "$second" ]; then
		echo "the second tune chose what the first did for all $(wc -l <<<"$first") products"
		return
	fi
	echo "the second tune chose otherwise (< first, > second), its timings below:"
	diff <(echo "$first") <(echo "$second") | grep '^[<>]'
	diff <(echo "$first") <(echo "$second") | sed -n 's/^> *"\(.*\)": ".*/\1/p' | sed 's/\\u003e/>/g' |
		while read -r key; do
			awk -v key="[$key]" 'index($0, key) { on = 1; print; next } on && /^  / { print; next } { on = 0 }' .deps/gpu-check-tune-again.txt
		done
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
# The memory table decides where buffers go (vk.PlaceMemory).
if command -v python3 >/dev/null; then
	stage 20 bin/vkcnn devices --json | python3 -c '
import json, sys
for d in json.load(sys.stdin):
    if d["default"]:
        m = d["memory"]
        print("placement:", d["placement"], "; timestamp bits:", d["timestamp_valid_bits"])
        print("heaps:", ", ".join("%d: %d bytes%s" % (i, h["bytes"], " device-local" if h["device_local"] else "") for i, h in enumerate(m["heaps"])))
        print("types:", ", ".join("%d: %s (heap %d)" % (i, t["flags"], t["heap"]) for i, t in enumerate(m["types"])))'
else
	stage 20 bin/vkcnn devices --json
fi
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

if [ $mode = vkcnn ]; then
	section "vkcnn ${vkcnn_args[*]} (at most ${budget}s)"
	stage "$budget" bin/vkcnn "${vkcnn_args[@]}" || fail "vkcnn ${vkcnn_args[*]}"
elif [ $mode = smoke ]; then
	# What vkcnn devices says the device trains at (kernels.CheckPrecision).
	precisions=$(printf '%s\n' "$devices" | awk '/^\* / { on = 1; next } /^  [0-9]/ { on = 0 }
		on && /^ +precisions: / { sub(/^ +precisions: /, ""); sub(/ \(not .*/, ""); gsub(/,/, ""); print; exit }')
	[ -n "$precisions" ] || fail "vkcnn devices names no precision for $chosen"
	# A variant of each precision that runs on every device that runs the
	# precision; a GEMM and a convolution shape each: partial tiles and
	# fragments.
	variants=""
	for prec in $precisions; do
		case $prec in
		fp32) variants+="|warp128" ;;
		*) variants+="|coopmat64_$prec" ;;
		esac
	done
	if [ -n "$gpu" ]; then
		model=standard batch=64 tests_limit=30 train_limit=25
	else
		model=$(small_model) batch=8 tests_limit=90 train_limit=60
	fi
	section "kernel tests at $precisions: ${variants#|}, a GEMM and a convolution each, without validation (at most ${tests_limit}s)"
	saved_layer=$layer saved_filter=$filter
	layer="" filter="^(TestGemmMatchesReference|TestConvMatchesReference)\$/^(${variants#|})\$/^(36x68x20|\{Batch:3_H:9_W:6_Cin:4_Cout:8_KH:5_KW:5\})\$"
	run_tests
	layer=$saved_layer filter=$saved_filter
	for prec in $precisions; do
		section "20 steps of $model at $prec (at most ${train_limit}s)"
		rm -rf ".deps/smoke-$prec"
		stage $train_limit bin/vkcnn train --model "$model" --batch-size $batch --epochs 1 --steps-per-epoch 20 --val-split 0.01 \
			--precision "$prec" --out ".deps/smoke-$prec" | grep '^Epoch' || fail "20 steps of $model at $prec"
	done
elif [ $mode = tests ]; then
	how="without the validation layer"
	[ -n "$layer" ] && how="under the validation layer"
	section "test binaries on $chosen, $how, at most ${tests_limit}s in all${filter:+ (-test.run '$filter')}"
	run_tests
	if [ -n "$gpu" ] && [ -z "$filter" ]; then
		# A batch whose activations pass most devices' storage-buffer range
		# (conv2's at batch 256: 196 MiB) trains, in batch slices where the
		# device's range is smaller.
		section "the standard model at batch 256: 20 steps"
		rm -rf .deps/batch256
		stage 60 bin/vkcnn train --model standard --batch-size 256 --epochs 1 --steps-per-epoch 20 --val-split 0.01 \
			--out .deps/batch256 | grep '^Epoch' || fail "the standard model at batch 256"
	fi
elif [ $mode = torch ]; then
	# vkcnn and PyTorch side by side on this device: the same model and
	# batch, both step times in one table, and the test-set logits of the
	# same weights compared.
	py=""
	for p in python3 /usr/bin/python3; do
		[ -z "$py" ] && "$p" -c 'import torch' 2>/dev/null && py=$p
	done
	dir=.deps/torch
	rm -rf "$dir" && mkdir -p "$dir"
	if [ -n "$gpu" ]; then
		model=standard batch=64 reps=50 steps=200 warmup=20 train_steps=100 tune_limit=80 again_limit=80 torch_limit=180
	else
		model=$(small_model) batch=8 reps=3 steps=5 warmup=2 train_steps=5 tune_limit=150 again_limit=60 torch_limit=60
	fi
	tune_twice
	section "vkcnn bench all --model $model --batch-size $batch --reps $reps"
	stage 60 bin/vkcnn bench all --model "$model" --batch-size $batch --reps $reps --json >"$dir/vkcnn-fp32.json" || fail "bench all"
	section "weights to compare: vkcnn train --model $model --steps-per-epoch $train_steps, then vkcnn eval --logits"
	stage 60 bin/vkcnn train --model "$model" --epochs 1 --steps-per-epoch $train_steps --batch-size $batch --out "$dir/run" | grep '^Epoch' &&
		stage 30 bin/vkcnn eval --run "$dir/run" --logits "$dir/vkcnn-logits.npy" | grep -E '^(Test|Wrote)' || fail "train and eval"
	if [ -z "$py" ]; then
		echo "no python3 here imports torch: no PyTorch figures"
	else
		section "PyTorch: bench/torch_model.py --bench --batch-size $batch --steps $steps --warmup $warmup"
		PYTHONUNBUFFERED=1 stage $torch_limit "$py" bench/torch_model.py "$dir/run/model.json" --bench --batch-size $batch \
			--steps $steps --warmup $warmup --data data/mnist --vkcnn "fp32=$dir/vkcnn-fp32.json" || fail "PyTorch's steps"
		section "test-set logits of the same weights, PyTorch beside vkcnn"
		stage 60 "$py" bench/torch_model.py "$dir/run/model.json" --weights "$dir/run/weights.safetensors" \
			--logits "$dir/vkcnn-logits.npy" --data data/mnist --tolerance 1e-4 || fail "PyTorch's logits"
	fi
elif [ $mode = precision ]; then
	# The tensor-core precisions (issue 19) on this device, each figure
	# beside fp32's from the same call.
	dir=.deps/precision
	rm -rf "$dir" && mkdir -p "$dir"
	py=""
	for p in python3 /usr/bin/python3; do
		[ -z "$py" ] && "$p" -c 'import torch' 2>/dev/null && py=$p
	done
	if [ -n "$gpu" ]; then
		model=standard batch=64 gemm=(--m 50176 --n 256 --k 6400) precision_args=() train_args=(--epochs 2 --shift 0.1)
	else
		model=$(small_model) batch=8 gemm=(--m 260 --n 132 --k 404) precision_args=(--batch-size 1 --samples 500)
		train_args=(--epochs 1 --steps-per-epoch 10 --batch-size 8)
	fi
	section "the device's cooperative matrices"
	bin/vkcnn devices | grep -E '^\*|cooperative'
	# The validation layer Debian ships predates cooperative matrices, and
	# vk turns them off under it: the real matrix kernels are tested
	# without it.
	section "the kernel tests, the matrix variants among them, without validation"
	saved_layer=$layer saved_filter=$filter
	layer="" filter=${filter:-'Gemm|Conv|Precision|GPUSizes|KernelsAtModelShapes'}
	run_tests
	layer=$saved_layer filter=$saved_filter
	for inputs in uniform model; do
		section "vkcnn bench precision --inputs $inputs"
		stage 150 bin/vkcnn bench precision --inputs $inputs "${precision_args[@]}" --npz "$dir/$inputs.npz" || fail "bench precision --inputs $inputs"
		if [ -n "$py" ]; then
			stage 120 "$py" bench/precision_torch.py "$dir/$inputs.npz" || fail "bench/precision_torch.py"
		fi
	done
	for prec in fp32 bf16x3 bf16; do
		section "vkcnn bench gemm ${gemm[*]} --precision $prec"
		stage 60 bin/vkcnn bench gemm "${gemm[@]}" --reps 10 --variant all --precision $prec || fail "bench gemm at $prec"
		section "vkcnn tune and bench all --model $model --batch-size $batch --precision $prec"
		stage 150 bin/vkcnn tune --model "$model" --batch-size $batch --reps 3 --precision $prec >/dev/null || fail "tune at $prec"
		stage 60 bin/vkcnn bench all --model "$model" --batch-size $batch --reps 20 --precision $prec | tee "$dir/bench-$prec.txt" |
			grep -E '^(step|training|in fp32)|conv2d_2 forward' || fail "bench all at $prec"
	done
	if [ $train -eq 1 ] && [ -f data/mnist/train-images-idx3-ubyte.gz ]; then
		for prec in fp32 bf16x3 bf16; do
			section "vkcnn train --model $model ${train_args[*]} --seed 1 --precision $prec"
			stage 200 bin/vkcnn train --model "$model" "${train_args[@]}" --seed 1 --precision $prec --out "$dir/train-$prec" |
				grep '^Epoch' || fail "train at $prec"
		done
	fi
elif [ $mode = reproduce ]; then
	# The standard model's 20-epoch runs, filed in docs/reproduce; on
	# lavapipe a trial of 10 steps of a small model, filed beside it.
	pack=.deps/reproduce-runs.tar.gz
	if [ -n "$gpu" ]; then
		records=docs/reproduce model=standard epochs=20 batch=64 steps=938 probe_steps=20 args=(--model standard)
	else
		records=.deps/reproduce-trial model=$(small_model) epochs=1 batch=8 steps=10 probe_steps=5
		args=(--model "$model" --steps-per-epoch 10 --batch-size 8)
	fi
	section "the next run of the seed's table missing from $records, if it fits in ${budget}s"
	reproduce_next
else
	if [ -n "$gpu" ]; then
		size=4096 reps=10 model=standard batch=64 train_args=(--epochs 2 --shift 0.1)
		gemm_limit=50 tune_limit=80 again_limit=80 train_limit=120
	else
		# lavapipe would take minutes a product at the GPU's sizes, and
		# compiling every variant of the small preset's products (as tune
		# does) takes it over two minutes on a fresh machine: a small
		# model proves the stages work.
		model=$(small_model)
		size=512 reps=3 batch=8 train_args=(--epochs 1 --steps-per-epoch 20 --batch-size 8)
		gemm_limit=40 tune_limit=150 again_limit=60 train_limit=60
	fi
	section "vkcnn bench gemm ${size}^3, every variant"
	stage $gemm_limit bin/vkcnn bench gemm --m $size --n $size --k $size --reps $reps --variant all || fail "bench gemm"
	tune_twice
	section "vkcnn bench all --model $model --batch-size $batch"
	stage 50 bin/vkcnn bench all --model $model --batch-size $batch --reps 3 || fail "bench all"
	# Pipeline creation from an empty pipeline cache, then from the one
	# that run saved.
	for cache in cold warm; do
		section "pipelines, $cache start"
		[ $cache = cold ] && rm -rf .deps/pipelines-check
		VKCNN_PIPELINE_CACHE=$PWD/.deps/pipelines-check stage 25 bin/vkcnn bench all --model $model --batch-size $batch --reps 1 |
			grep '^pipelines:' || fail "bench all ($cache pipeline cache)"
	done
	if [ -f data/mnist/train-images-idx3-ubyte.gz ]; then
		section "vkcnn train --model $model ${train_args[*]} (at most ${train_limit}s)"
		rm -rf .deps/gpu-check-run
		stage $train_limit bin/vkcnn train --model $model "${train_args[@]}" --out .deps/gpu-check-run
		rc=$?
		# A stop at the limit is expected on slow devices: the partial-epoch
		# line still gives the rate.
		[ $rc -eq 0 ] || [ $rc -eq 124 ] || fail "train (status $rc)"
	else
		echo "no data/mnist here (carry data): skipping the training stage"
	fi
fi

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
