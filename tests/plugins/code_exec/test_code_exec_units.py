"""Pure functions (no sandbox): output comparison, program assembly, prompt helpers."""

from __future__ import annotations

import pytest
from hfplug_code_exec.assemble import build_program, code_stub
from hfplug_code_exec.formats import docstring_examples, prompt_helpers
from hfplug_code_exec.sandbox.compare import call_result_matches, outputs_match, reference_equal, strict_equal


def test_stdout_comparison_ignores_whitespace_and_allows_float_tolerance():
    assert outputs_match("3\n", "3")
    assert outputs_match("1 2\r\n3  \n\n", "1 2\n3")
    assert outputs_match("0.5000001\n", "0.5")
    assert outputs_match("3.0", "3")
    assert not outputs_match("0.51", "0.5")
    assert not outputs_match("3", "3\n4")
    assert not outputs_match("yes", "YES")
    assert not outputs_match("", "0")


def test_call_based_results_unwrap_a_one_element_list_and_treat_tuples_as_lists():
    assert call_result_matches(3, [3], strict=False) and call_result_matches(3, 3, strict=False)
    assert call_result_matches((1, 2), [1, 2], strict=False)
    assert call_result_matches([(1, 2)], [[1, 2]], strict=True)
    assert call_result_matches(0.30000000000000004, 0.3, strict=False)
    assert not call_result_matches(4, [3], strict=False)
    assert not call_result_matches(True, 1, strict=True) and call_result_matches(True, 1, strict=False)
    nan = float("nan")
    assert call_result_matches(nan, nan, strict=False) and call_result_matches([nan], [nan], strict=False)
    assert not call_result_matches(1.0, nan, strict=False) and not call_result_matches(nan, 1.0, strict=False)
    assert call_result_matches(1e-6, 0.0, strict=False)  # exactly at the absolute tolerance
    assert not call_result_matches(2e-6, 0.0, strict=False)


def test_equalities():
    assert strict_equal([1, (2, "a")], [1, (2, "a")]) and not strict_equal(1, 1.0) and not strict_equal(True, 1)
    assert reference_equal(1, 1.0) and reference_equal(True, 1)
    assert strict_equal(0.1 + 0.2, pytest.approx(0.3)) and not strict_equal(0.31, pytest.approx(0.3))
    assert strict_equal([1.0, 2.0000000001], pytest.approx([1.0, 2.0]))


@pytest.mark.parametrize(
    ("prompt", "is_stub"),
    [
        ("def add(a, b):\n", True),
        ('def add(a, b):\n    """Sum."""\n', True),
        ("class Solution:\n    def two_sum(self, nums):\n", True),
        ("Write a Python function add(a, b) that returns the sum.", False),
        ("import math\nx = 1\n", False),
        ([{"role": "user", "content": "def add(a, b):\n"}], False),
        ("", False),
    ],
)
def test_only_python_stubs_count_as_code_prompts(prompt, is_stub):
    assert (code_stub(prompt) is not None) == is_stub


def test_a_whole_function_replaces_the_stub_and_keeps_its_imports_and_helpers():
    stub = "import math\n\ndef helper(x):\n    return x\n\n@decorator\ndef add(a, b):\n    '''Doc.'''\n"
    program = build_program(stub, "def add(a, b):\n    return helper(a) + b\n", "add")
    assert program.count("def add") == 1 and "@decorator" not in program
    assert program.startswith("import math\n\ndef helper(x):")
    assert build_program("def add(a, b):\n", "return a + b", "add") == "def add(a, b):\n    return a + b"


def test_prompt_helpers_keep_complete_functions_and_imports_only():
    prompt = "import math\nOFFSET = 2\n\ndef encode(s):\n    return s[::-1]\n\nprint('side effect')\n\ndef decode(s):\n"
    helpers = prompt_helpers(prompt, "decode")
    assert "import math" in helpers and "OFFSET = 2" in helpers and "def encode" in helpers
    assert "print" not in helpers and "def decode" not in helpers
    assert prompt_helpers("Write decode(s).", "decode") == ""


def test_docstring_examples_become_a_public_check():
    prompt = 'def f(x):\n    """Double.\n    >>> f(2)\n    4\n    >>> f(3)  # not literal\n    six\n    """\n'
    assert docstring_examples(prompt, "f") == "def check(candidate):\n    assert f(2) == 4\n"
    assert docstring_examples('def f(x):\n    """No examples."""\n', "f") is None
