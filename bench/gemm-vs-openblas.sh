#!/usr/bin/env bash
# SGEMM of every vkcnn GEMM variant beside OpenBLAS sgemm (numpy from
# Debian's python3-numpy with libopenblas0-pthread), on the same machine in
# the same run. Prints a Markdown table for docs/BENCHMARKS.md.
#
#   bench/gemm-vs-openblas.sh [--reps N] [--device D]
#
# Shapes: 1024^3, and 6272x256x6400 (conv2 of the standard model as a GEMM
# at batch size 8: 8*28*28 output pixels, 256 filters, 5*5*256 inputs).
set -euo pipefail
cd "$(dirname "$0")/.."

reps=5
device=()
while [ $# -gt 0 ]; do
	case "$1" in
	--reps) reps=$2; shift 2 ;;
	--device) device=(--device "$2"); shift 2 ;;
	*) echo "usage: $0 [--reps N] [--device D]" >&2; exit 2 ;;
	esac
done

py=/usr/bin/python3 # Debian's, where python3-numpy lives
if ! "$py" -c 'import numpy, threadpoolctl' 2>/dev/null; then
	[ "$(id -u)" -eq 0 ] || { echo "needs python3-numpy, python3-threadpoolctl and libopenblas0-pthread (apt-get)" >&2; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		python3-numpy python3-threadpoolctl libopenblas0-pthread >/dev/null
fi
./build.sh build >/dev/null 2>&1

shapes=("1024 1024 1024" "6272 256 6400")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for s in "${shapes[@]}"; do
	read -r m n k <<<"$s"
	# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, where a machine sets them for
	# old OpenBLAS builds, slow a current one: unset for this command only.
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py" bench/openblas_sgemm.py "$m" "$n" "$k" "$reps" >"$tmp/blas-$m-$n-$k.json"
	bin/vkcnn bench gemm --m "$m" --n "$n" --k "$k" --reps "$reps" --variant all --json "${device[@]}" >"$tmp/vk-$m-$n-$k.json"
done

"$py" - "$tmp" "${shapes[@]}" <<'PY'
import json, sys
tmp, shapes = sys.argv[1], sys.argv[2:]
first = True
for s in shapes:
    m, n, k = s.split()
    blas = json.load(open(f"{tmp}/blas-{m}-{n}-{k}.json"))
    vk = json.load(open(f"{tmp}/vk-{m}-{n}-{k}.json"))
    if first:
        info = blas["blas"]
        print(f"Device: {vk[0]['device']}, {vk[0]['driver']}. OpenBLAS {info.get('version', '?')} "
              f"({info.get('architecture', '?')} kernels, {info.get('num_threads', '?')} threads) through numpy.\n")
        print("| M x N x K | kernel | best GFLOPS | median GFLOPS | median / OpenBLAS median |")
        print("|---|---|---:|---:|---:|")
        first = False
    ref = blas["median_gflops"]
    print(f"| {m}x{n}x{k} | OpenBLAS sgemm | {blas['best_gflops']:.1f} | {ref:.1f} | 1 |")
    for r in vk:
        print(f"| {m}x{n}x{k} | vkcnn {r['variant']} | {r['best_gflops']:.1f} | {r['median_gflops']:.1f} | {r['median_gflops'] / ref:.3f} |")
PY
