"""The four test formats, graded through the reward: right passes, wrong, raising and exiting early fail."""

from __future__ import annotations

import json

import pytest
from hfplug_code_exec.formats import jobs_for
from hfplug_code_exec.rewards import unit_tests

from hfplug.errors import DatasetError

PROSE = "Write a Python function add(a, b) that returns the sum of a and b."
STDIO_PROSE = "Read two integers from one line of standard input and print their sum."

ROWS = {
    "humaneval": {
        "prompt": 'def add(a, b):\n    """Return the sum of a and b."""\n',
        "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(5, 5) == 10\n",
        "entry_point": "add",
    },
    "mbpp": {"prompt": PROSE, "test_list": ["assert add(1, 2) == 3", "assert add(5, 5) == 10"]},
    "pytest": {
        "prompt": PROSE,
        "test": (
            "import pytest\nfrom solution import add\n\n"
            "@pytest.mark.parametrize('a, b, expected', [(1, 2, 3), (5, 5, 10)])\n"
            "def test_add(a, b, expected):\n    assert add(a, b) == expected\n"
        ),
    },
    "stdio": {
        "prompt": STDIO_PROSE,
        "input_output": json.dumps({"inputs": ["1 2\n", "5 5\n"], "outputs": ["3\n", "10\n"]}),
    },
    "stdio fn_name": {
        "prompt": PROSE,
        "input_output": json.dumps({"fn_name": "add", "inputs": [[1, 2], [5, 5]], "outputs": [3, 10]}),
    },
}
FUNCTION = {
    "correct": "def add(a, b):\n    return a + b\n",
    "wrong value": "def add(a, b):\n    return a - b\n",
    "raising": "def add(a, b):\n    raise ValueError('no')\n",
    "early exit(0)": "import sys\ndef add(a, b):\n    sys.exit(0)\n",
    "os._exit(0) in the call": "import os\ndef add(a, b):\n    os._exit(0)\n",
}
STDIO = {
    "correct": "a, b = map(int, input().split())\nprint(a + b)\n",
    "wrong value": "a, b = map(int, input().split())\nprint(a - b)\n",
    "raising": "a, b = map(int, input().split())\nraise ValueError('no')\n",
    "early exit(0)": "import sys\nsys.exit(0)\na, b = map(int, input().split())\nprint(a + b)\n",
    "os._exit(0) in the call": "import os\nos._exit(0)\nprint(3)\n",
}


def grade(pool, row: dict, completions: list, **options) -> list:
    columns = {k: [v] * len(completions) for k, v in row.items() if k != "prompt"}
    return unit_tests.grade([row["prompt"]] * len(completions), completions, pool=pool, **columns, **options)


@pytest.mark.parametrize("fmt", sorted(ROWS))
def test_every_format_passes_right_and_fails_wrong_raising_and_exiting(pool, fmt):
    programs = STDIO if fmt == "stdio" else FUNCTION
    graded = grade(pool, ROWS[fmt], [f"```python\n{p}```" for p in programs.values()])
    by_name = dict(zip(programs, graded, strict=True))
    assert (by_name["correct"].reward, by_name["correct"].solved) == (1.0, True), by_name["correct"].feedback
    for name in set(programs) - {"correct"}:
        assert by_name[name].reward == 0.0 and not by_name[name].solved, (fmt, name, by_name[name])
        assert "All tests passed" not in by_name[name].feedback


def test_format_is_detected_from_columns_or_forced(pool):
    def kinds(**columns):
        return [j.test_format for j in jobs_for(["p"], ["c"], **{k: [v] for k, v in columns.items()})]

    assert kinds(test=ROWS["humaneval"]["test"], entry_point="add") == ["humaneval"]
    assert kinds(test_list=["assert add(1, 2) == 3"]) == ["mbpp"]
    assert kinds(test=ROWS["pytest"]["test"]) == ["pytest"]
    assert kinds(input_output=ROWS["stdio"]["input_output"]) == ["stdio"]
    assert kinds(test=ROWS["pytest"]["test"], test_format="pytest") == ["pytest"]
    with pytest.raises(DatasetError, match="test_format"):
        kinds(test=ROWS["pytest"]["test"], test_format="junit")
    forced = unit_tests.with_options(test_format="mbpp")
    row = ROWS["mbpp"]
    assert forced([row["prompt"]], [FUNCTION["correct"]], pool=pool, test_list=[row["test_list"]]) == [1.0]


