#!/usr/bin/env bash
# Training images/s of a model (default: the small preset) in vkcnn beside
# PyTorch CPU (Debian's python3-torch, 2 threads) training the same network
# built from its model.json, at the same batch size, in one run.
#
#   bench/small-vs-pytorch.sh [--model small|FILE] [--batch-size 64] [--steps 60]
set -euo pipefail
cd "$(dirname "$0")/.."

model=small batch=64 steps=60
while [ $# -gt 0 ]; do
	case "$1" in
	--model) model=$2; shift 2 ;;
	--batch-size) batch=$2; shift 2 ;;
	--steps) steps=$2; shift 2 ;;
	*) echo "usage: $0 [--model small|FILE] [--batch-size N] [--steps N]" >&2; exit 2 ;;
	esac
done

py=/usr/bin/python3 # Debian's, where python3-torch lives
if ! "$py" -c 'import torch' 2>/dev/null; then
	[ "$(id -u)" -eq 0 ] || { echo "needs python3-torch (apt-get)" >&2; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch libopenblas0-pthread >/dev/null
fi
./build.sh build >/dev/null 2>&1
./build.sh data >/dev/null 2>&1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -f "$model" ]; then
	cp "$model" "$tmp/model.json"
else
	# The preset as model.json: one training step writes it.
	bin/vkcnn train --model "$model" --epochs 1 --steps-per-epoch 1 --batch-size "$batch" --out "$tmp/run" >/dev/null
	cp "$tmp/run/model.json" "$tmp/model.json"
fi

vk_reps=$(( steps / 10 > 3 ? steps / 10 : 3 ))
bin/vkcnn bench all --model "$tmp/model.json" --batch-size "$batch" --reps "$vk_reps" --json >"$tmp/vk.json"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py" bench/torch_model.py "$tmp/model.json" \
	--batch-size "$batch" --steps "$steps" --threads 2 >"$tmp/torch.json"

"$py" - "$tmp" "$model" "$batch" <<'PY'
import json, sys
tmp, model, batch = sys.argv[1:]
vk = json.load(open(f"{tmp}/vk.json"))
th = json.load(open(f"{tmp}/torch.json"))
r = vk["train_images_per_second"] / th["train_images_per_second"]
print(f"Model {model}, batch {batch}; vkcnn on {vk['device']}, "
      f"PyTorch {th['torch']} CPU with {th['threads']} threads.\n")
print("| trainer | training images/s | vkcnn / PyTorch |")
print("|---|---:|---:|")
print(f"| PyTorch | {th['train_images_per_second']:.1f} | 1 |")
print(f"| vkcnn | {vk['train_images_per_second']:.1f} | {r:.3f} |")
PY
