"""Properties 4, 5, 6 and the None rule, on a real MurphyTrainer with a scripted policy.

Turn 1 (per task, G=4): the right answer, a half-credit attempt, a wrong one, an infrastructure
failure. Refinements: the first child fixes the program, the others stay wrong.
"""

from __future__ import annotations

import pytest
import torch


def script_for(scripted):
    def script(text: str, k: int) -> str:
        if scripted.refine_mark in text:
            return scripted.answer_for(text) if k == 0 else f"still wrong {k}"
        return [scripted.answer_for(text), "half try", "wrong k2", "INFRA"][k]

    return script


def rollout(make_trainer, scripted, **config):
    trainer, policy, grader = make_trainer(script_for(scripted), **config)
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    rows = trainer._generate_and_score_completions(scripted.inputs(scripted.rows(), 4))
    trainer.grader_seen = grader.prompts
    return trainer, policy, rows


def decoded_completions(trainer, rows):
    texts = []
    for ids, mask in zip(rows["completion_ids"], rows["completion_mask"], strict=True):
        texts.append(trainer.processing_class.decode(ids[mask.bool()], skip_special_tokens=True))
    return texts


def test_only_failed_graded_nodes_are_expanded(make_trainer, scripted):
    trainer, _, _ = rollout(make_trainer, scripted, max_turns=3)
    for tree in trainer.last_rollout:
        for node in tree.nodes:
            expanded = node.child_group is not None
            if node.solved or node.reward is None or node.depth == 3:
                assert not expanded, (node.completion, node.depth)
            else:
                assert expanded, (node.completion, node.depth)
        assert max(n.depth for n in tree.nodes) == 3
        # turn 1: 2 failures x 4 children; turn 2: each group has 3 failures x 4 children
        assert len(tree.nodes) == 4 + 2 * 4 + 2 * 3 * 4


def test_a_failed_node_whose_refinement_passes_gets_full_credit(make_trainer, scripted):
    trainer, _, _ = rollout(make_trainer, scripted)
    for tree in trainer.last_rollout:
        half = next(n for n in tree.nodes if scripted.text(n.completion) == "half try")
        assert half.reward == 0.5 and half.credit == 1.0
        right = next(n for n in tree.nodes if n.depth == 1 and n.solved)
        assert half.advantage == pytest.approx(right.advantage)  # both credited 1 within turn 1


def test_refinement_prompt_holds_task_own_code_and_public_feedback_only(make_trainer, scripted):
    trainer, policy, _ = rollout(make_trainer, scripted)
    assert len(policy.prompts) == 2  # turn 1, then one call with every refinement prompt
    seen = 0
    for tree in trainer.last_rollout:
        task = next(t for t in scripted.tasks if t["answer"] == tree.columns["answer"])
        for group in tree.groups[1:]:
            parent = tree.nodes[group.parent]
            siblings = [n for n in tree.members(tree.groups[parent.group]) if n.index != parent.index]
            text = trainer.processing_class.decode(tree.nodes[group.members[0]].prompt_ids)
            assert text in policy.prompts[1]  # what the generation backend received
            assert f"Write {task['name']}." in text
            assert scripted.text(parent.completion) in text
            assert task["public_test"] in text
            assert task["hidden_test"] not in text
            assert "HIDDEN" not in text
            for sibling in siblings:
                assert scripted.text(sibling.completion) not in text
            seen += 1
    assert seen == 4
    # Every program is graded against its task, whatever conversation produced it.
    task_prompts = [row["prompt"] for row in scripted.rows()]
    assert len(trainer.grader_seen) == 24 and all(p in task_prompts for p in trainer.grader_seen)


def test_ungraded_completions_are_neither_expanded_nor_trained_on(make_trainer, scripted):
    trainer, _, rows = rollout(make_trainer, scripted)
    infra = [n for t in trainer.last_rollout for n in t.nodes if n.reward is None]
    assert len(infra) == 2 and all(n.child_group is None for n in infra)
    texts = decoded_completions(trainer, rows)
    assert len(texts) == sum(len(t.nodes) for t in trainer.last_rollout) - 2
    assert not any("INFRA" in text for text in texts)


