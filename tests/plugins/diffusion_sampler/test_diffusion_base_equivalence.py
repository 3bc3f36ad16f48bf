"""Property 1: with K = 1 the joint sampler is plain base sampling (one token per full pass) and never
runs the sampler; both strategies also run through transformers' own ``model.generate(custom_generate=...)``."""

from __future__ import annotations

import torch
from hfplug_diffusion_sampler.sampler import JointSampler

import hfplug


class ExplodingSampler(JointSampler):
    """A sampler that fails the test if any of its computations runs."""

    def keys_values(self, *args, **kwargs):
        raise AssertionError("the sampler ran with tokens_per_step=1")

    def read(self, *args, **kwargs):
        raise AssertionError("the sampler ran with tokens_per_step=1")


def test_k1_equals_exact_sampling_and_never_calls_the_sampler(tiny_mdlm, strategies, prompt):
    sampler = ExplodingSampler(hidden_size=32, vocab_size=tiny_mdlm.config.vocab_size)
    settings = {"input_ids": prompt.repeat(6, 1), "max_new_tokens": 10, "do_sample": True, "temperature": 0.8}
    torch.manual_seed(0)
    exact = strategies["exact"](model=tiny_mdlm, **settings)
    torch.manual_seed(0)
    joint = strategies["joint_sampler"](
        model=tiny_mdlm, tokens_per_step=1, sampler=sampler, return_dict_in_generate=True, **settings
    )
    assert torch.equal(joint.sequences, exact)
    assert joint.diffusion_stats["sampler_passes"] == 0
    assert joint.diffusion_stats["full_passes"] == 10


def test_strategies_run_through_transformers_generate(tiny_mdlm, prompt, random_sampler):
    """The registered folders work as ``custom_generate`` on a model with ``generate``."""
    torch.manual_seed(1)
    exact = tiny_mdlm.generate(
        prompt, custom_generate=hfplug.load("generation", "exact"), trust_remote_code=True, max_new_tokens=6
    )
    torch.manual_seed(1)
    joint = tiny_mdlm.generate(
        prompt,
        custom_generate=hfplug.load("generation", "joint_sampler"),
        trust_remote_code=True,
        max_new_tokens=6,
        tokens_per_step=1,
    )
    assert torch.equal(exact, joint)
    assert exact.shape == (1, prompt.shape[1] + 6)
    filled = tiny_mdlm.generate(
        prompt,
        custom_generate=hfplug.load("generation", "joint_sampler"),
        trust_remote_code=True,
        max_new_tokens=6,
        sampler=random_sampler,
        do_sample=True,
    )
    assert not bool((filled == tiny_mdlm.config.mask_token_id).any())
