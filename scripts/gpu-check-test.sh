#!/usr/bin/env bash
# Tests scripts/gpu-check.sh on a machine without a GPU: with a stub
# nvidia-smi that lists one, the check must fail (exit 1) and say that the
# device vkcnn chose is not the GPU; without it, the check must run to its
# end on whatever device is here; --smoke must run a kernel test of each
# product and 20 steps at each precision; --tests must run a quick test of every
# package's test binary (the GPU-sized ones skip) and fail where one
# fails; --reproduce must file a trial run as docs/reproduce keeps them
# and pack it, start no run that would not fit in its budget, and file a
# bf16 run in its own folder; --torch must time vkcnn at every precision
# and, where a python3 imports torch, PyTorch beside it (TF32 beside
# bf16x3, AMP's bf16 beside bf16) and agree with PyTorch's logits.
set -uo pipefail
cd "$(dirname "$0")/.."

stub=$(mktemp -d)
trap 'rm -rf "$stub"' EXIT
cat >"$stub/nvidia-smi" <<'STUB'
#!/bin/sh
case "$*" in
*-L*) echo "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-00000000-stub)" ;;
*) printf 'name, driver_version, memory.total [MiB], clocks.max.sm [MHz]\nNVIDIA H100 80GB HBM3, 580.0, 81559 MiB, 1980 MHz\n' ;;
esac
STUB
chmod +x "$stub/nvidia-smi"

out=$(PATH="$stub:$PATH" scripts/gpu-check.sh 2>&1)
rc=$?
if [ $rc -ne 1 ] || ! grep -q "not an NVIDIA device" <<<"$out" || ! grep -q -- "-- VK_LOADER_DEBUG" <<<"$out" || grep -q "every step passed" <<<"$out"; then
	printf '%s\n' "$out" | tail -40
	echo "gpu-check-test: with a stub nvidia-smi the check exited $rc; want 1, saying the device is not an NVIDIA one, with the loader's diagnostics" >&2
	exit 1
fi
echo "gpu-check-test: with a stub nvidia-smi the check fails as it must: $(grep -m1 FAILED <<<"$out")"

begin=$(date +%s)
out=$(scripts/gpu-check.sh 2>&1)
rc=$?
took=$(($(date +%s) - begin))
if [ $rc -ne 0 ] || ! grep -q "every step passed" <<<"$out" || [ $took -gt 480 ]; then
	printf '%s\n' "$out" | tail -40
	echo "gpu-check-test: without a GPU the check exited $rc after ${took}s; want 0 within 480s" >&2
	exit 1
fi
echo "gpu-check-test: without a GPU the check runs to its end in ${took}s"

# --smoke: a GEMM and a convolution test at each precision the device runs
# (lavapipe: all three, the matrix ones emulated), then 20 steps at each.
begin=$(date +%s)
out=$(scripts/gpu-check.sh --smoke 2>&1)
rc=$?
took=$(($(date +%s) - begin))
log=.deps/test-logs/nn-kernels.test.log
ran=""
for v in warp128 coopmat64_bf16 coopmat64_bf16x3; do
	for test in TestGemmMatchesReference TestConvMatchesReference; do
		grep -q -- "--- PASS: $test/$v/" "$log" 2>/dev/null && ran+=" $test/$v"
	done
done
if [ $rc -ne 0 ] || [ "$(wc -w <<<"$ran")" -ne 6 ] || [ "$(grep -c '^Epoch 1/1 ' <<<"$out")" -ne 3 ] || [ $took -gt 240 ]; then
	printf '%s\n' "$out" | tail -40
	echo "gpu-check-test: --smoke exited $rc after ${took}s, passing$ran; want 0 within 240s, a GEMM and a convolution test at fp32, bf16 and bf16x3 and 20 steps at each" >&2
	exit 1
fi
echo "gpu-check-test: --smoke runs a GEMM and a convolution test and 20 steps at fp32, bf16 and bf16x3 in ${took}s"

