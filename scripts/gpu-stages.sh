# The stages of scripts/gpu-check.sh, which sources this file after the
# machine's bootstrap (the loader, the driver, the validation layer, the
# device check and the clock sampler) and runs stages_MODE: what each mode
# runs and checks. Each stage runs under stage (a time limit, the clocks)
# and counts its failure with fail; the bootstrap's $gpu, $chosen, $layer,
# $filter, $budget, $at, $train and $binaries say where it runs and what was
# asked.

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
# small is a model small enough for lavapipe to run every stage in seconds.
small=scripts/gpu-check-model.json
# torch_python prints a python3 that imports torch, if one is here.
torch_python() {
	for p in python3 /usr/bin/python3; do
		"$p" -c 'import torch' 2>/dev/null && echo "$p" && return
	done
}

# tune_twice tunes $model at $batch, then again, and shows where the
# second tune chose otherwise, with its timings: a choice made on a
# settled clock is made again.
tune_twice() {
	section "vkcnn tune --model $model --batch-size $batch"
	stage $tune_limit bin/vkcnn tune --model "$model" --batch-size $batch --reps 3 || fail "tune"
	cp "$VKCNN_TUNING" .deps/gpu-check-tuning-first.json
	section "vkcnn tune again: the same choices?"
	stage $again_limit bin/vkcnn tune --model "$model" --batch-size $batch --reps 3 --compare .deps/gpu-check-tuning-first.json ||
		fail "tune again"
}

# stages_vkcnn runs vkcnn with the arguments given, for at most $budget
# seconds.
stages_vkcnn() {
	section "vkcnn ${vkcnn_args[*]} (at most ${budget}s)"
	stage "$budget" bin/vkcnn "${vkcnn_args[@]}" || fail "vkcnn ${vkcnn_args[*]}"
}

# stages_smoke proves in at most 2 minutes on a GPU that each product runs
# right at every precision the device runs (bench precision --list --runs,
# vkcnn devices' precisions line): a variant of each precision that runs
# wherever the precision does, on a GEMM and a convolution of partial tiles
# and fragments, without validation (Debian's layer predates cooperative
# matrices); then 20 steps of the standard model (on lavapipe the small
# one) at each.
stages_smoke() {
	local precisions prec variants="" model batch train_limit saved_layer=$layer saved_filter=$filter saved_limit=$tests_limit
	precisions=$(bin/vkcnn bench precision --list --runs | paste -sd " " -)
	[ -n "$precisions" ] || { fail "bench precision --list --runs names no precision for $chosen"; return; }
	for prec in $precisions; do
		case $prec in
		fp32) variants+="|warp128" ;;
		*) variants+="|coopmat64_$prec" ;;
		esac
	done
	if [ -n "$gpu" ]; then
		model=standard batch=64 tests_limit=30 train_limit=25
	else
		model=$small batch=8 tests_limit=90 train_limit=60
	fi
	section "kernel tests at $precisions: ${variants#|}, a GEMM and a convolution each, without validation (at most ${tests_limit}s)"
	layer="" filter="^(TestGemmMatchesReference|TestConvMatchesReference)\$/^(${variants#|})\$/^(36x68x20|\{Batch:3_H:9_W:6_Cin:4_Cout:8_KH:5_KW:5[_}].*)\$"
	run_tests
	layer=$saved_layer filter=$saved_filter tests_limit=$saved_limit
	for prec in $precisions; do
		section "20 steps of $model at $prec (at most ${train_limit}s)"
		rm -rf ".deps/smoke-$prec"
		stage $train_limit bin/vkcnn train --model "$model" --batch-size $batch --epochs 1 --steps-per-epoch 20 --val-split 0.01 \
			--precision "$prec" --out ".deps/smoke-$prec" | grep '^Epoch' || fail "20 steps of $model at $prec"
	done
}

# stages_tests runs the test binaries, then, on a GPU, 20 steps at batch
# 256.
stages_tests() {
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
}