def test_rows_are_the_trainable_nodes_with_prompt_and_feedback_outside_the_loss_mask(make_trainer, scripted):
    trainer, _, rows = rollout(make_trainer, scripted)
    nodes = [n for t in trainer.last_rollout for n in t.nodes if n.trainable]
    tokenizer = trainer.processing_class
    assert decoded_completions(trainer, rows) == [
        tokenizer.decode(n.completion_ids, skip_special_tokens=True) for n in nodes
    ]
    refined = 0
    for i, node in enumerate(nodes):
        prompt = tokenizer.decode(rows["prompt_ids"][i][rows["prompt_mask"][i].bool()])
        assert prompt == tokenizer.decode(node.prompt_ids)
        assert rows["advantages"][i].item() == pytest.approx(node.advantage)
        if node.depth > 1:
            assert "Public test" in prompt and "Public test" not in decoded_completions(trainer, rows)[i]
            refined += 1
    assert refined > 0


def test_loss_gradient_comes_from_completion_tokens_only(make_trainer, scripted):
    """trl's loss on Murphy's rows equals -sum_i A_i sum_{t in completion_i} log p(t) / N, computed here
    independently by scoring each node's prompt + completion and summing only completion tokens."""
    trainer, _, rows = rollout(make_trainer, scripted)
    model = trainer.model
    model.zero_grad()
    trainer.compute_loss(model, rows).backward()
    got = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    model.zero_grad()
    nodes = [n for t in trainer.last_rollout for n in t.nodes if n.trainable]
    total_tokens = sum(len(n.completion_ids) for n in nodes)
    reference = 0.0
    for node in nodes:
        ids = torch.tensor([node.prompt_ids + node.completion_ids])
        logps = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), dim=-1)
        targets = ids[0, 1:]
        token_logps = logps.gather(1, targets[:, None]).squeeze(1)
        reference = reference - node.advantage * token_logps[len(node.prompt_ids) - 1 :].sum()
    (reference / total_tokens).backward()
    for name, grad in got.items():
        assert torch.allclose(grad, model.get_parameter(name).grad, atol=1e-6, rtol=1e-4), name


def test_tree_budgets_limit_expansion_best_reward_first(make_trainer, scripted):
    trainer, _, _ = rollout(make_trainer, scripted, max_tree_nodes=11)
    for tree in trainer.last_rollout:
        assert len(tree.nodes) == 8  # turn 1 + one refinement group: a second would make 12 > 11
        assert scripted.text(tree.nodes[tree.groups[1].parent].completion) == "half try"
    trainer, _, _ = rollout(make_trainer, scripted, max_tree_tokens=4 * 16 * 2)
    for tree in trainer.last_rollout:
        assert tree.generated_tokens() <= 4 * 16 * 2 and len(tree.groups) == 2


def test_pruning_in_the_trainer_keeps_credit_and_advantages_of_kept_rows(make_trainer, scripted):
    full_trainer, _, full_rows = rollout(make_trainer, scripted)
    pruned_trainer, _, pruned_rows = rollout(make_trainer, scripted, inter_prune_groups=2, intra_prune_keep=2)
    full = {(tuple(n.prompt_ids), tuple(n.completion_ids)): n for t in full_trainer.last_rollout for n in t.nodes}
    kept = [n for t in pruned_trainer.last_rollout for n in t.nodes if n.trainable]
    assert len(pruned_rows["advantages"]) == len(kept) <= 2 * 2 * 2 < len(full_rows["advantages"])
    for node in kept:
        twin = full[(tuple(node.prompt_ids), tuple(node.completion_ids))]
        assert (node.credit, node.advantage) == (twin.credit, twin.advantage)


