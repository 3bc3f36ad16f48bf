"""One scoring pass over the int8 copy, kernel by kernel, against the float32 ``X @ theta`` of the same run.

The int8 engine's pick is one pass over an (n, d) int8 matrix; this times the candidate kernels for that pass
alone, each against NumPy's float32 matrix-vector product, in alternating order, with the same thread count
for NumPy's BLAS, numba and torch (each count of ``--threads`` in turn). It also checks which kernels are exact
(integer results equal to an int64 reference), since the engine's bound assumes an exact pass.

    python benchmarks/gm_matching_kernels.py                  # 100k x 384, threads 1 and 2
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np
import torch
from hfplug_gm_matching import kernels
from hfplug_gm_matching.row_split import RowSplitter
from numba import njit, prange
from threadpoolctl import threadpool_limits


@njit(parallel=True, cache=True)
def fused_with_bounds(codes: np.ndarray, theta_codes: np.ndarray, scales: np.ndarray, out: np.ndarray) -> None:
    """The engine's previous layout: each row's integer sum and its float64 bound arithmetic in one loop nest."""
    n, d = codes.shape
    for j in prange(n):
        row = codes[j]
        acc = np.int32(0)
        for k in range(d):
            acc += np.int32(np.int16(row[k]) * np.int16(theta_codes[k]))
        out[j] = scales[j] * np.float64(acc) + 1.0


@njit(parallel=True, cache=True)
def int32_products(codes: np.ndarray, theta_codes: np.ndarray, out: np.ndarray) -> None:
    """The integer pass alone, with int32 products."""
    n, d = codes.shape
    for j in prange(n):
        acc = np.int32(0)
        for k in range(d):
            acc += np.int32(codes[j, k]) * np.int32(theta_codes[k])
        out[j] = acc


@njit(parallel=True, fastmath=True, cache=True)
def float32_products(codes: np.ndarray, theta_codes: np.ndarray, out: np.ndarray) -> None:
    """int8 codes as float32: exact in any summation order while d * 127 * 127 < 2**24."""
    n, d = codes.shape
    for j in prange(n):
        acc = np.float32(0)
        for k in range(d):
            acc += np.float32(codes[j, k]) * np.float32(theta_codes[k])
        out[j] = acc


def candidates(points: np.ndarray, theta: np.ndarray, codes: np.ndarray, theta_codes: np.ndarray, threads: int):
    """name -> (call, exact integer result or None)."""
    ints = np.empty(len(codes), dtype=np.int32)
    bounds = np.empty(len(codes), dtype=np.float64)
    ones64 = np.ones(len(codes))
    floats = np.empty(len(codes), dtype=np.float32)
    splitter = RowSplitter(threads)
    weight = torch.from_numpy(codes)
    activation = torch.from_numpy(theta_codes.astype(np.float32))[None]
    ones = torch.ones(len(codes))
    stacked = torch.from_numpy(theta_codes)[None].repeat(17, 1)  # _int_mm wants more than 16 rows
    return {
        "numpy float32 X @ theta": (lambda: points @ theta, None),
        "numba fused with a float64 bound (previous)": (
            lambda: fused_with_bounds(codes, theta_codes, ones64, bounds),
            lambda: bounds - 1.0,
        ),
        "numba int32 products, pass alone": (lambda: int32_products(codes, theta_codes, ints), lambda: ints),
        "numba float32 products": (lambda: float32_products(codes, theta_codes, floats), lambda: floats),
        "numba int16 products, row splitter (engine)": (
            lambda: splitter.run(kernels.int8_dots, len(codes), codes, theta_codes, ints),
            lambda: ints,
        ),
        "torch _weight_int8pack_mm, bf16 activation": (
            lambda: torch.ops.aten._weight_int8pack_mm(activation.bfloat16(), weight, ones.bfloat16()),
            lambda: torch.ops.aten._weight_int8pack_mm(activation.bfloat16(), weight, ones.bfloat16()).float()[0],
        ),
        "torch _weight_int8pack_mm, f32 activation": (
            lambda: torch.ops.aten._weight_int8pack_mm(activation, weight, ones),
            lambda: torch.ops.aten._weight_int8pack_mm(activation, weight, ones)[0],
        ),
        "torch _int_mm": (lambda: torch._int_mm(stacked, weight.t()), lambda: torch._int_mm(stacked, weight.t())[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    points = rng.standard_normal((args.rows, args.dim)).astype(np.float32)
    theta = rng.standard_normal(args.dim).astype(np.float32)
    codes = rng.integers(-127, 128, (args.rows, args.dim)).astype(np.int8)
    theta_codes = rng.integers(-127, 128, args.dim).astype(np.int8)
    reference = codes.astype(np.int64) @ theta_codes.astype(np.int64)
    for threads in (int(t) for t in args.threads.split(",")):
        numba.set_num_threads(threads)
        torch.set_num_threads(threads)
        with threadpool_limits(limits=threads):
            calls = candidates(points, theta, codes, theta_codes, threads)
            times: dict[str, list[float]] = {name: [] for name in calls}
            for call, _ in calls.values():
                call()  # compile / warm up
            for repeat in range(args.repeats):
                order = list(calls.items()) if repeat % 2 == 0 else list(calls.items())[::-1]
                for name, (call, _) in order:
                    started = time.perf_counter()
                    for _ in range(args.calls):
                        call()
                    times[name].append((time.perf_counter() - started) / args.calls)
        base = float(np.median(times["numpy float32 X @ theta"]))
        for name, (_, result) in calls.items():
            median = float(np.median(times[name]))
            exact = "" if result is None else f"  exact: {np.array_equal(np.asarray(result()), reference)}"
            print(f"threads {threads}  {name:45s} {1000 * median:7.2f} ms  {base / median:5.2f}x{exact}")


if __name__ == "__main__":
    main()
