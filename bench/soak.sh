#!/usr/bin/env bash
# Soak: trains the small preset for about 2,000 steps (3 epochs of 700) and
# samples the process's resident memory every few seconds, to show it does
# not grow after the first epoch. On lavapipe device memory is host memory,
# so the resident size covers both.
#
#   bench/soak.sh [--steps-per-epoch 700] [--epochs 3] [--interval 5]
set -euo pipefail
cd "$(dirname "$0")/.."

per=700 epochs=3 interval=5
while [ $# -gt 0 ]; do
	case "$1" in
	--steps-per-epoch) per=$2; shift 2 ;;
	--epochs) epochs=$2; shift 2 ;;
	--interval) interval=$2; shift 2 ;;
	*) echo "usage: $0 [--steps-per-epoch N] [--epochs N] [--interval S]" >&2; exit 2 ;;
	esac
done
./build.sh build >/dev/null 2>&1
./build.sh data >/dev/null 2>&1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bin/vkcnn train --model small --epochs "$epochs" --steps-per-epoch "$per" --out "$tmp/run" >"$tmp/log" 2>&1 &
pid=$!
start=$(date +%s)
echo "seconds,epochs_done,rss_mib" >"$tmp/rss.csv"
while kill -0 "$pid" 2>/dev/null; do
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
	[ -n "$rss" ] && echo "$(($(date +%s) - start)),$(grep -c '^Epoch' "$tmp/log" || true),$((rss / 1024))" >>"$tmp/rss.csv"
	sleep "$interval"
done
wait "$pid"
cat "$tmp/log"
awk -F, 'NR > 1 { if ($2 >= 1 && !first) { first = $3 } last = $3; if ($3 > peak) peak = $3 }
	END { printf "resident memory: %d MiB after the first epoch, %d MiB at the end, peak %d MiB\n", first, last, peak }' "$tmp/rss.csv"
