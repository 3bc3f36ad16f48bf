"""The token draw every distribution of a step goes through, against a from-scratch warping: divide by the
temperature, keep the top_k most likely tokens, then keep the nucleus (the tokens whose more likely ones hold
less than top_p), renormalise; greedy takes the argmax."""

from __future__ import annotations

import math

import pytest
import torch
from hfplug_diffusion_sampler.loop import TokenDraw
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats


def warped_from_scratch(logits: list[float], temperature: float | None, top_k: int | None, top_p: float | None):
    """The distribution one row is drawn from, in plain Python floats."""
    scaled = [value / (temperature or 1.0) for value in logits]
    ranked = sorted(range(len(scaled)), key=scaled.__getitem__, reverse=True)
    kept = ranked[: top_k or len(ranked)]
    total = sum(math.exp(scaled[token]) for token in kept)
    if top_p is not None:
        above, nucleus = 0.0, []
        for token in kept:  # most likely first
            if above < top_p:
                nucleus.append(token)
            above += math.exp(scaled[token]) / total
        kept = nucleus
    total = sum(math.exp(scaled[token]) for token in kept)
    return [math.exp(scaled[token]) / total if token in kept else 0.0 for token in range(len(logits))]


@settings(deadline=None)
@given(
    seed=st.integers(0, 2**16),
    vocab=st.integers(3, 9),
    temperature=st.sampled_from((None, 0.5, 1.0, 2.0)),
    top_k=st.sampled_from((None, 0, 1, 2, 4)),
    top_p=st.sampled_from((None, 0.3, 0.8, 1.0)),
)
def test_probabilities_are_the_warped_softmax_over_the_last_dimension(seed, vocab, temperature, top_k, top_p):
    """Logits ``(2, 3, V)``: the warping runs over the vocabulary of each of the 6 rows."""
    logits = torch.randn(2, 3, vocab, generator=torch.Generator().manual_seed(seed)) * 2
    probabilities = TokenDraw(True, temperature, top_k, top_p).probabilities(logits)
    assert probabilities.shape == logits.shape
    for index in range(6):
        row = logits.view(6, vocab)[index].tolist()
        wanted = warped_from_scratch(row, temperature, top_k, top_p)
        assert probabilities.view(6, vocab)[index].tolist() == pytest.approx(wanted, abs=1e-5)


def test_greedy_ignores_the_sampling_settings_and_takes_the_argmax():
    logits = torch.randn(5, 7, generator=torch.Generator().manual_seed(1))
    draw = TokenDraw(False, 0.3, 2, 0.5)
    torch.testing.assert_close(draw.probabilities(logits), torch.softmax(logits, dim=-1))
    assert draw.draw(logits).tolist() == [max(range(7), key=row.__getitem__) for row in logits.tolist()]


def test_sampling_with_top_k_one_is_the_argmax():
    logits = torch.randn(50, 6, generator=torch.Generator().manual_seed(2))
    torch.manual_seed(0)
    assert torch.equal(TokenDraw(True, 1.5, 1, None).draw(logits), logits.argmax(dim=-1))


def test_draws_follow_the_warped_distribution():
    """Chi-square of 6000 draws of one row against the from-scratch distribution (temperature, top-k, top-p)."""
    logits = torch.tensor([2.0, 1.5, 1.0, 0.2, -0.5, -1.0])
    wanted = warped_from_scratch(logits.tolist(), 0.8, 5, 0.9)
    torch.manual_seed(0)
    tokens = TokenDraw(True, 0.8, 5, 0.9).draw(logits.repeat(6000, 1))
    counts = torch.bincount(tokens, minlength=6).tolist()
    support = [token for token, p in enumerate(wanted) if p > 0]
    assert all(counts[token] == 0 for token in range(6) if token not in support)
    observed = [counts[token] for token in support]
    assert stats.chisquare(observed, [wanted[token] * 6000 for token in support]).pvalue > 1e-3
