"""Property 2: the first token of every step follows the base marginal exactly, whatever the sampler does.

Step 1 of many identical rows is checked with a chi-square test; every step of rows in different states
with a randomised probability integral transform (uniform exactly when each token follows its marginal).
The sampler has random weights, so any draw that leaks through it is visibly off.

The marginal here is ``TokenDraw``'s, so the draw itself is first checked against a from-scratch warping: divide
by the temperature, keep the top_k most likely tokens, then the nucleus (the tokens whose more likely ones hold
less than top_p), renormalise; greedy takes the argmax."""

from __future__ import annotations

import math

import pytest
import torch
from hfplug_diffusion_sampler.loop import MaskedDiffusionModel, TokenDraw
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

SETTINGS = {"do_sample": True, "temperature": 0.7, "top_p": 0.9}


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


def record_full_passes(model):
    """Canvases the model sees in each forward (one per step for the joint sampler)."""
    seen = []
    handle = model.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs["input_ids"].clone()), with_kwargs=True
    )
    return seen, handle


def first_positions_and_marginals(model, canvas, mask_id):
    """j_1 (top warped probability among masks) and its warped marginal, computed independently of the loop."""
    base = MaskedDiffusionModel(model, mask_id)
    draw = TokenDraw(**SETTINGS, top_k=None)
    with torch.no_grad():
        logits, _ = base.full_pass(canvas, None)
    probabilities = draw.probabilities(logits)
    confidence = probabilities.max(dim=-1).values.masked_fill(canvas != mask_id, -1.0)
    first = confidence.argmax(dim=1)
    rows = torch.arange(canvas.shape[0])
    return first, probabilities[rows, first]


def test_first_token_of_step_one_is_chi_square_exact(tiny_mdlm, strategies, prompt, random_sampler):
    rows = 3000
    torch.manual_seed(0)
    output = strategies["joint_sampler"](
        model=tiny_mdlm,
        input_ids=prompt.repeat(rows, 1),
        max_new_tokens=4,
        tokens_per_step=4,
        sampler=random_sampler,
        **SETTINGS,
    )
    mask_id = tiny_mdlm.config.mask_token_id
    canvas = torch.cat([prompt, torch.full((1, 4), mask_id)], dim=1)
    first, marginal = first_positions_and_marginals(tiny_mdlm, canvas, mask_id)
    counts = torch.bincount(output[:, first[0]], minlength=marginal.shape[-1]).double()
    expected = marginal[0].double() * rows
    assert counts[expected == 0].sum() == 0, "a token outside the top-p set was drawn"
    big = expected >= 5
    observed = torch.cat([counts[big], counts[~big & (expected > 0)].sum()[None]])
    wanted = torch.cat([expected[big], expected[~big & (expected > 0)].sum()[None]])
    keep = wanted > 0
    result = stats.chisquare(
        observed[keep].numpy(), wanted[keep].numpy() * observed[keep].sum().item() / wanted[keep].sum().item()
    )
    assert result.pvalue > 1e-3, result


def test_first_token_of_every_step_follows_its_marginal(tiny_mdlm, strategies, prompt, random_sampler):
    rows, new_tokens, k = 400, 12, 4
    seen, handle = record_full_passes(tiny_mdlm)
    try:
        torch.manual_seed(1)
        output = strategies["joint_sampler"](
            model=tiny_mdlm,
            input_ids=prompt.repeat(rows, 1),
            max_new_tokens=new_tokens,
            tokens_per_step=k,
            sampler=random_sampler,
            **SETTINGS,
        )
    finally:
        handle.remove()
    assert len(seen) == new_tokens // k
    generator = torch.Generator().manual_seed(0)
    transformed = []
    for canvas in seen:
        first, marginal = first_positions_and_marginals(tiny_mdlm, canvas, tiny_mdlm.config.mask_token_id)
        token = output[torch.arange(rows), first]
        below = (
            torch.cumsum(marginal, dim=-1).gather(1, token[:, None])[:, 0] - marginal.gather(1, token[:, None])[:, 0]
        )
        own = marginal.gather(1, token[:, None])[:, 0]
        transformed.append(below + torch.rand(rows, generator=generator, dtype=marginal.dtype) * own)
    values = torch.cat(transformed).clamp(0, 1).numpy()
    assert stats.kstest(values, "uniform").pvalue > 1e-3
