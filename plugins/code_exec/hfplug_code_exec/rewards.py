"""Reward functions ``unit_tests`` and ``unit_tests_all`` with trl's ``reward_funcs`` signature.

Both are :class:`UnitTestsReward` objects: callable like any trl reward function (they have a
``__name__``), and they also offer ``grade(prompts, completions, **columns)``, which returns an
:class:`hfplug.feedback.GradedCompletion` per completion (score, solved, feedback from public
tests, whether the public tests passed), and ``validate(prompts, **columns)``, a parse-only check
that every row of a dataset can be graded. A multi-turn trainer finds them by name with
``hfplug.feedback.grading_reward("unit_tests")`` and never imports this plugin.

An infrastructure failure gives ``None``, which trl treats as "no reward" for that sample, never
as a score, and is counted in the log (logger ``hfplug_code_exec``).

Where programs run: the ``executor`` option, ``local`` (this machine's sandbox pool, the default) or
``ray`` (the sandbox pools of a Ray cluster, at ``address`` or ``RAY_ADDRESS``); see
:mod:`hfplug_code_exec.executors`.
"""

from __future__ import annotations

import logging
from typing import Any

from hfplug.feedback import GradedCompletion
from hfplug_code_exec.executors import chosen_executor, shared_executor
from hfplug_code_exec.formats import jobs_for
from hfplug_code_exec.pool import ExecutorPool
from hfplug_code_exec.results import ExecutionResult
from hfplug_code_exec.validation import validate_rows

logger = logging.getLogger("hfplug_code_exec")


def execute(
    prompts: list[Any],
    completions: list[Any],
    pool: ExecutorPool | None = None,
    *,
    executor: str | None = None,
    address: str | None = None,
    **columns: Any,
) -> list[ExecutionResult]:
    """Run every completion against its row's tests (in parallel over the pool, or ``executor``'s).

    ``columns`` are the dataset columns trl passes (see :mod:`hfplug_code_exec.formats`), plus the
    options ``test_format`` (force one format) and ``strict_types``.
    """
    runner = pool or shared_executor(executor, address)
    results = runner.run_many(jobs_for(prompts, completions, **columns))
    failures = sum(r.status == "infrastructure_error" for r in results)
    if failures:
        logger.warning(
            "%d of %d programs could not be run (infrastructure failure): reward None, not scored",
            failures,
            len(results),
        )
    return results


class UnitTestsReward:
    """A trl reward function that runs completions against the row's unit tests in the sandbox pool.

    ``all_or_nothing``: 1.0 only when every hidden test passes (else the fraction passed).
    ``strict_types``: ``True`` (default for training) compares with identical types (``True`` is not
    ``1``, ``2.0`` not ``2``); ``False`` uses Python's ``==`` on plain values, as the reference harnesses.
    ``test_format``: force one format for every row (default: detected per row from its columns).
    ``executor``: ``local`` or ``ray`` (default: ``HFPLUG_CODE_EXEC_EXECUTOR``, else ``local``); ``address``:
    the Ray cluster's (default: ``RAY_ADDRESS``, as ``ray.init()``).
    """

    def __init__(
        self,
        name: str,
        *,
        all_or_nothing: bool = False,
        strict_types: bool = True,
        test_format: str | None = None,
        executor: str | None = None,
        address: str | None = None,
    ) -> None:
        if executor is not None:
            chosen_executor(executor)  # an unknown name fails here, not at the first reward
        self.__name__ = name
        self.all_or_nothing = all_or_nothing
        self.strict_types = strict_types
        self.test_format = test_format
        self.executor = executor
        self.address = address

    def __repr__(self) -> str:
        return f"UnitTestsReward({self.__name__!r}, {self._options()})"

    def _options(self) -> dict[str, Any]:
        return {
            "all_or_nothing": self.all_or_nothing,
            "strict_types": self.strict_types,
            "test_format": self.test_format,
            "executor": self.executor,
            "address": self.address,
        }

    def with_options(self, **options: Any) -> UnitTestsReward:
        """A copy with other options, e.g. ``unit_tests.with_options(strict_types=False, executor="ray")``."""
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

    def validate(self, prompts: list[Any], **columns: Any) -> None:
        """Check that every row can be graded, by parsing only (nothing from the dataset runs here).

        Raises :class:`hfplug.errors.DatasetError` naming the first row without tests, with a test
        format that cannot be detected, or with tests that do not parse or define nothing to run
        (see :mod:`hfplug_code_exec.validation`). Trainers call it on the training set before
        generating (see :mod:`hfplug.feedback`).
        """
        validate_rows(list(prompts), **{"test_format": self.test_format, **columns})

    def _execute(self, prompts: list[Any], completions: list[Any], columns: dict[str, Any]) -> list[ExecutionResult]:
        columns = {"strict_types": self.strict_types, "test_format": self.test_format, **columns}
        return execute(list(prompts), list(completions), executor=self.executor, address=self.address, **columns)


unit_tests = UnitTestsReward("unit_tests")
unit_tests_all = UnitTestsReward("unit_tests_all", all_or_nothing=True)
