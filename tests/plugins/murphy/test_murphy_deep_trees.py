"""Trees deeper than two turns and batch-wide scaling (issue 25): refinement prompts at depth 3,
InterP's tie-break, and ``scale_rewards: batch`` across refinement turns."""

from __future__ import annotations

import pytest
import torch
from hfplug_murphy.credit import assign_advantages, propagate_credit
from hfplug_murphy.pruning import credit_variance, prune


def attempts(scripted):
    """Turn 1: the first attempt fails, its siblings solve the task; every refinement fails. A failed
    attempt's text names its turn: 'attempt d<turn> k<sibling>'."""

    def script(text: str, k: int) -> str:
        if "attempt d2" in text:
            return f"attempt d3 k{k}"
        if scripted.refine_mark in text:
            return f"attempt d2 k{k}"
        return "attempt d1 k0" if k == 0 else scripted.answer_for(text)

    return script


def feedback_on(code: str) -> str:
    return f"got {code!r}"


@pytest.mark.parametrize("context", ["last", "full"])
def test_a_turn_three_prompt_holds_its_own_chain(make_trainer, scripted, context):
    # Three groups per task: turn 1, the refinement of its one failure, then (node budget 12) one of its children.
    trainer, policy, _ = make_trainer(attempts(scripted), max_turns=3, max_tree_nodes=12, refinement_context=context)
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    trainer._generate_and_score_completions(scripted.inputs(scripted.rows(), 4))
    assert len(policy.prompts) == 3
    for tree in trainer.last_rollout:
        assert [g.depth for g in tree.groups] == [1, 2, 3]
        deepest = tree.members(tree.groups[2])
        parent = tree.nodes[tree.groups[2].parent]
        assert scripted.text(parent.completion) == "attempt d2 k0" and parent.depth == 2
        prompt = deepest[0].prompt
        assert all(node.prompt == prompt for node in deepest)
        task = tree.task_prompt
        said = [(m["role"], m["content"]) for m in prompt[len(task) :]]
        chain = ["attempt d1 k0", "attempt d2 k0"] if context == "full" else ["attempt d2 k0"]
        assert prompt[: len(task)] == task
        assert [role for role, _ in said] == ["assistant", "user"] * len(chain)
        for (_, code), (_, message), expected in zip(said[::2], said[1::2], chain, strict=True):
            assert code == expected and feedback_on(expected) in message
        everything = " ".join(content for _, content in said)
        for other in (tree.columns["answer"], "attempt d2 k1", "attempt d3"):
            assert other not in everything  # no sibling's code, nothing from later turns
        if context == "last":
            assert "attempt d1" not in everything  # the grandparent's attempt is not shown
        text = trainer.processing_class.decode(deepest[0].prompt_ids)
        assert text in policy.prompts[2] and "attempt d2 k0" in text


def test_inter_prune_breaks_ties_by_earlier_turn_then_earlier_group(trees):
    # Node 0 fails (0.0) but its refinement passes: credit 1. Turn-1 credits [1, 0] and its refinement
    # group [1, 0] have the same variance; the earlier turn is kept.
    tree = trees.tree_from([(0.0, [1.0, 0.0]), 0.0], group_size=2)
    propagate_credit(tree, "max")
    assign_advantages([tree], "group")
    assert credit_variance(tree, tree.groups[0]) == credit_variance(tree, tree.groups[1]) > 0
    prune(tree, groups=1, per_group=None)
    assert [g.kept for g in tree.groups] == [True, False]
    # Two refinement groups of equal variance beside a constant turn 1: the earlier group is kept.
    tree = trees.tree_from([(0.0, [1.0, 0.0]), (0.0, [0.0, 1.0])], group_size=2)
    propagate_credit(tree, "max")
    assert credit_variance(tree, tree.groups[1]) == credit_variance(tree, tree.groups[2]) > 0
    prune(tree, groups=1, per_group=None)
    assert [g.kept for g in tree.groups] == [False, True, False]


def test_batch_scaling_divides_every_turn_by_the_std_of_all_graded_nodes(make_trainer, scripted):
    def script(text: str, k: int) -> str:
        if scripted.refine_mark in text:
            return scripted.answer_for(text) if k == 0 else ("half again" if k == 1 else f"still wrong {k}")
        return [scripted.answer_for(text), "half try", "wrong k2", "INFRA"][k]

    trainer, _, _ = make_trainer(script, scale_rewards="batch")
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    rows = trainer._generate_and_score_completions(scripted.inputs(scripted.rows(), 4))
    graded = [n for t in trainer.last_rollout for n in t.nodes if n.credit is not None]
    assert {n.depth for n in graded} == {1, 2} and len(graded) == 2 * (3 + 2 * 4)
    batch_std = torch.tensor([n.credit for n in graded]).std()  # over both tasks and both turns
    for tree in trainer.last_rollout:
        for group in tree.groups:
            members = [n for n in tree.members(group) if n.credit is not None]
            mean = sum(n.credit for n in members) / len(members)
            for node in members:
                assert node.advantage == pytest.approx((node.credit - mean) / (batch_std.item() + 1e-4), abs=1e-5)
    trained = sorted(n.advantage for t in trainer.last_rollout for n in t.nodes if n.trainable)
    assert sorted(rows["advantages"].tolist()) == pytest.approx(trained)
    assert len({round(a, 6) for a in trained}) > 2  # several distinct advantages: not a degenerate batch
