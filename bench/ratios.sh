#!/usr/bin/env bash
# Every performance ratio of the performance issue, measured side by side in
# one run, as a Markdown table for docs/BENCHMARKS.md:
#   SGEMM 1024^3 against OpenBLAS (numpy, Debian's libopenblas0-pthread);
#   conv2 of the standard model (forward, backward-data, backward-filter)
#     against SGEMM at the equivalent GEMM shape;
#   Adam and the element-wise kernels against the copy kernel;
#   small-preset training images/s against PyTorch CPU (2 threads);
#   per-step host overhead of the standard model.
#
#   bench/ratios.sh [--reps N] [--standard-batch 8] [--torch-steps 60] [--device D]
#
# vkcnn uses the tuning cache where `vkcnn tune` filled it, else its
# defaults; the table names the variant behind every figure.
set -euo pipefail
cd "$(dirname "$0")/.."

reps=5 sbatch=8 tsteps=60
device=()
while [ $# -gt 0 ]; do
	case "$1" in
	--reps) reps=$2; shift 2 ;;
	--standard-batch) sbatch=$2; shift 2 ;;
	--torch-steps) tsteps=$2; shift 2 ;;
	--device) device=(--device "$2"); shift 2 ;;
	*) echo "usage: $0 [--reps N] [--standard-batch N] [--torch-steps N] [--device D]" >&2; exit 2 ;;
	esac
done

py=/usr/bin/python3 # Debian's, where numpy and torch live
if ! "$py" -c 'import numpy, threadpoolctl, torch' 2>/dev/null; then
	[ "$(id -u)" -eq 0 ] || { echo "needs python3-numpy, python3-threadpoolctl, python3-torch and libopenblas0-pthread (apt-get)" >&2; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		python3-numpy python3-threadpoolctl python3-torch libopenblas0-pthread >/dev/null
fi
./build.sh build >/dev/null 2>&1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, where a machine sets them for old
# OpenBLAS builds, slow a current one: unset for the peers only.
peer() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py" "$@"; }

echo "measuring SGEMM (OpenBLAS, then vkcnn)..." >&2
peer bench/openblas_sgemm.py 1024 1024 1024 "$reps" >"$tmp/blas.json"
bin/vkcnn bench gemm --m 1024 --n 1024 --k 1024 --reps "$reps" --variant all --json "${device[@]}" >"$tmp/gemm1024.json"
# conv2 of the standard model as GEMMs: forward and backward-data are
# (pixels) x 256 x 6400, backward-filter 6400 x 256 x (pixels).
pixels=$((sbatch * 28 * 28))
bin/vkcnn bench gemm --m "$pixels" --n 256 --k 6400 --reps "$reps" --variant all --json "${device[@]}" >"$tmp/gemm-conv.json"
bin/vkcnn bench gemm --m 6400 --n 256 --k "$pixels" --reps "$reps" --variant all --json "${device[@]}" >"$tmp/gemm-filter.json"

echo "measuring a standard-model step at batch $sbatch..." >&2
bin/vkcnn bench all --model standard --batch-size "$sbatch" --reps 2 --json "${device[@]}" >"$tmp/standard.json"

echo "measuring the small preset against PyTorch..." >&2
bin/vkcnn train --model small --epochs 1 --steps-per-epoch 1 --batch-size 64 --out "$tmp/run" "${device[@]}" >/dev/null
bin/vkcnn bench all --model "$tmp/run/model.json" --batch-size 64 --reps 5 --json "${device[@]}" >"$tmp/small.json"
peer bench/torch_model.py "$tmp/run/model.json" --batch-size 64 --steps "$tsteps" --threads 2 >"$tmp/torch.json"

"$py" - "$tmp" "$sbatch" <<'PY'
import json, sys
tmp, sbatch = sys.argv[1], sys.argv[2]
load = lambda name: json.load(open(f"{tmp}/{name}.json"))
blas, g1024, gconv, gfilter = load("blas"), load("gemm1024"), load("gemm-conv"), load("gemm-filter")
std, small, torch = load("standard"), load("small"), load("torch")

def best(results):
    return max(results, key=lambda r: r["median_gflops"])

rows = []
def row(what, measured, peer, ratio, goal):
    rows.append((what, measured, peer, ratio, goal, "yes" if ratio >= goal else "no"))

b = best(g1024)
row("SGEMM 1024³ (median)", f"{b['median_gflops']:.1f} GFLOPS ({b['variant']})",
    f"OpenBLAS {blas['median_gflops']:.1f} GFLOPS", b["median_gflops"] / blas["median_gflops"], 0.25)

parts = {p["label"]: p for p in std["parts"]}
kernels = {k["name"]: k for k in std["kernels"]}
for pass_, ref in (("forward", gconv), ("backward-data", gconv), ("backward-filter", gfilter)):
    p, g = parts[f"conv2d_2 {pass_}"], best(ref)
    k = kernels[f"conv2d_2 {pass_}"]
    row(f"conv2 {pass_}, batch {sbatch}", f"{p['gflops']:.1f} GFLOPS ({k['variant']})",
        f"SGEMM {g['m']}x{g['n']}x{g['k']} {g['median_gflops']:.1f} GFLOPS ({g['variant']})",
        p["gflops"] / g["median_gflops"], 0.80)

copy = std["copy_gb_per_s"]
for label in ("adam", "augment", "max_pooling2d_1 forward", "max_pooling2d_1 backward", "dropout_1 backward"):
    if label in parts and parts[label].get("gb_per_s"):
        row(f"{label} (standard, batch {sbatch})", f"{parts[label]['gb_per_s']:.2f} GB/s",
            f"copy kernel {copy:.2f} GB/s", parts[label]["gb_per_s"] / copy, 0.70)

row("small preset training, batch 64", f"{small['train_images_per_second']:.1f} images/s",
    f"PyTorch {torch['torch']} {torch['train_images_per_second']:.1f} images/s",
    small["train_images_per_second"] / torch["train_images_per_second"], 0.20)

over = std["host_overhead"]
rows.append((f"host overhead, standard step at batch {sbatch}",
             f"{std['wall_step_seconds']:.2f} s a step on the wall clock",
             "", over, 0.02, "yes" if over < 0.02 else "no"))

info = blas["blas"]
print(f"Device: {std['device']}, {std['driver']}. OpenBLAS {info.get('version', '?')} "
      f"({info.get('architecture', '?')} kernels, {info.get('num_threads', '?')} threads); PyTorch {torch['torch']}, "
      f"{torch['threads']} threads.\n")
print("| measure | vkcnn | peer | ratio | target | met |")
print("|---|---|---|---:|---|---|")
for what, measured, peer, ratio, goal, met in rows:
    sign = "<" if what.startswith("host") else "≥"
    print(f"| {what} | {measured} | {peer} | {ratio:.3f} | {sign} {goal:g} | {met} |")
PY