CHECK_SHAPES = {
    "setup then assert": "    result = candidate(5, 5)\n    assert result == 10\n",
    "helper asserts": (
        "    def _check(a, b, expected):\n        assert candidate(a, b) == expected\n"
        "    _check(1, 2, 3)\n    _check(5, 5, 10)\n"
    ),
    "module-level helper": None,
    "loop of cases": "    for a, b, expected in [(1, 2, 3), (5, 5, 10)]:\n        assert candidate(a, b) == expected\n",
    "assert with message": (
        "    expected = 10\n    result = candidate(5, 5)\n    assert result == expected, f'got {result}'\n"
    ),
}
MODULE_HELPER = (
    "def _expect(f, a, b, expected):\n    assert f(a, b) == expected, 'wrong'\n\n"
    "def check(candidate):\n    _expect(candidate, 1, 2, 3)\n    _expect(candidate, 5, 5, 10)\n"
)


@pytest.mark.parametrize("shape", sorted(CHECK_SHAPES))
def test_every_check_shape_grades_both_ways(pool, shape):
    body = CHECK_SHAPES[shape]
    test = MODULE_HELPER if body is None else "def check(candidate):\n" + body
    row = {"prompt": "def add(a, b):\n", "test": test, "entry_point": "add"}
    right, wrong, raising, half = grade(
        pool,
        row,
        [
            FUNCTION["correct"],
            FUNCTION["wrong value"],
            FUNCTION["raising"],
            "def add(a, b):\n    return 3 if a == 1 else 0\n",
        ],
    )
    assert right.reward == 1.0, right.feedback
    assert wrong.reward == 0.0 and raising.reward == 0.0, (wrong, raising)
    assert not half.solved and half.reward < 1.0


def test_a_failing_setup_statement_fails_its_test_not_the_others(pool):
    test = (
        "def check(candidate):\n"
        "    first = candidate(1, 2)\n    assert first == 3\n"
        "    second = candidate(5, 5)\n    assert second == 10\n"
    )
    row = {"prompt": "def add(a, b):\n", "test": test, "entry_point": "add"}
    (graded,) = grade(pool, row, ["def add(a, b):\n    if a == 5:\n        raise KeyError(a)\n    return a + b\n"])
    assert graded.reward == 0.5


PROMPTS = {
    "prose": PROSE,
    "chat": [{"role": "user", "content": PROSE}],
    "bodiless stub": "from typing import Any\n\ndef add(a, b):\n",
    "docstring stub": (
        'def add(a: int, b: int) -> int:\n    """Return the sum of a and b.\n\n    >>> add(1, 2)\n    3\n    """\n'
    ),
}
COMPLETIONS = {
    "body only": "    return a + b\n",
    "whole function": "def add(a, b):\n    return a + b\n",
    "fenced with explanation": "Here is the function:\n\n```python\ndef add(a, b):\n    return a + b\n```\n\nIt adds.",
    "chat message": [{"role": "assistant", "content": "```python\ndef add(a, b):\n    return a + b\n```"}],
    "unfenced after prose": "Sure! Here it is:\ndef add(a, b):\n    return a + b\nThat is all.",
}


@pytest.mark.parametrize("prompt", sorted(PROMPTS))
def test_prompts_and_completions_assemble_into_programs_that_grade(pool, prompt):
    row = {"prompt": PROMPTS[prompt], "test": ROWS["humaneval"]["test"], "entry_point": "add"}
    graded = dict(zip(COMPLETIONS, grade(pool, row, list(COMPLETIONS.values())), strict=True))
    for name, result in graded.items():
        if name == "body only" and prompt in ("prose", "chat"):
            # A body needs a stub to continue: with prose there is no function to grade.
            assert result.reward == 0.0 and "SyntaxError: 'return' outside function" in result.feedback
        else:
            assert result.reward == 1.0, (prompt, name, result.feedback)
    assert grade(pool, row, ["def add(a, b):\n    return a - b\n"])[0].reward == 0.0


def test_a_prompt_and_a_test_that_write_on_the_host_leave_no_file(pool, tmp_path):
    from_prompt, from_test = tmp_path / "from_prompt.txt", tmp_path / "from_test.txt"
    # The stub is also the start of the program: it writes only where the folder exists (the judge, if it
    # could see the host), so that the program still loads in its own sandbox and the tests run.
    prompt = (
        f"import os\n_ = os.path.isdir({str(tmp_path)!r}) and open({str(from_prompt)!r}, 'w').write('x')\n\n"
        "def add(a, b):\n"
    )
    test = (
        "def check(candidate):\n    try:\n"
        f"        open({str(from_test)!r}, 'w').write('x')\n"
        "    except OSError:\n        pass\n    assert candidate(1, 2) == 3\n"
    )
    (graded,) = grade(pool, {"prompt": prompt, "test": test, "entry_point": "add"}, [FUNCTION["correct"]])
    assert graded.reward == 1.0  # graded (the program loaded and the tests ran), not an infrastructure failure
    assert not from_prompt.exists() and not from_test.exists()
    assert list(tmp_path.iterdir()) == []


