#!/usr/bin/env bash
# Tests scripts/gpu-check.sh on a machine without a GPU: with a stub
# nvidia-smi that lists one, the check must fail (exit 1) and say that the
# device vkcnn chose is not the GPU; without it, the check must run to its
# end on whatever device is here; --tests must run a quick test of every
# package's test binary (the GPU-sized ones skip) and fail where one
# fails.
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
