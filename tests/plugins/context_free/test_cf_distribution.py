"""Samples follow p_base itself: no hidden top-k default and nothing from the model's saved generation config."""

from __future__ import annotations

import torch
from hfplug_context_free import ContextFreeConfig, draw_context_free_samples

NUM_SAMPLES = 3000


def first_token_distribution(model, tokenizer) -> torch.Tensor:
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([[tokenizer.bos_token_id]])).logits[0, -1]
    return logits.softmax(-1)


def test_first_tokens_cover_the_tail_beyond_the_top_50(tiny_model, tiny_tokenizer):
    # A checkpoint whose saved settings would make sampling nearly greedy must not change our samples.
    tiny_model.generation_config.top_k = 1
    tiny_model.generation_config.temperature = 0.05
    tiny_model.generation_config.repetition_penalty = 3.0
    probs = first_token_distribution(tiny_model, tiny_tokenizer)
    top50 = set(probs.topk(50).indices.tolist())
    tail_mass = 1.0 - probs[list(top50)].sum().item()
    assert tail_mass > 0.3  # the random tiny model spreads its mass: the check below has power

    config = ContextFreeConfig(max_new_tokens=1, batch_size=NUM_SAMPLES, progress=False)
    samples = draw_context_free_samples(tiny_model, tiny_tokenizer, NUM_SAMPLES, config, seed=0)
    first = torch.tensor([s[0] for s in samples])
    tail_fraction = sum(int(t) not in top50 for t in first.tolist()) / NUM_SAMPLES
    assert abs(tail_fraction - tail_mass) < 0.05  # sd of the fraction is < 0.01

    empirical = torch.bincount(first, minlength=probs.numel()).float() / NUM_SAMPLES
    total_variation = 0.5 * (empirical - probs).abs().sum().item()
    assert total_variation < 0.2  # about 0.1 is expected from sampling noise alone over 320 tokens
    assert tiny_model.generation_config.top_k == 1  # the model's own settings are restored afterwards


def test_top_k_setting_truncates_when_asked(tiny_model, tiny_tokenizer):
    probs = first_token_distribution(tiny_model, tiny_tokenizer)
    top5 = set(probs.topk(5).indices.tolist())
    config = ContextFreeConfig(max_new_tokens=1, batch_size=500, top_k=5, progress=False)
    samples = draw_context_free_samples(tiny_model, tiny_tokenizer, 500, config, seed=0)
    assert {s[0] for s in samples} <= top5


def spread_first_token_logits(model, tokenizer) -> torch.Tensor:
    """Scale the head so the first-token distribution is far from uniform (temperature and top_p then matter)."""
    with torch.no_grad():
        model.lm_head.weight.mul_(8.0)
        return model(input_ids=torch.tensor([[tokenizer.bos_token_id]])).logits[0, -1]


def test_temperature_samples_the_tempered_distribution(tiny_model, tiny_tokenizer):
    """The mean first-token logit of the samples is E_q[logit] for q = softmax(logits / T), computed here; it is
    many standard errors away from the untempered E_p[logit]."""
    logits = spread_first_token_logits(tiny_model, tiny_tokenizer)
    tempered, plain = (logits / 0.5).softmax(-1), logits.softmax(-1)
    expected, untempered = (tempered * logits).sum().item(), (plain * logits).sum().item()
    error = (((tempered * (logits - expected) ** 2).sum() / NUM_SAMPLES) ** 0.5).item()
    assert abs(expected - untempered) > 10 * error  # the check has power

    config = ContextFreeConfig(max_new_tokens=1, batch_size=NUM_SAMPLES, temperature=0.5, progress=False)
    samples = draw_context_free_samples(tiny_model, tiny_tokenizer, NUM_SAMPLES, config, seed=0)
    mean_logit = logits[torch.tensor([s[0] for s in samples])].mean().item()
    assert abs(mean_logit - expected) < 4 * error


def test_top_p_keeps_the_smallest_set_holding_that_much_mass(tiny_model, tiny_tokenizer):
    probs = spread_first_token_logits(tiny_model, tiny_tokenizer).softmax(-1)
    ranked = probs.argsort(descending=True)
    needed = int((probs[ranked].cumsum(0) < 0.5).sum()) + 1  # the top tokens until their mass reaches 0.5
    nucleus = set(ranked[:needed].tolist())
    assert 10 < needed < 100  # a real cut: most of the vocabulary lies outside

    config = ContextFreeConfig(max_new_tokens=1, batch_size=1000, top_p=0.5, progress=False)
    samples = draw_context_free_samples(tiny_model, tiny_tokenizer, 1000, config, seed=0)
    first = {s[0] for s in samples}
    assert first <= nucleus and len(first) > needed // 2
