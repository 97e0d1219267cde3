#!/usr/bin/env bash
# Trains a model at fp32 and at each other precision with the same seed,
# batches and augmentation, and compares each one's training loss with
# fp32's at every logged step (steps.csv: the mean over the steps since
# the row before) against the bound the tensor-core issue sets (bf16x3
# 2%, bf16 5%): the first step past it, the largest and the mean
# relative difference, and the epoch's loss and validation beside fp32's.
# A control run, fp32 again with every product on tiled64 (the same
# arithmetic, other orders of sums), shows how far two fp32 runs drift
# apart.
#
#   bench/precision-training.sh [--model small] [--steps 300] [--out runs/precision]
#       [--precisions P,P...] [TRAIN FLAGS...]
#
# --precisions defaults to every precision but fp32 (vkcnn bench precision
# --list).
#
# Each run is an ordinary run folder, OUT/NAME; one that finished is not
# trained again. On lavapipe the matrix precisions run their plain-GLSL
# emulation, many times slower than fp32.
set -euo pipefail
cd "$(dirname "$0")/.."

model=small steps=300 out=runs/precision precisions="" extra=()
while [ $# -gt 0 ]; do
	case "$1" in
	--model) model=$2; shift 2 ;;
	--steps) steps=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--precisions) precisions=$2; shift 2 ;;
	*) extra+=("$1"); shift ;;
	esac
done
./build.sh build >/dev/null
mkdir -p "$out"
# Every precision but the first, fp32, which the others are compared with.
all=($(bin/vkcnn bench precision --list))
fp32=${all[0]}
[ -n "$precisions" ] || precisions=$(IFS=,; echo "${all[*]:1}")

# train NAME PRECISION: one run, unless it finished before.
train() {
	local dir=$out/$1 start
	if [ -f "$dir/history.csv" ]; then
		echo "$1: trained before, in $dir"
		return
	fi
	rm -rf "$dir"
	echo "$1: training $model for $steps steps into $dir"
	start=$(date +%s)
	bin/vkcnn train --model "$model" --epochs 1 --steps-per-epoch "$steps" --seed 1 --precision "$2" --out "$dir" "${extra[@]}" >"$out/$1.log"
	echo "$1: $(($(date +%s) - start)) s; $(grep '^Epoch' "$out/$1.log")"
}

train fp32 "$fp32"
# The control's kernels: fp32's products, each on tiled64, from a tuning
# cache of its own.
device=$(sed -n 's/^  "device": "\(.*\)",$/\1/p' "$out/fp32/kernels.json")
{
	printf '{"version": 2, "devices": {"%s | %s": {\n' "$device" "$fp32"
	sed -n 's/^    \("[^"]*"\): "[^"]*",\{0,1\}$/\1: "tiled64"/p' "$out/fp32/kernels.json" | paste -sd, -
	printf '}}}\n'
} >"$out/tiled64-tuning.json"
VKCNN_TUNING=$out/tiled64-tuning.json train fp32-tiled64 "$fp32"
for p in ${precisions//,/ }; do
	train "$p" "$p"
done

echo "| run | logged steps | first step past the bound | largest difference from fp32's loss (step) | mean difference | epoch loss, val_loss, val_acc (fp32's) |"
echo "|---|---:|---|---:|---:|---|"
for run in fp32-tiled64 ${precisions//,/ }; do
	bound=5
	case $run in bf16x3 | fp32-tiled64) bound=2 ;; esac
	# steps.csv: step, epoch, images, loss, ...; history.csv: epoch, loss,
	# acc, val_loss, val_acc, ...; fp32's files first.
	epoch=$(awk -F, 'FNR == 2 { printf "%s%.4f, %.4f, %.4f", (NR == FNR ? "" : " ("), $2, $4, $5 } END { print ")" }' \
		"$out/$run/history.csv" "$out/fp32/history.csv")
	awk -F, -v run="$run" -v bound="$bound" -v epoch="$epoch" '
		FNR == 1 { next }
		NR == FNR { ref[$1] = $4; next }
		($1 in ref) {
			n++
			d = ($4 - ref[$1]) / ref[$1]
			if (d < 0) d = -d
			sum += d
			if (d >= worst) { worst = d; at = $1 }
			if (100 * d > bound && first == "") first = $1
		}
		END {
			printf "| %s | %d | %s (%d%%) | %.2f%% (%d) | %.2f%% | %s |\n", run, n, first == "" ? "none" : first, bound, 100 * worst, at, 100 * sum / n, epoch
		}' "$out/fp32/steps.csv" "$out/$run/steps.csv"
done