# A test of each package's binary, and the GPU-sized tests, which skip on a
# CPU device: the mechanism, not the suite (./build.sh test ran that).
subset='^(TestBufferRoundTrip|TestGemmChecksEveryEntryOfASmallProduct|TestDevicesJSONMarksOneDefault|TestStepHeader|TestMemoryEstimateIsExact|TestWarpVariantsAtGPUSizes|TestStandardStepAtBatch64MatchesReference)$'
out=$(scripts/gpu-check.sh --tests --run "$subset" 2>&1)
rc=$?
packages=$(grep -cE '^ok   [a-z/]+ +[0-9]+s  [1-9][0-9]* passed, 0 failed' <<<"$out")
if [ $rc -ne 0 ] || [ "$packages" -ne 5 ] || [ "$(grep -c '^     skipped Test.*sized for a GPU' <<<"$out")" -ne 2 ]; then
	printf '%s\n' "$out" | tail -40
	echo "gpu-check-test: --tests exited $rc with $packages packages passing a test; want 0 and 5, and the 2 GPU-sized tests skipped" >&2
	exit 1
fi
echo "gpu-check-test: --tests runs a test of each of $packages packages' binaries and skips the GPU-sized ones"
# cli's tests run VKCNN_TEST_BINARY: one that always fails fails them.
out=$(VKCNN_TEST_BINARY=/bin/false scripts/gpu-check.sh --tests --run "$subset" 2>&1)
rc=$?
if [ $rc -ne 1 ] || ! grep -q '^FAIL cli ' <<<"$out" || ! grep -q -- '--- FAIL: TestDevicesJSONMarksOneDefault' <<<"$out"; then
	printf '%s\n' "$out" | tail -40
	echo "gpu-check-test: --tests with a failing test exited $rc; want 1, with cli failing and the failed test's output" >&2
	exit 1
fi
echo "gpu-check-test: --tests fails where a test fails: $(grep -m1 '^FAIL cli' <<<"$out")"

# --reproduce: a trial of the next missing run (shift seed 1 in an empty
# folder), timed by a probe, filed with its report and packed.
records=.deps/reproduce-trial
rm -rf "$records" .deps/reproduce .deps/reproduce-runs.tar.gz
out=$(scripts/gpu-check.sh --reproduce --budget 120 2>&1)
rc=$?
filed=$(cd "$records" 2>/dev/null && find . -type f | sort | tr '\n' ' ')
want="./REPORT.md ./reproduce.json ./reproduce.png ./shift-seed1/history.csv ./shift-seed1/kernels.json ./shift-seed1/run.json ./shift-seed1/steps.csv "
packed=$(tar -tzf .deps/reproduce-runs.tar.gz 2>/dev/null | grep -c "^$records/.*[^/]$")
if [ $rc -ne 0 ] || [ "$filed" != "$want" ] || [ "$packed" -ne 7 ] || ! grep -q "timing 5 steps" <<<"$out"; then
	printf '%s\n' "$out" | tail -40
	echo "gpu-check-test: --reproduce exited $rc, filing $filed($packed packed); want 0, a probe, and $want(7 packed)" >&2
	exit 1
fi
# The report command rebuilds the report from the folder alone.
rm "$records/REPORT.md"
bin/vkcnn reproduce --report-only --epochs 1 --out "$records" >/dev/null
if ! grep -q '^| shift | .* | 1 of 3 | [0-9.]*% ± — | .* | 0.54% \[2\] |' "$records/REPORT.md" 2>/dev/null; then
	cat "$records/REPORT.md"
	echo "gpu-check-test: vkcnn reproduce --report-only did not rebuild $records/REPORT.md with shift's 1 of 3 seeds beside 0.54%" >&2
	exit 1
