#!/usr/bin/python3
"""scikit-learn's side of BENCHMARKS.md: predict latency for the same
models and rows as the Go benchmarks (bench_test.go), on this machine.

    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 testdata/bench.py [MODEL...]

Prints one line per model: the median time of predict on one row (over
many calls); for a 10,000-row batch the median and the fastest of 21
calls and the process CPU time (all threads) per call, in nanoseconds.
bench_test.go reports the same (ns/op of PredictRow; med-ns, min-ns and
cpu-ns of PredictBatch).
"""

import json
import sys
import time

import joblib
import numpy as np

MODELS = ["logistic_binary", "linear_regression", "random_forest_100", "hist_gradient_boosting_binary"]
BATCH = 10_000


def times_ns(fn, repeat, number):
    """Sorted mean times of repeat runs of number calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        for _ in range(number):
            fn()
        times.append((time.perf_counter_ns() - t0) / number)
    times.sort()
    return times


def median_ns(fn, repeat, number):
    times = times_ns(fn, repeat, number)
    return times[len(times) // 2]


def main():
    out = {}
    for name in sys.argv[1:] or MODELS:
        model = joblib.load(f"testdata/{name}.joblib")
        X = np.array(json.load(open(f"testdata/{name}.json"))["X"], dtype=np.float64)
        row = X[:1]
        batch = np.resize(X, (BATCH, X.shape[1]))
        model.predict(row)
        one = median_ns(lambda: model.predict(row), repeat=7, number=200)
        calls = 21
        cpu0 = time.process_time_ns()
        batch_times = times_ns(lambda: model.predict(batch), repeat=calls, number=1)
        cpu = (time.process_time_ns() - cpu0) / calls
        many, fastest = batch_times[calls // 2], batch_times[0]
        out[name] = {"row_ns": one, "batch_ns": many, "batch_min_ns": fastest, "batch_cpu_ns": cpu}
        print(f"{name:32s} row {one / 1e3:10.1f} us   batch(10k) median {many / 1e6:8.3f} ms"
              f"   min {fastest / 1e6:8.3f} ms   cpu {cpu / 1e6:8.3f} ms", file=sys.stderr)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
