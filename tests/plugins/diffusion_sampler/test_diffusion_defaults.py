"""Every default of the README's config tables, so that a changed default is a red test and a visible decision:
K = 4 [paper] (exact: 1), top-K confidence [spec], one block and Dream's shift detected [code], additive fusion
and the shared LM head [spec], the sampler's width choices and the trainer's settings [ours]."""

from __future__ import annotations

import inspect

import torch
from hfplug_diffusion_sampler.sampler import JointSampler
from hfplug_diffusion_sampler.strategies.joint_sampler.custom_generate.generation_call import run_diffusion_generation
from hfplug_diffusion_sampler.trainer.config import JointSamplerConfig


def test_generation_defaults(strategies):
    for name, tokens_per_step in (("joint_sampler", 4), ("marginal", 4), ("exact", 1)):
        parameters = inspect.signature(strategies[name]).parameters
        assert parameters["tokens_per_step"].default == tokens_per_step, name


def test_default_position_rule_is_confidence(toy_mdlm):
    prompt = torch.tensor([[3, 1, 4, 1, 5]])

    def generate(**rule):
        settings = {"input_ids": prompt, "max_new_tokens": 8, "do_sample": True, "return_dict_in_generate": True}
        torch.manual_seed(0)  # the same random stream: only the order of the columns differs
        return run_diffusion_generation(toy_mdlm, {**settings, **rule}, mode="marginal", tokens_per_step=1).sequences

    default = generate()
    assert torch.equal(default, generate(position_choice="confidence"))
    assert not torch.equal(default, generate(position_choice="left_to_right"))


def test_sampler_defaults():
    sampler = JointSampler(hidden_size=128, vocab_size=50)
    assert (sampler.fusion, sampler.num_attention_heads, sampler.intermediate_size) == ("add", 2, 512)
    assert JointSampler(hidden_size=32, vocab_size=50).num_attention_heads == 1  # at least one head
    # The LM head is shared: the sampler stores no vocabulary-sized weights of its own.
    assert all(50 not in parameter.shape for parameter in sampler.parameters())
    assert sampler.input_norm.eps == sampler.mlp_norm.eps == 1e-5  # torch's LayerNorm default [ours]
    hidden = torch.randn(1, 3, 128)
    with torch.no_grad():  # the default-sized layer runs, and untrained it returns H at the query
        torch.testing.assert_close(sampler(hidden, torch.zeros_like(hidden), torch.tensor([1])), hidden[:, 1])
    wider = JointSampler(hidden_size=128, vocab_size=50, norm_eps=1e-3)
    assert wider.input_norm.eps == wider.mlp_norm.eps == 1e-3


def test_trainer_defaults():
    config = JointSamplerConfig(output_dir="unused", report_to=[])
    assert config.tokens_per_step == 4
    assert (config.max_new_tokens, config.prompt_length, config.block_length) == (64, 32, None)
    assert (config.position_choice, config.rollout_temperature, config.learning_rate) == ("confidence", 1.0, 1e-3)
    assert (config.sampler_num_attention_heads, config.sampler_intermediate_size, config.sampler_fusion) == (
        None,
        None,
        "add",
    )
