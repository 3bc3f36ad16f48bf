"""The README's generation default `block_length: none (one block)` [code]: without the argument the whole new
region is one block, the same draws as an explicit block of `max_new_tokens`, and not LLaDA's smaller blocks."""

from __future__ import annotations

import pytest
import torch

SETTINGS = {"max_new_tokens": 9, "do_sample": True, "tokens_per_step": 2}


@pytest.mark.parametrize("name", ["marginal", "exact"])
def test_the_default_is_one_block_over_the_new_tokens(tiny_mdlm, strategies, prompt, name):
    def generate(**blocks):
        torch.manual_seed(0)
        return strategies[name](model=tiny_mdlm, input_ids=prompt.repeat(4, 1), **SETTINGS, **blocks)

    default = generate()
    assert torch.equal(default, generate(block_length=SETTINGS["max_new_tokens"]))
    assert not torch.equal(default, generate(block_length=3))
