"""The position rules, each against a from-scratch computation: which K masked columns a step unmasks and
in which order (``step_order``), on distributions built so that the rules disagree with each other, and
through the real loop on the warped marginals."""

from __future__ import annotations

import math

import pytest
import torch
from hfplug_diffusion_sampler.strategies.joint_sampler.custom_generate.positions import position_scores, step_order
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

TEMPERATURE = 3.0


def priority(rule: str, distribution: list[float], column: int) -> float:
    """Higher is unmasked first: Dream's maskgit_plus (top probability), topk_margin, entropy; or leftmost."""
    ranked = sorted(distribution, reverse=True)
    if rule == "confidence":
        return ranked[0]
    if rule == "margin":
        return ranked[0] - ranked[1]
    if rule == "entropy":
        return -sum(-p * math.log(p) for p in distribution if p > 0)
    return -column


@st.composite
def candidate_distributions(draw):
    """(B, C, V) distributions over candidate columns, with well separated scores under every rule."""
    rows, candidates, vocab = draw(st.integers(1, 3)), draw(st.integers(2, 7)), draw(st.integers(3, 6))
    seed = draw(st.integers(0, 2**16))
    generator = torch.Generator().manual_seed(seed)
    # Peaked and flat rows mixed, so top probability, margin and entropy order the columns differently.
    sharpness = torch.rand(rows, candidates, 1, generator=generator) * 6
    logits = torch.randn(rows, candidates, vocab, generator=generator, dtype=torch.float64) * sharpness
    probabilities = torch.softmax(logits, dim=-1)
    columns = torch.stack([torch.randperm(40, generator=generator)[:candidates] + 3 for _ in range(rows)])
    count = draw(st.integers(1, candidates))
    return probabilities.float(), columns, count


@settings(deadline=None)
@given(case=candidate_distributions(), rule=st.sampled_from(("confidence", "margin", "entropy", "left_to_right")))
def test_each_rule_orders_columns_as_computed_from_scratch(case, rule):
    probabilities, columns, count = case
    order = step_order(rule, probabilities, columns, count)
    assert order.shape == (columns.shape[0], count)
    for row in range(columns.shape[0]):
        scores = {
            int(column): priority(rule, probabilities[row, index].double().tolist(), int(column))
            for index, column in enumerate(columns[row])
        }
        wanted = sorted(scores, key=scores.__getitem__, reverse=True)[:count]
        got = order[row].tolist()
        # Ties to float precision may come in either order; everything else must match column for column.
        assert [scores[column] for column in got] == pytest.approx([scores[column] for column in wanted], abs=1e-6)


def test_rules_disagree_on_a_hand_built_step():
    """Three candidates ordered differently by every rule, so no rule can stand in for another."""
    third = 0.44 / 3
    probabilities = torch.tensor(
        [
            [
                [0.60, 0.20, 0.20, 0.00],  # column 12: top 0.60, margin 0.40, entropy 0.950
                [0.56, third, third, third],  # column 10: top 0.56, margin 0.413, entropy 1.170
                [0.50, 0.50, 0.00, 0.00],  # column 11: top 0.50, margin 0.00, entropy 0.693
            ]
        ]
    )
    columns = torch.tensor([[12, 10, 11]])
    assert step_order("confidence", probabilities, columns, 3).tolist() == [[12, 10, 11]]
    assert step_order("margin", probabilities, columns, 3).tolist() == [[10, 12, 11]]
    assert step_order("entropy", probabilities, columns, 3).tolist() == [[11, 12, 10]]  # least uncertain first
    assert step_order("left_to_right", probabilities, columns, 3).tolist() == [[10, 11, 12]]
    assert step_order("margin", probabilities, columns, 2).tolist() == [[10, 12]]


def test_random_rule_is_uniform_and_ignores_the_distributions():
    """Over many seeded draws each candidate comes first equally often (chi-square), even when one column is
    certain; the same seed gives the same order and another seed another."""
    probabilities = torch.tensor([[[1.0, 0.0], [0.5, 0.5], [0.9, 0.1], [0.6, 0.4]]])
    columns = torch.tensor([[4, 5, 6, 7]])
    torch.manual_seed(0)
    firsts = [int(step_order("random", probabilities, columns, 1)[0, 0]) for _ in range(4000)]
    counts = [firsts.count(column) for column in (4, 5, 6, 7)]
    assert stats.chisquare(counts).pvalue > 1e-4, counts
    torch.manual_seed(3)
    again = step_order("random", probabilities, columns, 4)
    torch.manual_seed(3)
    assert torch.equal(step_order("random", probabilities, columns, 4), again)
    orders = set()
    for seed in range(20):
        torch.manual_seed(seed)
        orders.add(tuple(step_order("random", probabilities, columns, 4)[0].tolist()))
    assert len(orders) > 5
    assert all(sorted(order) == [4, 5, 6, 7] for order in orders)


@pytest.mark.parametrize("rule", ["confidence", "margin", "entropy", "random", "left_to_right"])
def test_scores_live_on_the_columns_device(rule):
    """Every rule's scores are made where the step's tensors are (``meta`` stands in for a GPU on this CPU-only
    suite): scores made on the CPU would be gathered across devices on a GPU."""
    probabilities = torch.full((2, 3, 4), 0.25, device="meta")
    columns = torch.zeros(2, 3, dtype=torch.long, device="meta")
    scores = position_scores(rule, probabilities, columns)
    assert scores.device == columns.device and scores.shape == (2, 3)


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="position_choice must be one of"):
        step_order("lowest", torch.ones(1, 2, 3) / 3, torch.tensor([[1, 2]]), 1)


@pytest.mark.parametrize("rule", ["confidence", "margin", "entropy", "left_to_right"])
def test_the_loop_unmasks_the_columns_the_rule_picks_on_the_warped_marginals(toy_mdlm, strategies, rule):
    """Marginal sampling at temperature 3 (the order on warped marginals differs from the raw softmax's):
    each step's newly unmasked columns are the rule's top K computed from the model's own logits."""
    mask_id = toy_mdlm.mask_token_id
    seen = []
    handle = toy_mdlm.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs["input_ids"].clone()), with_kwargs=True
    )
    torch.manual_seed(0)
    try:
        final = strategies["marginal"](
            model=toy_mdlm,
            input_ids=torch.tensor([[3, 1, 4, 1, 5]]),
            max_new_tokens=9,
            tokens_per_step=3,
            position_choice=rule,
            do_sample=True,
            temperature=TEMPERATURE,
        )
    finally:
        handle.remove()
    assert len(seen) == 3
    for index, canvas in enumerate(seen):
        after = seen[index + 1] if index + 1 < len(seen) else final
        with torch.no_grad():
            logits = toy_mdlm(input_ids=canvas).logits[0].double()
        logits[:, mask_id] = float("-inf")
        masked = (canvas[0] == mask_id).nonzero()[:, 0].tolist()
        scores = {
            column: priority(rule, torch.softmax(logits[column] / TEMPERATURE, dim=-1).tolist(), column)
            for column in masked
        }
        wanted = sorted(scores, key=scores.__getitem__, reverse=True)[:3]
        changed = (after[0] != canvas[0]).nonzero()[:, 0].tolist()
        assert sorted(scores[column] for column in changed) == pytest.approx(
            sorted(scores[column] for column in wanted), abs=1e-6
        )
