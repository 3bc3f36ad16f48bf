"""GM Matching beyond one machine's memory: selection over int8 embeddings on disk, with its time and peak memory.

Writes ``--rows`` x ``--dim`` embedding-like int8 rows to an ``.npy`` file (seeded, in chunks through a memmap;
a shared direction, a low-rank structure and noise, like int8-quantised sentence embeddings), then runs cosine GM
Matching on ``np.load(path, mmap_mode="r")`` in a child process, whose high-water mark of resident memory
(``VmHWM``, the same as ``/usr/bin/time -v``'s maximum resident set size) is its own. Where a float32 copy fits
in memory (``--baseline auto``: at most a quarter of the machine's RAM), the same selection on the in-memory
float32 matrix runs too, in its own child, as the baseline: time and peak ratios, and whether the picks are
identical. ``--processes 2`` also runs the batched variant with ``distributed=True`` under torchrun (gloo) and
checks its picks against one process.

    nice -n 10 python benchmarks/gm_matching_scale.py --rows 1000000
    nice -n 10 python benchmarks/gm_matching_scale.py --rows 10000000 --baseline off --folder /tmp
    python benchmarks/gm_matching_scale.py --rows 20000 --picks 50      # a pipeline check

The data file is deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

CHUNK_ROWS = 100_000
SCALE = 60.0  # int8 units per embedding unit: entries have a std of about 16, the largest stay inside +-127
NOISE = 6  # independent integer noise in [-NOISE, NOISE] per entry


def write_int8(path: Path, rows: int, dim: int, seed: int) -> float:
    """Embedding-like int8 rows (cosine to the mean direction 0.03-0.46, 0.23 on average): a shared direction +
    a 32-dim low-rank part, scaled to int8 and rounded, + integer noise. Chunk ``c`` is drawn from
    ``default_rng([seed, c])``; written through a memmap, a chunk at a time. Returns seconds taken."""
    started = time.perf_counter()
    rng = np.random.default_rng([seed, 2**32 - 1])
    shared = rng.standard_normal(dim).astype(np.float32) * np.float32(0.06 * SCALE)
    basis = rng.standard_normal((32, dim)).astype(np.float32) * np.float32(0.9 * SCALE / np.sqrt(dim))
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.int8, shape=(rows, dim))
    for chunk, start in enumerate(range(0, rows, CHUNK_ROWS)):
        count = min(CHUNK_ROWS, rows - start)
        chunk_rng = np.random.default_rng([seed, chunk])
        block = chunk_rng.standard_normal((count, 32), dtype=np.float32) @ basis
        block += shared
        np.rint(block, out=block)
        block += chunk_rng.integers(-NOISE, NOISE + 1, size=(count, dim), dtype=np.int8)
        out[start : start + count] = np.clip(block, -127, 127, out=block)
    out.flush()
    del out
    return time.perf_counter() - started


CHILD = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    from hfplug_gm_matching import select

    def high_water_gb():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 2**20

    path, mode, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    k = options.pop("k")
    select(np.zeros((50, 8), dtype=np.int8) + np.arange(8, dtype=np.int8), 5, engine="int8")  # JIT, imports
    data = np.load(path, mmap_mode="r")
    if mode == "memory":
        data = np.load(path).astype(np.float32)  # the in-memory baseline: the float32 matrix in RAM
    before = high_water_gb()
    started = time.perf_counter()
    picks = select(data, k, **options)
    seconds = time.perf_counter() - started
    np.save(path + f".{mode}.picks.npy", picks)
    print(json.dumps({"mode": mode, "select_s": seconds, "peak_gb": high_water_gb(), "peak_before_select_gb": before}))
    """
)

DISTRIBUTED = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import torch
    from hfplug_gm_matching import select

    def high_water_gb():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 2**20

    path, options = sys.argv[1], json.loads(sys.argv[2])
    k = options.pop("k")
    torch.distributed.init_process_group("gloo")
    rank = torch.distributed.get_rank()
    started = time.perf_counter()
    picks = select(np.load(path, mmap_mode="r"), k, distributed=True, **options)
    seconds = time.perf_counter() - started
    if rank == 0:
        np.save(path + ".distributed.picks.npy", picks)
    print("RESULT", json.dumps({"rank": rank, "select_s": seconds, "peak_gb": high_water_gb()}), flush=True)
    torch.distributed.destroy_process_group()
    """
)


def run_child(path: Path, mode: str, options: dict) -> dict:
    # stderr passes through: the herding progress bar shows how far a long run is.
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), mode, json.dumps(options)], stdout=subprocess.PIPE)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} run failed (its error is above)")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_distributed(path: Path, processes: int, options: dict) -> list[dict]:
    script = path.with_suffix(".distributed.py")
    script.write_text(DISTRIBUTED)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes)]
    done = subprocess.run([*command, str(script), str(path), json.dumps(options)], capture_output=True, text=True)
    script.unlink()
    if done.returncode != 0:
        raise RuntimeError(f"distributed run failed:\n{done.stderr[-3000:]}")
    lines = [line.split("RESULT ", 1)[1] for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    return sorted((json.loads(line) for line in lines), key=lambda result: result["rank"])


def machine_memory_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--picks", type=int, default=1000)
    parser.add_argument("--gm-subsample", type=float, default=None, help="gamma: the median of a random share")
    parser.add_argument("--batches", type=int, default=1)
    parser.add_argument("--baseline", choices=("auto", "on", "off"), default="auto")
    parser.add_argument("--processes", type=int, default=0, help="also run the batched variant on this many")
    parser.add_argument("--folder", default=tempfile.gettempdir())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    path = Path(args.folder) / f"gm_scale_{args.rows}x{args.dim}.npy"
    options = {"k": args.picks, "selector": "gm_matching", "metric": "cosine", "gm_subsample": args.gm_subsample}
    options |= {"batches": args.batches, "progress": True}
    float32_gb = args.rows * args.dim * 4 / 2**30
    report = {"rows": args.rows, "dim": args.dim, "int8_file_gb": args.rows * args.dim / 2**30}
    report |= {"float32_copy_gb": float32_gb, "options": options, "machine_gb": machine_memory_gb()}
    try:
        report["write_s"] = write_int8(path, args.rows, args.dim, args.seed)
        report["streamed"] = run_child(path, "streamed", dict(options))
        print(json.dumps(report, indent=1), flush=True)
        baseline = args.baseline == "on" or (args.baseline == "auto" and float32_gb <= machine_memory_gb() / 4)
        if baseline:
            report["in_memory"] = run_child(path, "memory", dict(options))
            streamed, memory = report["streamed"], report["in_memory"]
            report["time_ratio_streamed_to_memory"] = streamed["select_s"] / memory["select_s"]
            report["peak_ratio_streamed_to_memory"] = streamed["peak_gb"] / memory["peak_gb"]
            picks = [np.load(f"{path}.{mode}.picks.npy") for mode in ("streamed", "memory")]
            report["identical_picks"] = bool(np.array_equal(*picks))
        else:
            report["in_memory"] = f"not run: its float32 matrix alone is {float32_gb:.1f} GB"
        if args.processes > 1:
            report["distributed"] = run_distributed(path, args.processes, dict(options))
            picks = [np.load(f"{path}.{mode}.picks.npy") for mode in ("streamed", "distributed")]
            report["distributed_identical_to_one_process"] = bool(np.array_equal(*picks))
    finally:
        if not args.keep:
            for leftover in Path(args.folder).glob(f"{path.name}*"):
                leftover.unlink()
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