def test_malformed_input_output_is_an_error_naming_the_row(pool):
    good = ROWS["stdio"]["input_output"]
    for bad, message in (
        ("{not json", "not valid JSON"),
        (json.dumps({"inputs": ["1 2"], "outputs": []}), "1 inputs and 0 outputs"),
        (json.dumps(["1 2", "3"]), "lists"),
        (json.dumps({"inputs": [[1]], "outputs": [1], "fn_name": "1bad"}), "fn_name"),
    ):
        with pytest.raises(DatasetError, match=rf"row 1 \(task_id='t1'\).*{message}"):
            unit_tests(["p", "p"], ["c", "c"], input_output=[good, bad], task_id=["t0", "t1"], pool=pool)


def test_public_tests_never_include_hidden_ones_unless_the_dataset_says_so():
    stub = 'def add(a, b):\n    """Sum.\n\n    >>> add(1, 2)\n    3\n    """\n'
    hidden = "def check(candidate):\n    assert candidate(40, 2) == 42\n    assert candidate(7, 8) == 15\n"
    (he,) = jobs_for([stub], ["c"], test=[hidden], entry_point=["add"])
    assert he.public_test == "def check(candidate):\n    assert add(1, 2) == 3\n"  # the docstring only
    asserts = ["assert add(1, 2) == 3", "assert add(40, 2) == 42", "assert add(7, 8) == 15"]
    (mbpp,) = jobs_for([PROSE], ["c"], test_list=[asserts])
    assert mbpp.public_test == asserts[:1] and mbpp.test == asserts  # MBPP prompts show the first test case
    io = {"inputs": ["1 2", "40 2"], "outputs": ["3", "42"]}
    (stdio,) = jobs_for([PROSE], ["c"], input_output=[json.dumps(io)])
    assert stdio.public_test["inputs"] == ["1 2"] and "40 2" not in str(stdio.public_test)
    (own,) = jobs_for(
        [PROSE],
        ["c"],
        input_output=[json.dumps(io)],
        public_input_output=[json.dumps({"inputs": ["9 9"], "outputs": ["18"]})],
    )
    assert own.public_test["inputs"] == ["9 9"]
    (pytest_row,) = jobs_for([PROSE], ["c"], test=[ROWS["pytest"]["test"]])
    assert pytest_row.public_test is None  # nothing public unless the dataset has a public_test column


HIDDEN_MARKER = 987654321


@pytest.mark.parametrize("fmt", ["pytest", "stdio", "stdio fn_name", "mbpp"])
def test_feedback_never_shows_a_hidden_input_or_value(pool, fmt):
    rows = {
        "pytest": {
            "prompt": PROSE,
            "test": (
                "from solution import add\ndef test_big():\n"
                f"    assert add({HIDDEN_MARKER}, 1) == {HIDDEN_MARKER + 1}\n"
            ),
            "public_test": "from solution import add\ndef test_small():\n    assert add(1, 2) == 3\n",
        },
        "stdio": {
            "prompt": STDIO_PROSE,
            "input_output": json.dumps(
                {"inputs": ["1 2\n", f"{HIDDEN_MARKER} 1\n"], "outputs": ["3\n", f"{HIDDEN_MARKER + 1}\n"]}
            ),
        },
        "stdio fn_name": {
            "prompt": PROSE,
            "input_output": json.dumps(
                {"fn_name": "add", "inputs": [[1, 2], [HIDDEN_MARKER, 1]], "outputs": [3, HIDDEN_MARKER + 1]}
            ),
        },
        "mbpp": {
            "prompt": PROSE,
            "test_list": ["assert add(1, 2) == 3", f"assert add({HIDDEN_MARKER}, 1) == {HIDDEN_MARKER + 1}"],
        },
    }
    small_only = (
        "a, b = map(int, input().split())\nprint(3 if a == 1 else -5)\n"
        if fmt == "stdio"
        else "def add(a, b):\n    return 3 if a == 1 else -5\n"
    )
    (graded,) = grade(pool, rows[fmt], [small_only])
    assert graded.reward == (0.0 if fmt == "pytest" else 0.5) and graded.public_passed
    assert str(HIDDEN_MARKER)[:5] not in graded.feedback and "-5" not in graded.feedback
    assert "hidden test" in graded.feedback
