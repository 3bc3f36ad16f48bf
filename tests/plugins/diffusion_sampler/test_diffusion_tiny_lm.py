"""The tiny masked diffusion LM's objective (LLaDA): cross-entropy on masked tokens divided by the mask
rate t ~ U(0, 1], averaged over all positions, is an unbiased estimate of L * CE per token: a uniform
model scores log V, an oracle 0; and a few steps of training lower it."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from hfplug_diffusion_sampler.tiny_lm import masked_diffusion_loss, token_windows, train_tiny_diffusion_lm


class Uniform(torch.nn.Module):
    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.vocab = vocab

    def forward(self, input_ids):
        return SimpleNamespace(logits=torch.zeros(*input_ids.shape, self.vocab))


def test_uniform_model_scores_log_vocabulary():
    torch.manual_seed(0)
    ids = torch.randint(0, 50, (4000, 16))
    loss = masked_diffusion_loss(Uniform(64), ids, mask_token_id=63, min_mask_rate=0.05)
    assert float(loss) == pytest.approx(math.log(64), rel=0.05)


def test_training_lowers_the_loss(tiny_mdlm, mdlm_tokenizer):
    from hfplug.testing.models import TINY_CORPUS

    model = type(tiny_mdlm)(tiny_mdlm.config)
    ids = mdlm_tokenizer(" ".join(TINY_CORPUS) * 3, add_special_tokens=False)["input_ids"]
    history = train_tiny_diffusion_lm(
        model, token_windows(ids, 24, 16), steps=60, learning_rate=3e-3, warmup_steps=5, log_every=20
    )
    assert history[-1][1] < history[0][1] - 0.5  # nats; the uniform model's loss is log(300) = 5.7
