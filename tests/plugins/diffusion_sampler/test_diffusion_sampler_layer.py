"""The sampler layer: its step-by-step form (used in generation) computes the same q as its batched form
(used in training); untrained it is the base marginal; it saves, loads and names its base model."""

from __future__ import annotations

import hashlib
import json

import numpy
import pytest
import torch
from hfplug_diffusion_sampler.loop import MaskedDiffusionModel
from hfplug_diffusion_sampler.sampler import JointSampler, SamplerStep, head_fingerprint


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


def fingerprint_from_scratch(weight: torch.Tensor) -> str:
    """The documented format, saved in every sampler's config (so it must not drift): sha256 of at most 4096
    weights, every (n // 4096)-th from the first, as float32 rounded to 5 decimals; its first 16 hex digits."""
    values = weight.detach().double().flatten().tolist()
    sample = values[:: max(1, len(values) // 4096)][:4096]
    return hashlib.sha256(numpy.array(sample, dtype=numpy.float32).round(5).tobytes()).hexdigest()[:16]


@pytest.mark.parametrize("shape", [(12, 16), (64, 128), (2, 4097), (300, 70)])
def test_head_fingerprint_follows_its_format_and_ignores_the_heads_dtype(shape):
    """Shapes with n < 4096, n = 2 * 4096 (stride 2), n = 8194 (stride 2, 4097 strided values: capped at 4096)
    and a large head; a float16 or bfloat16 copy of a head is the same base model, so the same fingerprint."""
    weight = torch.randn(shape, generator=torch.Generator().manual_seed(shape[0]))
    fingerprint = head_fingerprint(weight)
    assert fingerprint == fingerprint_from_scratch(weight)
    for dtype in (torch.float16, torch.bfloat16):
        narrow = weight.to(dtype)
        assert head_fingerprint(narrow) == fingerprint_from_scratch(narrow.float())


def test_every_weight_of_a_small_head_counts_in_its_fingerprint():
    weight = torch.randn(12, 16, generator=torch.Generator().manual_seed(0))
    fingerprints = {head_fingerprint(weight)}
    for index in range(weight.numel()):
        changed = weight.clone()
        changed.view(-1)[index] += 0.5
        fingerprints.add(head_fingerprint(changed))
    assert len(fingerprints) == weight.numel() + 1


@pytest.mark.parametrize(
    ("base_model", "card_base_model"),
    [("me/tiny-dream", "me/tiny-dream"), ("/models/me/tiny", None), ("./runs/me/tiny", None), ("tiny", None)],
)
def test_card_links_only_hub_ids_as_its_base_model(base_model, card_base_model):
    """A local path (absolute, relative) or a bare name is not a Hub repo id: the card names it but does not link it."""
    card = JointSampler(hidden_size=32, vocab_size=50, base_model=base_model).generate_model_card()
    assert card.data.base_model == card_base_model
    assert f"for `{base_model}`" in card.text


def test_card_of_a_sampler_without_base_model_says_unknown():
    card = JointSampler(hidden_size=32, vocab_size=50).generate_model_card()
    assert card.data.base_model is None
    assert "for `unknown`" in card.text and "hidden size 32, vocabulary 50" in card.text
