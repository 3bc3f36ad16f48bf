"""Rewards that also explain themselves: the contract between code-execution rewards and
multi-turn trainers.

A multi-turn trainer (Murphy) re-prompts the model with what went wrong in its previous attempt.
It needs, per completion, the score it trains on and a text the model may read. A reward plugin
offers both by giving its reward callable a ``grade`` method; the trainer finds that reward by
name (``grading_reward("unit_tests")``), so neither plugin imports the other.

Two rules every implementation keeps:

* ``feedback`` is built from what the model may see (public tests, its own output); never from
  hidden tests' inputs, expected values or messages, so the model cannot copy answers from it.
* ``reward is None`` means the grader itself failed (sandbox, worker): the sample is neither
  scored, expanded nor trained on.

A grading reward may also offer ``validate(prompts, **columns)``: raise (naming the row and what
is wrong) for a task it could never grade (no tests, a test format it cannot run), by parsing
only, nothing executed. Trainers call it on the training data before generating anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from hfplug.errors import HfplugError


@dataclass(frozen=True)
class GradedCompletion:
    """One completion's grade: the training score and the feedback the model may read."""

    reward: float | None
    """Score in [0, 1] from the hidden tests; ``None`` when grading failed for reasons outside the program."""
    solved: bool
    """True when the completion passed every hidden test."""
    feedback: str
    """What went wrong, from public information only (empty when nothing is worth saying)."""
    public_passed: bool | None = None
    """Whether every public test passed (``None`` when the row has no public tests)."""


@runtime_checkable
class GradingReward(Protocol):
    """A trl reward function (``f(prompts, completions, **columns) -> list[float | None]``) that can
    also return a :class:`GradedCompletion` per completion."""

    __name__: str

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[float | None]: ...

    def grade(self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[GradedCompletion]: ...


def task_validator(reward: Any) -> Any:
    """The reward's optional ``validate(prompts, **columns)`` (see the module docstring), or None."""
    validate = getattr(reward, "validate", None)
    return validate if callable(validate) else None


def grading_reward(name: str) -> GradingReward:
    """The registered reward ``name``, checked to offer :meth:`GradingReward.grade`.

    Raises :class:`HfplugError` naming the reward when it only returns scores.
    """
    import hfplug

    reward = hfplug.load("reward", name)
    if not callable(getattr(reward, "grade", None)):
        component = hfplug.get("reward", name)
        raise HfplugError(
            f"reward {name!r} (from {component.distribution or component.plugin}) returns scores only; a "
            "multi-turn trainer needs a reward with a grade() method that also returns feedback "
            "(see hfplug.feedback.GradingReward), e.g. unit_tests from hfplug-code-exec."
        )
    return reward
