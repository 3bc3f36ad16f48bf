"""Property 2: the first token of every step follows the base marginal exactly, whatever the sampler does.

Step 1 of many identical rows is checked with a chi-square test; every step of rows in different states
with a randomised probability integral transform (uniform exactly when each token follows its marginal).
The sampler has random weights, so any draw that leaks through it is visibly off."""

from __future__ import annotations

import torch
from hfplug_diffusion_sampler.loop import MaskedDiffusionModel, TokenDraw
from scipy import stats

SETTINGS = {"do_sample": True, "temperature": 0.7, "top_p": 0.9}


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
