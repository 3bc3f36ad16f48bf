"""Speed of the exact herding pick: the int8-bounded engine vs a plain NumPy float32 loop, in one run.

Both loops herd the same embedding-like matrix (unit rows sharing a direction, like sentence embeddings)
towards its geometric median (cosine GM Matching). They run in alternating blocks of picks, so load
changes on a shared machine hit both alike; the picks are compared one by one. Then the batched variant
(B partitions) with its speed-up and its matching error, and the peak memory of a 1M x 384 selection
(in a child process, so its high-water mark is its own). Both loops get the same number of threads: the
plain loop's BLAS (threadpoolctl) and the int8 engine's numba kernels are limited to each count of
``--threads`` in turn (default 1 and 2: on a CPU shared with other jobs, a second thread mostly waits).
The GPU goal (>= 50x) needs a GPU; on a CPU-only machine it is reported as not measured.

    python benchmarks/gm_matching_speed.py                    # N = 100k, d = 384, 2000 picks + 1M x 384 memory
    python benchmarks/gm_matching_speed.py --picks 10000      # the issue's k = 10k
    python benchmarks/gm_matching_speed.py --quick            # small sizes, a pipeline check
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numba
import numpy as np
from hfplug_gm_matching import geometric_median, select
from hfplug_gm_matching.bounded import Int8Herding, dense_pick
from hfplug_gm_matching.selectors import normalized_rows
from threadpoolctl import threadpool_limits


def embedding_like(n: int, d: int, seed: int = 0) -> np.ndarray:
    """Unit rows: a shared direction + a 32-dim low-rank part + isotropic noise (cosine to the mean ~0.5)."""
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal(d).astype(np.float32)
    basis = rng.standard_normal((32, d)).astype(np.float32) / np.sqrt(d)
    out = np.empty((n, d), dtype=np.float32)
    for start in range(0, n, 50_000):
        rows = min(50_000, n - start)
        block = 0.06 * shared + rng.standard_normal((rows, 32)).astype(np.float32) @ basis * 0.9
        block += rng.standard_normal((rows, d)).astype(np.float32) * 0.035
        out[start : start + rows] = block
    return normalized_rows(out)


def timed_loops(points: np.ndarray, target: np.ndarray, picks: int, threads: int, block: int = 50) -> dict:
    """Run the plain loop and the int8 engine in alternating blocks, both on ``threads`` threads; return times and
    agreement."""
    with threadpool_limits(limits=threads):
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            return _timed_loops(points, target, picks, threads, block) | {"threads": threads}
        finally:
            numba.set_num_threads(previous)


def _timed_loops(points: np.ndarray, target: np.ndarray, picks: int, threads: int, block: int) -> dict:
    started = time.perf_counter()
    engine = Int8Herding(points, target, threads=threads)
    build = time.perf_counter() - started
    states = {name: (target.copy(), np.zeros(len(points), dtype=bool), []) for name in ("plain", "int8")}
    spent = {"plain": 0.0, "int8": 0.0}
    engine.pick(target.copy(), np.zeros(len(points), dtype=bool))  # JIT warm-up (cached on disk after the first run)
    engine.rescored = engine.fallbacks = 0
    for _ in range(0, picks, block):
        for name, pick in (("plain", lambda th, tk: dense_pick(points, th, tk)), ("int8", engine.pick)):
            theta, taken, order = states[name]
            started = time.perf_counter()
            for _ in range(min(block, picks - len(order))):
                index = pick(theta, taken)
                taken[index] = True
                order.append(index)
                theta += target - points[index]
            spent[name] += time.perf_counter() - started
    engine.close()
    plain, fast = states["plain"][2], states["int8"][2]
    same = next((i for i, (a, b) in enumerate(zip(plain, fast, strict=True)) if a != b), len(plain))
    return {
        "picks": picks,
        "plain_ms_per_pick": 1000 * spent["plain"] / picks,
        "int8_ms_per_pick": 1000 * spent["int8"] / picks,
        "ratio": spent["plain"] / spent["int8"],
        "identical_picks": same,
        "int8_build_s": build,
        "rows_rescored_per_pick": engine.rescored / picks,
        "fallback_picks": engine.fallbacks,
        "int8_extra_bytes": engine.nbytes,
    }


def batched(points: np.ndarray, picks: int, batches: int) -> dict:
    """select() with B = 1 and B = ``batches`` (int8 engine): wall time and how well mean(S) matches the GM.

    Cosine GM Matching herds towards the unit GM direction, so its quality is the angle between mean(S) and
    that direction (1 - cosine); euclidean GM Matching herds towards the GM itself, so ||mean(S) - GM||.
    """
    center = geometric_median(points)
    direction = center / np.linalg.norm(center)
    out: dict = {}
    for metric in ("cosine", "euclidean"):
        for b in (1, batches):
            started = time.perf_counter()
            chosen = select(points, picks, selector="gm_matching", metric=metric, batches=b, engine="int8")
            mean = points[chosen].astype(np.float64).mean(axis=0)
            out[f"{metric} B={b}"] = {
                "seconds": time.perf_counter() - started,
                "1 - cos(mean(S), GM)": float(1 - mean @ direction / np.linalg.norm(mean)),
                "||mean(S) - GM||": float(np.linalg.norm(mean - center)),
            }
        out[f"{metric} speedup"] = out[f"{metric} B=1"]["seconds"] / out[f"{metric} B={batches}"]["seconds"]
    mean = points[select(points, picks, selector="random", seed=0)].astype(np.float64).mean(axis=0)
    out["random"] = {
        "1 - cos(mean(S), GM)": float(1 - mean @ direction / np.linalg.norm(mean)),
        "||mean(S) - GM||": float(np.linalg.norm(mean - center)),
    }
    return out


MEMORY_CHILD = """
import json, sys, time
sys.path.insert(0, "benchmarks")
from gm_matching_speed import embedding_like
from hfplug_gm_matching import select

