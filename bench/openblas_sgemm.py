"""Times float32 matmul through numpy (OpenBLAS sgemm) for bench/ scripts.

    openblas_sgemm.py M N K REPS  ->  JSON: best_gflops, median_gflops, blas
"""
import json
import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info

m, n, k, reps = map(int, sys.argv[1:])
rng = np.random.default_rng(1)
a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
b = rng.uniform(-1, 1, (k, n)).astype(np.float32)
c = np.empty((m, n), np.float32)
np.matmul(a, b, out=c)
times = []
for _ in range(max(reps, 5)):
    t = time.perf_counter()
    np.matmul(a, b, out=c)
    times.append(time.perf_counter() - t)
blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
flops = 2.0 * m * n * k
json.dump({"best_gflops": flops / min(times) / 1e9, "median_gflops": flops / statistics.median(times) / 1e9,
           "blas": blas[0] if blas else {}}, sys.stdout)