# stages_torch times vkcnn and PyTorch side by side on this device: the
# same model and batch, both step times in one table, and the test-set
# logits of the same weights compared.
stages_torch() {
	py=$(torch_python)
	dir=.deps/torch
	rm -rf "$dir" && mkdir -p "$dir"
	if [ -n "$gpu" ]; then
		model=standard batch=64 reps=50 steps=200 warmup=20 train_steps=100 tune_limit=80 again_limit=80 torch_limit=180
	else
		model=$small batch=8 reps=3 steps=5 warmup=2 train_steps=5 tune_limit=150 again_limit=60 torch_limit=60
	fi
	# vkcnn at each precision (fp32, which comes first, tuned twice; the
	# others once), each beside the PyTorch settings of its arithmetic.
	tune_twice
	precisions=($(bin/vkcnn bench precision --list)) vkcnn_files=()
	for prec in "${precisions[@]}"; do
		if [ "$prec" != "${precisions[0]}" ]; then
			section "vkcnn tune --model $model --batch-size $batch --precision $prec"
			stage $tune_limit bin/vkcnn tune --model "$model" --batch-size $batch --reps 3 --precision "$prec" | grep '^saved' ||
				fail "tune at $prec"
		fi
		section "vkcnn bench all --model $model --batch-size $batch --reps $reps --precision $prec"
		stage 60 bin/vkcnn bench all --model "$model" --batch-size $batch --reps $reps --precision "$prec" --json >"$dir/vkcnn-$prec.json" &&
			vkcnn_files+=(--vkcnn "$dir/vkcnn-$prec.json") || fail "bench all at $prec"
	done
	section "weights to compare: vkcnn train --model $model --steps-per-epoch $train_steps, then vkcnn eval --logits"
	stage 60 bin/vkcnn train --model "$model" --epochs 1 --steps-per-epoch $train_steps --batch-size $batch --out "$dir/run" | grep '^Epoch' &&
		stage 30 bin/vkcnn eval --run "$dir/run" --logits "$dir/vkcnn-logits.npy" | grep -E '^(Test|Wrote)' || fail "train and eval"
	if [ -z "$py" ]; then
		echo "no python3 here imports torch: no PyTorch figures"
	else
		section "PyTorch: bench/torch_model.py --bench --batch-size $batch --steps $steps --warmup $warmup"
		PYTHONUNBUFFERED=1 stage $torch_limit "$py" bench/torch_model.py "$dir/run/model.json" --bench --batch-size $batch \
			--steps $steps --warmup $warmup --data data/mnist "${vkcnn_files[@]}" || fail "PyTorch's steps"
		section "test-set logits of the same weights, PyTorch beside vkcnn"
		stage 60 "$py" bench/torch_model.py "$dir/run/model.json" --weights "$dir/run/weights.safetensors" \
			--logits "$dir/vkcnn-logits.npy" --data data/mnist --tolerance 1e-4 || fail "PyTorch's logits"
	fi
}

# stages_precision checks the tensor-core precisions on this device, each
# figure beside fp32's from the same call.
stages_precision() {
	dir=.deps/precision
	rm -rf "$dir" && mkdir -p "$dir"
	py=$(torch_python)
	if [ -n "$gpu" ]; then
		model=standard batch=64 gemm=(--m 50176 --n 256 --k 6400) precision_args=() train_args=(--epochs 2 --shift 0.1)
	else
		model=$small batch=8 gemm=(--m 260 --n 132 --k 404) precision_args=(--batch-size 1 --samples 500)
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
	precisions=($(bin/vkcnn bench precision --list))
	for prec in "${precisions[@]}"; do
		section "vkcnn bench gemm ${gemm[*]} --precision $prec"
		stage 60 bin/vkcnn bench gemm "${gemm[@]}" --reps 10 --variant all --precision $prec || fail "bench gemm at $prec"
		section "vkcnn tune and bench all --model $model --batch-size $batch --precision $prec"
		stage 150 bin/vkcnn tune --model "$model" --batch-size $batch --reps 3 --precision $prec >/dev/null || fail "tune at $prec"
		stage 60 bin/vkcnn bench all --model "$model" --batch-size $batch --reps 20 --precision $prec | tee "$dir/bench-$prec.txt" |
			grep -E '^(step|training|in fp32)|conv2d_2 forward' || fail "bench all at $prec"
	done
	if [ $train -eq 1 ] && [ -f data/mnist/train-images-idx3-ubyte.gz ]; then
		for prec in "${precisions[@]}"; do
			section "vkcnn train --model $model ${train_args[*]} --seed 1 --precision $prec"
			stage 200 bin/vkcnn train --model "$model" "${train_args[@]}" --seed 1 --precision $prec --out "$dir/train-$prec" |
				grep '^Epoch' || fail "train at $prec"
		done
	fi
}

# stages_reproduce trains the next run of the seed's table.
stages_reproduce() {
	# The standard model's 20-epoch runs, filed in docs/reproduce; on
	# lavapipe a trial of 10 steps of a small model, filed beside it. The
	# runs train in .deps/reproduce, where an unfinished one resumes.
	pack=.deps/reproduce-runs.tar.gz
	if [ -n "$gpu" ]; then
		records=docs/reproduce args=(--model standard)
	else
		records=.deps/reproduce-trial args=(--model "$small" --epochs 1 --steps-per-epoch 10 --batch-size 8)
	fi
	section "vkcnn reproduce --next${at:+ --precision $at}: the next run missing from $records, if it fits in ${budget}s"
	stage $((budget + 30)) bin/vkcnn reproduce --next --budget "$budget" ${at:+--precision "$at"} "${args[@]}" --out .deps/reproduce --records "$records"
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 124 ] || [ $rc -eq 130 ] || fail "reproduce --next (status $rc)"
	if [ -f "$records/REPORT.md" ]; then
		tar -czf "$pack" "$records" && cat "$records/REPORT.md" &&
			echo "packed $records into $pack ($(du -k "$pack" | cut -f1) KiB): unpack it in the repository's root (tar -xzf)"
	fi
}

# stages_check times GEMM, tunes twice, profiles a step, creates the
# pipelines cold and warm, and trains.
stages_check() {
	if [ -n "$gpu" ]; then
		size=4096 reps=10 model=standard batch=64 train_args=(--epochs 2 --shift 0.1)
		gemm_limit=50 tune_limit=80 again_limit=80 train_limit=120
	else
		# lavapipe would take minutes a product at the GPU's sizes, and
		# compiling every variant of the small preset's products (as tune
		# does) takes it over two minutes on a fresh machine: a small
		# model proves the stages work.
		model=$small
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
}
