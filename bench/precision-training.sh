#!/usr/bin/env bash
# Trains a model at fp32 and at each other precision with the same seed,
# batches and augmentation, and compares each one's training loss with
# fp32's at every logged step (steps.csv: the mean over the steps since
# the row before): the largest relative difference, where it is, and the
# bound the tensor-core issue sets (bf16x3 2%, bf16 5%).
#
#   bench/precision-training.sh [--model small] [--steps 300] [--out runs/precision]
#       [--precisions bf16x3,bf16] [TRAIN FLAGS...]
#
# Each run is an ordinary run folder, OUT/PRECISION; one that finished is
# not trained again. On lavapipe the matrix precisions run their plain-GLSL
# emulation, several times slower than fp32.
set -euo pipefail
cd "$(dirname "$0")/.."

model=small steps=300 out=runs/precision precisions=bf16x3,bf16 extra=()
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

for p in fp32 ${precisions//,/ }; do
	dir=$out/$p
	if [ -f "$dir/history.csv" ]; then
		echo "$p: trained before, in $dir"
		continue
	fi
	rm -rf "$dir"
	echo "$p: training $model for $steps steps into $dir"
	start=$(date +%s)
	bin/vkcnn train --model "$model" --epochs 1 --steps-per-epoch "$steps" --seed 1 --precision "$p" --out "$dir" "${extra[@]}" >"$out/$p.log"
	echo "$p: $(( $(date +%s) - start )) s; $(grep '^Epoch' "$out/$p.log")"
done

echo "| precision | logged steps | largest difference from fp32's loss | at step | bound | final loss (fp32's) |"
echo "|---|---:|---:|---:|---:|---|"
for p in ${precisions//,/ }; do
	bound=5
	[ "$p" = bf16x3 ] && bound=2
	# steps.csv: step, epoch, images, loss, ...; the rows of fp32's run
	# first, keyed by step.
	awk -F, -v p="$p" -v bound="$bound" '
		FNR == 1 { next }
		NR == FNR { ref[$1] = $4; next }
		($1 in ref) {
			n++
			d = ($4 - ref[$1]) / ref[$1]
			if (d < 0) d = -d
			if (d >= worst) { worst = d; at = $1 }
			last = $4; lastref = ref[$1]
		}
		END {
			verdict = (100 * worst <= bound) ? "within" : "PAST"
			printf "| %s | %d | %.2f%% | %d | %d%% (%s) | %.4f (%.4f) |\n", p, n, 100 * worst, at, bound, verdict, last, lastref
		}' "$out/fp32/steps.csv" "$out/$p/steps.csv"
done
