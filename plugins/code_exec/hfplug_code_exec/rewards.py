"""Reward functions ``unit_tests`` and ``unit_tests_all`` with trl's ``reward_funcs`` signature.

Both are :class:`UnitTestsReward` objects: callable like any trl reward function (they have a
``__name__``), and they also offer ``grade(prompts, completions, **columns)``, which returns an
:class:`hfplug.feedback.GradedCompletion` per completion (score, solved, feedback from public
tests, whether the public tests passed). A multi-turn trainer finds them by name with
``hfplug.feedback.grading_reward("unit_tests")`` and never imports this plugin.

An infrastructure failure gives ``None``, which trl treats as "no reward" for that sample, never
as a score.
"""

from __future__ import annotations

from typing import Any

from hfplug.feedback import GradedCompletion
from hfplug_code_exec.formats import jobs_for
from hfplug_code_exec.pool import ExecutorPool, shared_pool
from hfplug_code_exec.results import ExecutionResult


def execute(
    prompts: list[Any], completions: list[Any], pool: ExecutorPool | None = None, **columns: Any
) -> list[ExecutionResult]:
    """Run every completion against its row's tests (in parallel over the pool).

    ``columns`` are the dataset columns trl passes (see :mod:`hfplug_code_exec.formats`), plus the
    options ``test_format`` (force one format) and ``strict_types``.
    """
    return (pool or shared_pool()).run_many(jobs_for(prompts, completions, **columns))


class UnitTestsReward:
    """A trl reward function that runs completions against the row's unit tests in the sandbox pool.

    ``all_or_nothing``: 1.0 only when every hidden test passes (else the fraction passed).
    ``strict_types``: ``True`` (default for training) compares with identical types (``True`` is not
    ``1``, ``2.0`` not ``2``); ``False`` uses Python's ``==`` on plain values, as the reference harnesses.
    ``test_format``: force one format for every row (default: detected per row from its columns).
    """

    def __init__(
        self, name: str, *, all_or_nothing: bool = False, strict_types: bool = True, test_format: str | None = None
    ) -> None:
        self.__name__ = name
        self.all_or_nothing = all_or_nothing
        self.strict_types = strict_types
        self.test_format = test_format

    def __repr__(self) -> str:
        return f"UnitTestsReward({self.__name__!r}, {self._options()})"

    def _options(self) -> dict[str, Any]:
        return {
            "all_or_nothing": self.all_or_nothing,
            "strict_types": self.strict_types,
            "test_format": self.test_format,
        }

    def with_options(self, **options: Any) -> UnitTestsReward:
        """A copy with other options, e.g. ``unit_tests.with_options(strict_types=False, test_format="mbpp")``."""
        name = options.pop("name", self.__name__)
        return UnitTestsReward(name, **{**self._options(), **options})

    def score(self, result: ExecutionResult) -> float | None:
        """The reward of one result (None for an infrastructure failure)."""
        if result.status == "infrastructure_error":
            return None
        return float(result.all_passed) if self.all_or_nothing else result.pass_fraction

    def __call__(self, prompts: list[Any], completions: list[Any], **columns: Any) -> list[float | None]:
        """trl's reward function: one score per completion."""
        return [self.score(r) for r in self._execute(prompts, completions, columns)]

    def grade(self, prompts: list[Any], completions: list[Any], **columns: Any) -> list[GradedCompletion]:
        """Score, solved flag and public-only feedback for each completion (see :mod:`hfplug.feedback`)."""
        graded = []
        for result in self._execute(prompts, completions, columns):
            public = [t for t in result.tests if t.visibility == "public"]
            graded.append(
                GradedCompletion(
                    reward=self.score(result),
                    solved=result.all_passed,
                    feedback=result.feedback,
                    public_passed=all(t.passed for t in public) if public else None,
                )
            )
        return graded

    def _execute(self, prompts: list[Any], completions: list[Any], columns: dict[str, Any]) -> list[ExecutionResult]:
        columns = {"strict_types": self.strict_types, "test_format": self.test_format, **columns}
        return execute(list(prompts), list(completions), **columns)


unit_tests = UnitTestsReward("unit_tests")
unit_tests_all = UnitTestsReward("unit_tests_all", all_or_nothing=True)
