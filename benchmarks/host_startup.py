"""Host start-up and name resolution, measured against `import torch` in the same run.

    python benchmarks/host_startup.py [--repeats 7]

Prints the median wall time of `hfplug plugins` (every installed plugin discovered), of
`python -c "import torch"`, their ratio (goal <= 0.25), and the time per name lookup after
discovery (goal < 1 ms).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def wall_time(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def lookup_time(lookups: int) -> tuple[float, int]:
    import hfplug

    kinds = {kind: hfplug.names(kind) for kind in hfplug.KINDS}
    pairs = [(kind, name) for kind, names in kinds.items() for name in names]
    start = time.perf_counter()
    for index in range(lookups):
        hfplug.get(*pairs[index % len(pairs)])
    return (time.perf_counter() - start) / lookups, len(pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    hfplug_cli = shutil.which("hfplug", path=str(Path(sys.executable).parent)) or "hfplug"
    plugins_times, torch_times = [], []
    for _ in range(args.repeats):  # interleaved, so both see the same machine load
        plugins_times.append(wall_time([hfplug_cli, "plugins"]))
        torch_times.append(wall_time([sys.executable, "-c", "import torch"]))
    plugins_median, torch_median = statistics.median(plugins_times), statistics.median(torch_times)
    per_lookup, components = lookup_time(100_000)
    print(f"hfplug plugins:        {plugins_median * 1000:8.1f} ms (median of {args.repeats})")
    print(f"python -c import torch:{torch_median * 1000:8.1f} ms")
    print(f"ratio plugins/torch:   {plugins_median / torch_median:8.3f}  (goal <= 0.25)")
    print(f"name lookup:           {per_lookup * 1e6:8.2f} us per lookup over {components} components (goal < 1000 us)")


if __name__ == "__main__":
    main()
