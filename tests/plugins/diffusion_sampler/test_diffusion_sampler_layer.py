"""The sampler layer: its step-by-step form (used in generation) computes the same q as its batched form
(used in training); untrained it is the base marginal; it saves, loads and names its base model."""

from __future__ import annotations

import json

import torch
from hfplug_diffusion_sampler.loop import MaskedDiffusionModel
from hfplug_diffusion_sampler.sampler import JointSampler, SamplerStep


def test_incremental_step_matches_batched_forward(tiny_mdlm, random_sampler, prompt):
    base = MaskedDiffusionModel(tiny_mdlm, tiny_mdlm.config.mask_token_id)
    canvas = torch.cat([prompt.repeat(3, 1), torch.full((3, 6), base.mask_token_id)], dim=1)
    canvas[1, 0] = 0  # a padding column in one row, masked out of attention
    key_mask = torch.ones_like(canvas, dtype=torch.bool)
    key_mask[1, 0] = False
    _, hidden = base.full_pass(canvas, key_mask.long(), with_hidden=True)
    start = prompt.shape[1]
    positions = torch.tensor(
        [[start + 2, start, start + 5], [start + 1, start + 3, start], [start + 4, start + 5, start]]
    )
    tokens = torch.randint(10, 200, (3, 3))
    step = SamplerStep(random_sampler, hidden, key_mask)
    revealed = torch.zeros_like(hidden)
    rows = torch.arange(3)
    for k in range(3):
        with torch.no_grad():
            batched = random_sampler(hidden, revealed, positions[:, k], key_mask)
        torch.testing.assert_close(step.read(positions[:, k]), batched, atol=1e-5, rtol=1e-5)
        embedding = base.embed(tokens[:, k])
        step.reveal(positions[:, k], embedding)
        revealed = revealed.clone()
        revealed[rows, positions[:, k]] = embedding
    assert step.reads == 3


def test_untrained_sampler_is_the_base_marginal(tiny_mdlm, prompt):
    base = MaskedDiffusionModel(tiny_mdlm, tiny_mdlm.config.mask_token_id)
    canvas = torch.cat([prompt, torch.full((1, 4), base.mask_token_id)], dim=1)
    logits, hidden = base.full_pass(canvas, None, with_hidden=True)
    sampler = JointSampler(hidden_size=32, vocab_size=tiny_mdlm.config.vocab_size)
    step = SamplerStep(sampler, hidden, None)
    step.reveal(torch.tensor([prompt.shape[1]]), base.embed(torch.tensor([7])))
    position = torch.tensor([prompt.shape[1] + 2])
    with torch.no_grad():
        torch.testing.assert_close(base.logits_of(step.read(position)), logits[:, position[0]])


def test_save_load_roundtrip_and_card_names_the_base_model(tmp_path, random_sampler):
    sampler = JointSampler(
        hidden_size=32, vocab_size=random_sampler.vocab_size, num_attention_heads=2, base_model="me/tiny-dream"
    )
    sampler.load_state_dict(random_sampler.state_dict())
    sampler.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["hidden_size"] == 32 and config["base_model"] == "me/tiny-dream"
    assert "model_type" not in config  # hfplug push treats the folder as a PyTorchModelHubMixin model
    card = (tmp_path / "README.md").read_text()
    assert "base_model: me/tiny-dream" in card and "`me/tiny-dream`" in card
    loaded = JointSampler.from_pretrained(tmp_path)
    for name, value in sampler.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], value)
