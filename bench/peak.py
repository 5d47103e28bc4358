"""Native BLAS reference for `npm run bench -- engine`.

Times a float32 1024x1024x1024 matmul through numpy (Debian's numpy links the system BLAS,
OpenBLAS when installed) and prints one JSON line on stdout:
  {"gflops": float, "runs": int, "median_s": float, "numpy": str, "blas": str|null}
or, when numpy cannot be imported, {"error": "numpy not installed"} (exit status 0: a missing
reference is a fact to report, not a failure of the benchmark).

The caller unsets OPENBLAS_NUM_THREADS so OpenBLAS uses every core, as the peak it is compared
with is the whole machine's.
"""
import json
import statistics
import sys
import time

N = 1024
RUNS = 9


def main() -> None:
    try:
        import numpy as np
    except ImportError:
        print(json.dumps({"error": "numpy not installed"}))
        return
    rng = np.random.default_rng(0)
    a = rng.standard_normal((N, N), dtype=np.float32)
    b = rng.standard_normal((N, N), dtype=np.float32)
    # Warm-up: the first call spins up BLAS threads and faults in the output pages.
    for _ in range(2):
        a @ b
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(json.dumps({
        "gflops": 2 * N**3 / median / 1e9,
        "runs": RUNS,
        "median_s": median,
        "numpy": np.__version__,
        "blas": loaded_blas(),
    }))


def loaded_blas():
    """The BLAS library actually mapped into this process (Debian picks it by alternatives)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "/" in line}
        paths = {p for p in paths if "blas" in p.rsplit("/", 1)[-1].lower()}
    except OSError:
        return None
    return ", ".join(sorted(paths)) or None


if __name__ == "__main__":
    sys.exit(main())
