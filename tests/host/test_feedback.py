"""The grading-reward contract that multi-turn trainers rely on."""

import pytest

import hfplug
from hfplug.errors import HfplugError
from hfplug.feedback import GradedCompletion, GradingReward, grading_reward


class Plugin:
    @hfplug.hookimpl
    def hfplug_register(self, registry):
        registry.reward("scores_only", "tests.host.test_feedback:scores_only", summary="scores")
        registry.reward("graded", "tests.host.test_feedback:graded", summary="scores and feedback")


def scores_only(prompts, completions, **columns):
    return [1.0 for _ in completions]


class _Graded:
    __name__ = "graded"

    def __call__(self, prompts, completions, **columns):
        return [g.reward for g in self.grade(prompts, completions, **columns)]

    def grade(self, prompts, completions, **columns):
        return [GradedCompletion(reward=0.5, solved=False, feedback="1 of 2 public tests passed.") for _ in completions]


graded = _Graded()


def test_a_reward_with_grade_is_found_by_name_and_satisfies_the_protocol(isolated_plugins):
    isolated_plugins.register(Plugin(), name="feedback-test")
    reward = grading_reward("graded")
    assert isinstance(reward, GradingReward)
    assert reward(["p"], ["c"]) == [0.5]
    assert reward.grade(["p"], ["c"])[0].feedback.startswith("1 of 2")


def test_a_scores_only_reward_is_refused_with_its_name(isolated_plugins):
    isolated_plugins.register(Plugin(), name="feedback-test")
    with pytest.raises(HfplugError, match=r"'scores_only'.*grade"):
        grading_reward("scores_only")


def test_task_validator_finds_an_optional_validate_method():
    from hfplug.feedback import task_validator

    class Checking(_Graded):
        def validate(self, prompts, **columns):
            raise ValueError("row 0 has no tests")

    assert task_validator(graded) is None
    checker = Checking()
    with pytest.raises(ValueError, match="no tests"):
        task_validator(checker)(["p"], test=[None])
