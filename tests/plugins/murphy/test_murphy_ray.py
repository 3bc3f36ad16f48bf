"""Murphy with hfplug-code-exec's ``executor: ray``: one step on a 3-node Ray cluster on this machine (loopback only).

The grading reward is ``unit_tests`` with the config's option applied as ``reward_options: {unit_tests: {executor:
ray}}`` applies it; Murphy itself knows nothing of Ray. The policy is scripted (real programs), so the step with
the local pool and the step on Ray see the same completions and must grade them alike: rewards, solved flags,
feedback (and so the refinement prompts), trl's logged reward. Skipped only when Ray cannot start here.
"""

from __future__ import annotations

import pytest
from datasets import Dataset

from hfplug.config import with_reward_options
from hfplug.errors import HfplugError
from hfplug.feedback import grading_reward
from hfplug.testing.ray_cluster import loopback_ray_cluster

TEST = "def check(candidate):\n    assert candidate([3, 1, 2]) == 3\n    assert candidate([-5, -9]) == -5\n"
PUBLIC = "def check(candidate):\n    assert candidate([3, 1, 2]) == 3\n"
FIRST = [  # per sibling: one right, one half right (passes the public case only), one raising, one wrong
    "```python\ndef biggest(xs):\n    return max(xs)\n```",
    "```python\ndef biggest(xs):\n    return max(max(xs), 0)\n```",
    "```python\ndef biggest(xs):\n    return xs.max()\n```",
    "```python\ndef biggest(xs):\n    return min(xs)\n```",
]
REFINED = [
    "```python\ndef biggest(xs):\n    return sorted(xs)[-1]\n```",
    "```python\ndef biggest(xs):\n    return xs[0]\n```",
]


@pytest.fixture(scope="module")
def cluster():
    """A head and two worker nodes of one CPU each: a sandbox pool on each of the three."""
    with loopback_ray_cluster([None, None]) as started:
        yield started


def test_one_murphy_step_on_a_3_node_ray_cluster_grades_as_the_local_pool(cluster, make_trainer, scripted):
    from hfplug_code_exec.executors import shared_executor

    try:
        local = grading_reward("unit_tests")
    except HfplugError as error:
        pytest.skip(f"hfplug-code-exec's unit_tests is not installed here: {error}")
    on_ray = with_reward_options("unit_tests", local, {"executor": "ray"})  # what the config's reward_options does

    def script(text: str, k: int) -> str:
        return REFINED[k % 2] if scripted.refine_mark in text else FIRST[k]

    rows = Dataset.from_dict(
        {
            "prompt": [[{"role": "user", "content": "Write biggest(xs), the largest number of a list."}]],
            "test": [TEST],
            "public_test": [PUBLIC],
            "entry_point": ["biggest"],
        }
    )
    steps = {}
    for name, grader in (("local", local), ("ray", on_ray)):
        ray_jobs = shared_executor("ray").totals.jobs
        trainer, policy, _ = make_trainer(script, dataset=rows, grader=grader, per_device_train_batch_size=4)
        trainer.train()
        (tree,) = trainer.last_rollout
        nodes = [(n.depth, scripted.text(n.completion), n.reward, n.solved, n.feedback) for n in tree.nodes]
        log = trainer.state.log_history[0]
        steps[name] = {"nodes": nodes, "prompts": policy.prompts, "reward": log["reward"]}
        assert shared_executor("ray").totals.jobs - ray_jobs == (log["murphy/executions"] if name == "ray" else 0)
    assert steps["ray"] == steps["local"]
    by_program = {text: (reward, solved) for depth, text, reward, solved, _ in steps["ray"]["nodes"] if depth == 1}
    assert [by_program[program] for program in FIRST] == [(1.0, True), (0.5, False), (0.0, False), (0.0, False)]
    assert len(steps["ray"]["nodes"]) == 4 + 3 * 4  # three failures, each refined by four siblings
    assert any("AttributeError" in prompt for prompt in steps["ray"]["prompts"][1])  # the raising program's feedback
