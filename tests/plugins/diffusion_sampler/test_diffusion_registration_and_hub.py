"""Registration, and publishing: the strategy folder runs from a Hub repo with plain transformers, and a
pushed sampler's card names its base model (the Hub here is hfplug's local test double)."""

from __future__ import annotations

from pathlib import Path

import torch
from hfplug_diffusion_sampler.sampler import JointSampler

import hfplug
from hfplug.hub import push


def test_components_are_registered():
    assert {"joint_sampler", "exact", "marginal"} <= set(hfplug.names("generation"))
    assert "joint_sampler" in hfplug.names("trainer") and "joint_sampler" in hfplug.names("model")
    assert hfplug.load("model", "joint_sampler") is JointSampler
    for name in ("joint_sampler", "exact", "marginal"):
        assert (Path(hfplug.load("generation", name)) / "custom_generate" / "generate.py").is_file()


def test_strategy_and_sampler_round_trip_through_the_hub(local_hub, tmp_path, tiny_mdlm, prompt, random_sampler):
    strategy_repo = local_hub.repo_id("joint-sampler")
    push(Path(hfplug.load("generation", "joint_sampler")), strategy_repo)
    sampler = JointSampler(32, tiny_mdlm.config.vocab_size, num_attention_heads=2, base_model="me/tiny-mdlm")
    sampler.load_state_dict(random_sampler.state_dict())
    sampler.save_pretrained(tmp_path / "sampler")
    sampler_repo = local_hub.repo_id("tiny-mdlm-sampler")
    push(tmp_path / "sampler", sampler_repo)
    card = (tmp_path / "sampler" / "README.md").read_text()
    assert "base_model: me/tiny-mdlm" in card and "hfplug-diffusion-sampler" in card

    settings = {"max_new_tokens": 6, "tokens_per_step": 3, "do_sample": True}
    torch.manual_seed(0)
    local = tiny_mdlm.generate(
        prompt,
        custom_generate=hfplug.load("generation", "joint_sampler"),
        trust_remote_code=True,
        sampler=sampler,
        **settings,
    )
    torch.manual_seed(0)
    hub = tiny_mdlm.generate(
        prompt, custom_generate=strategy_repo, trust_remote_code=True, sampler=sampler_repo, **settings
    )
    assert torch.equal(local, hub)