def high_water():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 2**20

n, d, k = map(int, sys.argv[1:4])
points = embedding_like(n, d)
before = high_water()
started = time.perf_counter()
select(points, k, selector="gm_matching", engine="int8", progress=False)
print(json.dumps({"rows": n, "dim": d, "picks": k, "matrix_gb": points.nbytes / 2**30, "peak_before_gb": before,
                  "peak_gb": high_water(), "select_s": time.perf_counter() - started}))
"""


def peak_memory(n: int, d: int, picks: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, str(n), str(d), str(picks)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--picks", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--memory-rows", type=int, default=1_000_000)
    parser.add_argument("--threads", default="1,2", help="Comma-separated thread counts, the same for both loops.")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--parts", default="exact,batched,memory", help="Comma-separated parts to run.")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if args.quick:
        args.rows, args.picks, args.memory_rows = 20_000, 200, 50_000
    points = embedding_like(args.rows, args.dim)
    started = time.perf_counter()
    target = geometric_median(points)
    gm_seconds = time.perf_counter() - started
    target = (target / np.linalg.norm(target)).astype(np.float32)
    report = {"rows": args.rows, "dim": args.dim, "geometric_median_s": gm_seconds}
    if "exact" in parts:
        counts = [int(t) for t in args.threads.split(",")]
        report["exact_pick"] = [timed_loops(points, target, args.picks, threads) for threads in counts]
        print(json.dumps(report, indent=1), flush=True)
    if "batched" in parts:
        report["batched"] = batched(points, max(args.picks // 2, args.batches), args.batches)
        print(json.dumps(report["batched"], indent=1), flush=True)
    if "memory" in parts:
        report["memory"] = peak_memory(args.memory_rows, args.dim, 200)
    report["gpu"] = "not measured (no GPU on this machine)"
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
