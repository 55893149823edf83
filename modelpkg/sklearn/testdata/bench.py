#!/usr/bin/python3
"""scikit-learn's side of BENCHMARKS.md: predict latency for the same
models and rows as the Go benchmarks (bench_test.go), on this machine.

    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 testdata/bench.py

Prints one line per model: the median time of predict on one row (over
many calls) and of predict on a 10,000-row batch, and the process CPU
time (all threads) per batch call, in nanoseconds; bench_test.go reports
the same three (ns/op of PredictRow, med-ns and cpu-ns of PredictBatch).
"""

import json
import sys
import time

import joblib
import numpy as np

MODELS = ["logistic_binary", "linear_regression", "random_forest_100", "hist_gradient_boosting_binary"]
BATCH = 10_000


def median_ns(fn, repeat, number):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        for _ in range(number):
            fn()
        times.append((time.perf_counter_ns() - t0) / number)
    times.sort()
    return times[len(times) // 2]


def main():
    out = {}
    for name in MODELS:
        model = joblib.load(f"testdata/{name}.joblib")
        X = np.array(json.load(open(f"testdata/{name}.json"))["X"], dtype=np.float64)
        row = X[:1]
        batch = np.resize(X, (BATCH, X.shape[1]))
        model.predict(row)
        one = median_ns(lambda: model.predict(row), repeat=7, number=200)
        calls = 21
        cpu0 = time.process_time_ns()
        many = median_ns(lambda: model.predict(batch), repeat=calls, number=1)
        cpu = (time.process_time_ns() - cpu0) / calls
        out[name] = {"row_ns": one, "batch_ns": many, "batch_cpu_ns": cpu}
        print(f"{name:32s} row {one / 1e3:10.1f} us   batch(10k) median {many / 1e6:8.3f} ms"
              f"   cpu {cpu / 1e6:8.3f} ms", file=sys.stderr)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
