"""Write HumanEval as a GRPO training file in the format the unit_tests reward reads.

    python examples/code_exec/make_humaneval_jsonl.py outputs/humaneval.jsonl

Columns: prompt (the function stub), test (check(candidate)), entry_point, and public_test (the
docstring examples, used only for feedback). Training on HumanEval is for demonstration only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hfplug_code_exec.humaneval import load_problems, public_test_from_docstring


def main(path: str) -> None:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as handle:
        for problem in load_problems():
            row = {key: problem[key] for key in ("prompt", "test", "entry_point")}
            row["public_test"] = public_test_from_docstring(problem["prompt"], problem["entry_point"]) or ""
            handle.write(json.dumps(row) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "outputs/humaneval.jsonl")
