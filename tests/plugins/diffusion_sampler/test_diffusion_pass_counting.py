"""Property 4: each step costs one full pass of the base model plus K-1 sampler passes (counted with
hooks on the model and the sampler, independently of the loop's own statistics)."""

from __future__ import annotations

import pytest
import torch

from .conftest import count_calls


@pytest.mark.parametrize(
    ("new_tokens", "k", "block_length", "steps", "sampler_passes"),
    [
        (10, 4, None, 3, 3 + 3 + 1),  # steps of 4, 4, 2 tokens
        (8, 8, None, 1, 7),
        (7, 2, 3, 5, 1 + 0 + 1 + 0 + 0),  # blocks of 3, 3, 1: steps of 2, 1, 2, 1, 1 tokens
        (6, 1, None, 6, 0),
    ],
)
def test_one_full_pass_and_k_minus_one_sampler_passes_per_step(
    tiny_mdlm, strategies, prompt, random_sampler, new_tokens, k, block_length, steps, sampler_passes
):
    counts, handles = count_calls(tiny_mdlm, random_sampler)
    try:
        output = strategies["joint_sampler"](
            model=tiny_mdlm,
            input_ids=prompt.repeat(2, 1),
            max_new_tokens=new_tokens,
            tokens_per_step=k,
            block_length=block_length,
            sampler=random_sampler,
            return_dict_in_generate=True,
        )
    finally:
        for handle in handles:
            handle.remove()
    assert counts == {"full": steps, "sampler": sampler_passes}
    assert output.diffusion_stats["full_passes"] == steps
    assert output.diffusion_stats["sampler_passes"] == sampler_passes
    assert output.diffusion_stats["steps"] == steps


def test_exact_costs_a_full_pass_per_token_and_marginal_one_per_step(tiny_mdlm, strategies, prompt):
    exact = strategies["exact"](
        model=tiny_mdlm, input_ids=prompt, max_new_tokens=10, tokens_per_step=4, return_dict_in_generate=True
    )
    marginal = strategies["marginal"](
        model=tiny_mdlm, input_ids=prompt, max_new_tokens=10, tokens_per_step=4, return_dict_in_generate=True
    )
    assert (exact.diffusion_stats["full_passes"], exact.diffusion_stats["steps"]) == (10, 3)
    assert (marginal.diffusion_stats["full_passes"], marginal.diffusion_stats["sampler_passes"]) == (3, 0)
    assert not bool((marginal.sequences == tiny_mdlm.config.mask_token_id).any())
    torch.testing.assert_close(exact.sequences[:, : prompt.shape[1]], prompt)