def test_compute_accounting_counts_what_the_rollout_did(make_trainer, scripted):
    trainer, policy, _ = rollout(make_trainer, scripted)
    metrics = trainer._metrics["train"]
    trees = trainer.last_rollout
    assert sum(len(call) for call in policy.prompts) == 8 + 2 * 2 * 4  # one prompt per completion
    assert metrics["murphy/tree_nodes"] == [24]
    assert metrics["murphy/generated_tokens"] == [sum(len(n.completion_ids) for t in trees for n in t.nodes)]
    assert metrics["murphy/executions"] == [24]  # every node graded once (tasks were validated, not probed)
    assert metrics["murphy/trained_nodes"] == [22] and metrics["murphy/refinement_groups"] == [4]
    assert metrics["murphy/total_tree_nodes"] == [24]


def test_variable_row_counts_are_split_over_accumulation_steps_without_loss(make_trainer, scripted):
    from hfplug_murphy.split import part_sizes, split_rows

    assert part_sizes(30, 4) == [8, 8, 7, 7] and part_sizes(2, 3) == [1, 1, 0]
    batch = {"x": torch.arange(30), "n": torch.tensor(5), "none": None}
    parts = split_rows(batch, 4)
    assert torch.equal(torch.cat([p["x"] for p in parts]), torch.arange(30))
    assert all(p["n"] == 5 and p["none"] is None for p in parts)
    trainer, _, _ = make_trainer(
        script_for(scripted), per_device_train_batch_size=2, gradient_accumulation_steps=4, max_steps=1
    )
    trainer.train()  # 22 rows over 4 micro-batches of 6, 6, 5, 5
    assert trainer.state.log_history[0]["murphy/trained_nodes"] == 22


def select_rows(rows, indices):
    index = torch.tensor(indices)
    return {k: v[index] if isinstance(v, torch.Tensor) and v.ndim > 0 else v for k, v in rows.items()}


def gradients(trainer, rows):
    trainer.model.zero_grad()
    trainer.compute_loss(trainer.model, rows).backward()
    return [p.grad for p in trainer.model.parameters() if p.grad is not None]


def test_a_constant_sibling_group_contributes_exactly_zero_gradient(make_trainer, scripted):
    # Under MaRS every graded turn-1 node is credited 1 here (solved, or refined into a pass): a constant group.
    trainer, _, rows = rollout(make_trainer, scripted)
    nodes = [n for t in trainer.last_rollout for n in t.nodes if n.trainable]
    first_turn = [i for i, n in enumerate(nodes) if n.depth == 1]
    assert {nodes[i].credit for i in first_turn} == {1.0}
    grads = gradients(trainer, select_rows(rows, first_turn))
    assert grads and all(torch.count_nonzero(g) == 0 for g in grads)
    refined = [i for i, n in enumerate(nodes) if n.depth == 2]
    assert any(torch.count_nonzero(g) > 0 for g in gradients(trainer, select_rows(rows, refined)))


def test_pruning_a_refinement_group_keeps_the_credit_it_gave_its_kept_parent(make_trainer, scripted):
    # Refinements of "wrong k2" all pass, those of "half try" all fail: both refinement groups are constant,
    # so InterP with b = 1 keeps only turn 1, whose credits came from the (pruned) refinements.
    def script(text, k):
        if scripted.refine_mark in text:
            return scripted.answer_for(text) if "wrong k2" in text else f"still wrong {k}"
        return [scripted.answer_for(text), "half try", "wrong k2", "INFRA"][k]

    def run(**config):
        trainer, _, _ = make_trainer(script, **config)
        trainer.model.train()
        trainer._generate_and_score_completions(scripted.inputs(scripted.rows(), 4))
        return trainer.last_rollout

    full, pruned = run(), run(inter_prune_groups=1)
    for full_tree, tree in zip(full, pruned, strict=True):
        kept = [n for n in tree.nodes if n.trainable]
        assert {n.depth for n in kept} == {1} and len(kept) == 3
        wrong = next(n for n in kept if scripted.text(n.completion) == "wrong k2")
        assert wrong.credit == 1.0  # credited by a refinement that was pruned from the loss
        for node in kept:
            twin = full_tree.nodes[node.index]
            assert (node.credit, node.advantage) == (twin.credit, twin.advantage)
