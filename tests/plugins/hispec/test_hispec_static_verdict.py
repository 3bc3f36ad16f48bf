"""The compiled step's sampling rules on their own (``logits_warp``, ``sample``, ``speculative_verdict``),
each against a from-scratch computation: the warped distribution written out with sorted lists, the
exponential race's draws against their row, and the verdict's joint law of (accepted, token) computed
candidate by candidate from min(1, p/q), the residual max(0, p - q) and the bonus row."""

from __future__ import annotations

import pytest
import torch

from .conftest import chi_square_p_value

P = torch.tensor([0.10, 0.40, 0.20, 0.30, 0.00], dtype=torch.float64)
Q = torch.tensor([0.30, 0.10, 0.40, 0.10, 0.10], dtype=torch.float64)
BONUS = torch.tensor([0.05, 0.05, 0.10, 0.20, 0.60], dtype=torch.float64)
# A distribution without ties and away from every top-p threshold used below.
SPREAD = [0.04, 0.31, 0.07, 0.22, 0.13, 0.18, 0.05]


@pytest.fixture(scope="module")
def acceptance():
    from hfplug_hispec.strategies.hispec.custom_generate import acceptance

    return acceptance


def _warped_from_scratch(
    probabilities: list[float], temperature: float | None, top_k: int | None, top_p: float | None
) -> list[float]:
    """generate()'s order: p^(1/T) renormalised, then the k most likely, then the fewest most likely tokens
    whose mass reaches top_p (a token stays while the mass ranked above it is below top_p)."""
    weights = [p ** (1.0 / (temperature or 1.0)) for p in probabilities]
    ranked = sorted(range(len(weights)), key=lambda index: -weights[index])
    kept = ranked[:top_k] if top_k else ranked
    if top_p is not None:
        mass = sum(weights[index] for index in kept)
        above, nucleus = 0.0, []
        for index in kept:
            if above < top_p:
                nucleus.append(index)
            above += weights[index] / mass
        kept = nucleus
    total = sum(weights[index] for index in kept)
    return [weights[index] / total if index in kept else 0.0 for index in range(len(weights))]


@pytest.mark.parametrize(
    "temperature, top_k, top_p",
    [(2.0, None, None), (0.5, None, None), (None, 3, None), (None, None, 0.6), (0.7, 4, 0.8), (1.5, 5, 0.5)],
)
def test_logits_warp_is_temperature_then_top_k_then_top_p(acceptance, temperature, top_k, top_p):
    rows = torch.tensor([SPREAD, SPREAD[::-1]], dtype=torch.float64)
    warped = torch.softmax(acceptance.logits_warp(temperature, top_k, top_p)(rows.log()), dim=-1)
    expected = torch.tensor(
        [_warped_from_scratch(row, temperature, top_k, top_p) for row in rows.tolist()], dtype=torch.float64
    )
    torch.testing.assert_close(warped, expected)


@pytest.mark.parametrize(
    "temperature, top_k, top_p", [(None, None, None), (1.0, 0, 1.0), (1.0, None, None), (None, None, 1.5)]
)
def test_logits_warp_without_settings_leaves_the_logits_alone(acceptance, temperature, top_k, top_p):
    """As in generate(), which adds no warper for these (it accepts top_p above 1 and ignores it). The last logit's
    probability is exactly 0 in float64: a top-p warper at 1.0 would still turn it into -inf."""
    logits = torch.tensor([[*SPREAD, 1.0]], dtype=torch.float64).log()
    logits[0, -1] = -1e5
    assert torch.equal(acceptance.logits_warp(temperature, top_k, top_p)(logits), logits)


def test_sample_draws_each_row_from_that_row(acceptance):
    """Three different rows, each repeated: every row's draws follow it, a zero-probability token never wins,
    a one-hot row always gives its token."""
    torch.manual_seed(0)
    laws = torch.stack([P, Q, BONUS, torch.tensor([0.0, 0.0, 0.0, 1.0, 0.0], dtype=torch.float64)])
    repeats = 6000
    tokens = acceptance.sample(laws.repeat_interleave(repeats, dim=0))
    assert tokens.shape == (4 * repeats,) and tokens.dtype == torch.long
    for law, drawn in zip(laws, tokens.reshape(4, repeats), strict=True):
        counts = torch.bincount(drawn, minlength=5).double()
        assert counts[law == 0].sum() == 0
        assert chi_square_p_value(counts, law) > 1e-3
    assert (tokens[-repeats:] == 3).all()


