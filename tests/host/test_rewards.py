"""The built-in gsm8k_answer reward: trl's reward_funcs signature, the answer column by name, None when a row
has no answer."""

import pytest

import hfplug
from hfplug.rewards import final_number, gsm8k_answer


def test_final_number_prefers_the_marked_answer_then_the_last_number():
    assert final_number("3 + 4 = 7 apples, and 2 more\n#### 9") == 9
    assert final_number("She has 12, then 30, so 42 in total.") == 42
    assert final_number("#### 1,430") == 1430 and final_number("#### -3.5") == -3.5
    assert final_number("no digits here") is None


def test_gsm8k_answer_scores_each_completion_against_its_row():
    completions = ["so #### 18", "I think 5 then 6", [{"role": "assistant", "content": "#### 40"}], "#### 7"]
    rewards = gsm8k_answer(["p"] * 4, completions, answer=["18", "5", "40", "1,430"])
    assert rewards == [1.0, 0.0, 1.0, 0.0]


def test_rows_without_an_answer_are_left_out_not_scored_zero():
    assert gsm8k_answer(["p", "p"], ["#### 1", "#### 2"], answer=["1", None]) == [1.0, None]
    assert gsm8k_answer(["p"], ["#### 1"]) == [None]  # a dataset with no answer column
    with pytest.raises(ValueError):
        gsm8k_answer(["p", "p"], ["#### 1", "#### 2"], answer=["1"])  # misaligned columns are a bug, not a 0


def test_it_is_registered_by_name():
    assert hfplug.load("reward", "gsm8k_answer") is gsm8k_answer
