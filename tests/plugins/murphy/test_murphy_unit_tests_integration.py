"""Murphy with the real sandboxed ``unit_tests`` reward of hfplug-code-exec (found by name, not imported).

The policy is scripted (real Python programs), everything else is real: the reward runs each
program in the sandbox against hidden tests for the score and public tests for the feedback.
"""

from __future__ import annotations

import pytest
from datasets import Dataset

from hfplug.errors import HfplugError
from hfplug.feedback import grading_reward

HIDDEN = "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(4000, 242) == 4242\n"
PUBLIC = "def check(candidate):\n    assert candidate(1, 2) == 3\n"
PROGRAMS = {
    "right": "```python\ndef add(a, b):\n    return a + b\n```",
    "wrong": "```python\ndef add(a, b):\n    return a - b\n```",
    "raises": "```python\ndef add(a, b):\n    return a + c\n```",
    "hard_coded": "```python\ndef add(a, b):\n    return 3\n```",
}


@pytest.fixture
def unit_tests():
    try:
        return grading_reward("unit_tests")
    except HfplugError as error:  # hfplug-code-exec from before the code-rewards work: scores only
        pytest.skip(f"hfplug-code-exec's unit_tests has no grade() here: {error}")


def test_murphy_trains_on_sandboxed_unit_tests_with_public_feedback_only(make_trainer, scripted, unit_tests):
    def script(text, k):
        if scripted.refine_mark in text:
            return PROGRAMS["right"]
        return PROGRAMS[["right", "wrong", "raises", "hard_coded"][k]]

    rows = Dataset.from_dict(
        {
            "prompt": [[{"role": "user", "content": "Write a Python function add(a, b) that returns a + b."}]],
            "test": [HIDDEN],
            "public_test": [PUBLIC],
            "entry_point": ["add"],
        }
    )
    trainer, policy, _ = make_trainer(script, dataset=rows, grader=unit_tests, per_device_train_batch_size=4)
    trainer.train()
    (tree,) = trainer.last_rollout
    first = {scripted.text(n.completion): n for n in tree.nodes if n.depth == 1}
    assert first[PROGRAMS["right"]].reward == 1.0 and first[PROGRAMS["right"]].solved
    assert first[PROGRAMS["wrong"]].reward == 0.0 and first[PROGRAMS["raises"]].reward == 0.0
    assert first[PROGRAMS["hard_coded"]].reward == 0.5  # passes the public test, half the hidden ones
    assert all(n.credit == 1.0 for n in first.values())  # every failure was fixed by a refinement (MaRS)
    refinement_prompts = [p for p in policy.prompts[1]]
    assert len(refinement_prompts) == 3 * 4
    for prompt in refinement_prompts:
        assert "4242" not in prompt and "4000" not in prompt  # hidden tests never reach a prompt
    assert any("NameError" in p for p in refinement_prompts)  # the raising program's traceback
    log = trainer.state.log_history[0]
    assert log["murphy/tree_nodes"] == 4 + 3 * 4
    # unit_tests has no validate(), so the task was probed once (an empty answer) before generation.
    assert log["murphy/executions"] == log["murphy/tree_nodes"] + 1