fi
echo "gpu-check-test: --reproduce filed and packed shift seed 1: $filed"
# A record of an epoch far over the budget on this device: the next run
# (plain seed 1) must not start.
cp -r "$records/shift-seed1" "$records/paper-seed3"
awk -F, -v OFS=, 'NR > 1 { $NF = 100000 } { print }' "$records/shift-seed1/history.csv" >"$records/paper-seed3/history.csv"
out=$(scripts/gpu-check.sh --reproduce --budget 120 2>&1)
rc=$?
rm -r "$records/paper-seed3"
if [ $rc -ne 0 ] || ! grep -q "the next run, plain seed 1, needs about 100030s (1 x 100000s an epoch): .* not started" <<<"$out" || [ -d "$records/plain-seed1" ]; then
	printf '%s\n' "$out" | tail -20
	echo "gpu-check-test: --reproduce with a recorded epoch of 100000 s exited $rc; want 0 and plain seed 1 not started" >&2
	exit 1
fi
echo "gpu-check-test: --reproduce starts no run that would overrun its budget: $(grep -m1 'not started' <<<"$out")"
# --at bf16: the bf16 runs are folders of their own, whose epochs on this
# device are not yet known (the fp32 record does not time them).
out=$(scripts/gpu-check.sh --reproduce --budget 120 --at bf16 2>&1)
rc=$?
if [ $rc -ne 0 ] || ! grep -q "no epoch of .* at bf16 recorded in $records: timing 5 steps" <<<"$out" ||
	[ "$(ls "$records/shift-bf16-seed1" 2>/dev/null | tr '\n' ' ')" != "history.csv kernels.json run.json steps.csv " ] ||
	! grep -q '^| shift, bf16 | ' "$records/REPORT.md"; then
	printf '%s\n' "$out" | tail -20
	echo "gpu-check-test: --reproduce --at bf16 exited $rc; want 0, a probe, and shift seed 1 at bf16 filed in $records/shift-bf16-seed1 and reported" >&2
	exit 1
fi
echo "gpu-check-test: --reproduce --at bf16 files shift seed 1 at bf16 in its own folder: $(grep -m1 '^filed' <<<"$out")"

# --torch: vkcnn's figures, and PyTorch's where it is installed (Debian's
# python3-torch: not on CI machines, whose every run would install 700 MB).
out=$(scripts/gpu-check.sh --torch 2>&1)
rc=$?
for prec in $(bin/vkcnn bench precision --list); do
	if ! grep -q "\"precision\": \"$prec\"" ".deps/torch/vkcnn-$prec.json" 2>/dev/null; then
		printf '%s\n' "$out" | tail -30
		echo "gpu-check-test: --torch wrote no bench all figures at $prec (.deps/torch/vkcnn-$prec.json)" >&2
		exit 1
	fi
done
if /usr/bin/python3 -c 'import torch' 2>/dev/null || python3 -c 'import torch' 2>/dev/null; then
	rows=$(grep -cE '^\| (fp32-strict \| .* \| fp32|defaults \| .* \| bf16x3|amp-bf16 \| .* \| bf16) \| [0-9.]+ ms \| [0-9,]+ \| [0-9.]+ \|$' <<<"$out")
	if [ $rc -ne 0 ] || [ "$rows" -ne 3 ] || ! grep -q '"same_predictions": 1.0' <<<"$out"; then
		printf '%s\n' "$out" | tail -30
		echo "gpu-check-test: --torch exited $rc with $rows timed settings; want 0, 3 and the same predictions" >&2
		exit 1
	fi
	echo "gpu-check-test: --torch times PyTorch's settings beside vkcnn and agrees with PyTorch's logits: $(grep -m1 max_abs_logit_difference <<<"$out" | cut -c1-120)"
elif [ $rc -ne 0 ] || ! grep -q 'no python3 here imports torch' <<<"$out"; then
	printf '%s\n' "$out" | tail -30
	echo "gpu-check-test: --torch without PyTorch exited $rc; want 0 and vkcnn's figures alone" >&2
	exit 1
else
	echo "gpu-check-test: --torch times vkcnn alone, at $(bin/vkcnn bench precision --list | paste -sd, -): no python3 here imports torch"
fi
