"""The grading-reward contract (hfplug.feedback) that Murphy uses: unit_tests found by name, with grade()."""

from __future__ import annotations

from hfplug_code_exec import plugin
from hfplug_code_exec.rewards import unit_tests, unit_tests_all

from hfplug.feedback import GradedCompletion, GradingReward, grading_reward

STUB = 'def f(x):\n    """Double x.\n\n    >>> f(2)\n    4\n    """\n'
HIDDEN = "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(31) == 62\n"
PUBLIC = "def check(candidate):\n    assert candidate(2) == 4\n"


def columns(pool, n):
    return {"test": [HIDDEN] * n, "entry_point": ["f"] * n, "public_test": [PUBLIC] * n, "pool": pool}


def test_unit_tests_is_a_grading_reward_found_by_name(isolated_plugins):
    isolated_plugins.register(plugin, name="code_exec")
    assert grading_reward("unit_tests") is unit_tests and grading_reward("unit_tests_all") is unit_tests_all
    assert isinstance(unit_tests, GradingReward) and unit_tests.__name__ == "unit_tests"
    assert unit_tests_all.__name__ == "unit_tests_all"


def test_grade_scores_and_explains_from_public_tests_only(pool):
    completions = ["    return x * 2\n", "    return 4\n", "    return x + 1\n"]
    graded = unit_tests.grade([STUB] * 3, completions, **columns(pool, 3))
    assert all(isinstance(g, GradedCompletion) for g in graded)
    right, hard_coded, wrong = graded
    assert (right.reward, right.solved, right.public_passed) == (1.0, True, True)
    assert (hard_coded.reward, hard_coded.solved, hard_coded.public_passed) == (0.5, False, True)
    assert "31" not in hard_coded.feedback and "62" not in hard_coded.feedback  # the hidden test stays hidden
    assert (wrong.reward, wrong.solved, wrong.public_passed) == (0.0, False, False)
    assert "Input: 2" in wrong.feedback and "Expected: 4" in wrong.feedback and "Actual: 3" in wrong.feedback
    assert unit_tests_all.grade([STUB], ["    return 4\n"], **columns(pool, 1))[0].reward == 0.0
    assert unit_tests([STUB] * 3, completions, **columns(pool, 3)) == [g.reward for g in graded]