def _verdict_law(targets: torch.Tensor, proposals: torch.Tensor, candidates: list[int], real: list[bool]):
    """P(accepted = k, token = t), one row per k: candidate j survives with probability min(1, p_j(c)/q_j(c))
    (0 where p_j(c) = 0, 1 where q_j(c) = 0 < p_j(c)); the first rejected row draws from max(0, p - q)
    normalised (from p where that is empty); the first padding row, reached when every real one survived,
    draws from its p."""
    law = torch.zeros_like(targets)
    reach = 1.0
    for row, (candidate, is_real) in enumerate(zip(candidates, real, strict=True)):
        if not is_real:
            law[row] = reach * targets[row]
            return law
        p, q = float(targets[row, candidate]), float(proposals[row, candidate])
        survive = 0.0 if p == 0 else (1.0 if q <= p else p / q)
        residual = (targets[row] - proposals[row]).clamp(min=0)
        replacement = residual / residual.sum() if residual.sum() > 0 else targets[row]
        law[row] = reach * (1 - survive) * replacement
        reach *= survive
    raise AssertionError("a window ends in at least one padding row")


def _verdict_counts(acceptance, targets, proposals, candidates, real, draws: int) -> torch.Tensor:
    counts = torch.zeros_like(targets)
    candidates_tensor, real_tensor = torch.tensor(candidates), torch.tensor(real)
    for _ in range(draws):
        accepted, token = acceptance.speculative_verdict(targets, proposals, candidates_tensor, real_tensor)
        assert accepted.shape == () and token.shape == (1,)
        counts[int(accepted), int(token)] += 1
    return counts


def test_speculative_verdict_follows_the_rejection_rule_row_by_row(acceptance):
    """Three real candidates kept with probabilities 1/2, 1 and 1/4, then a padding row whose stale proposal
    differs from its target (the bonus comes from the target, not from a residual)."""
    torch.manual_seed(1)
    targets = torch.stack([P, BONUS, Q, BONUS.flip(0)])
    proposals = torch.stack([Q, Q, P, P])
    candidates, real = [2, 3, 1, 4], [True, True, True, False]
    law = _verdict_law(targets, proposals, candidates, real)
    torch.testing.assert_close(law.sum(), torch.tensor(1.0, dtype=torch.float64))
    counts = _verdict_counts(acceptance, targets, proposals, candidates, real, 6000)
    assert counts[law == 0].sum() == 0
    assert chi_square_p_value(counts, law) > 1e-3


def test_speculative_verdict_counts_only_the_unbroken_prefix_of_real_candidates(acceptance):
    """Certain outcomes: p >= q keeps a candidate, p = 0 rejects it, a later survivor does not count, and
    padding rows whose candidates would survive are never counted."""
    torch.manual_seed(2)
    one_hot_3 = torch.tensor([0.0, 0.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    targets = torch.stack([P, one_hot_3, P, one_hot_3])
    proposals = torch.stack([Q, Q, Q, Q])
    # 1 survives (0.4 >= 0.1), 4 cannot (p = 0); its residual is all on 3.
    assert _verdict(acceptance, targets, proposals, [1, 4, 1, 3], [True, True, True, False]) == (1, 3)
    # All real ones survive; the padding rows' candidates would too; the bonus is drawn from row 2's p = e_3...
    targets = torch.stack([P, one_hot_3, one_hot_3, P])
    assert _verdict(acceptance, targets, proposals, [1, 3, 3, 3], [True, True, False, False]) == (2, 3)
    # ...not from its residual (row 2's stale proposal is e_3 itself: residual empty) nor from row 3.
    proposals = torch.stack([Q, Q, one_hot_3, Q])
    assert _verdict(acceptance, targets, proposals, [1, 3, 3, 3], [True, True, False, False]) == (2, 3)


def test_a_candidate_impossible_under_both_laws_is_rejected_and_replaced_from_p(acceptance):
    """p = q with the candidate at 0 under both: rejected (0 < 0 is false), and the residual of that row is empty, so
    the replacement comes from p itself (the padding row's stale proposal leaves a residual there: only the
    rejected row's own residual counts)."""
    one_hot_2 = torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0], dtype=torch.float64)
    targets, proposals = torch.stack([one_hot_2, BONUS]), torch.stack([one_hot_2, Q])
    for seed in range(20):
        torch.manual_seed(seed)
        assert _verdict(acceptance, targets, proposals, [4, 0], [True, False]) == (0, 2)


def _verdict(acceptance, targets, proposals, candidates, real) -> tuple[int, int]:
    accepted, token = acceptance.speculative_verdict(targets, proposals, torch.tensor(candidates), torch.tensor(real))
    return int(accepted), int(token)
