"""A plugin's strategy pushed to the Hub loads with a pinned revision, as docs/hub.md recommends:
transformers passes `revision=` on to the strategy's generate(), which must not refuse it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import hfplug
from hfplug.hub import push
from hfplug.testing import make_tiny_model, make_tiny_tokenizer

torch.set_num_threads(1)


def test_a_pushed_hispec_strategy_runs_pinned_to_a_revision(local_hub):
    pytest.importorskip("hfplug_hispec", reason="the hispec strategy comes with hfplug-hispec")
    from huggingface_hub import HfApi

    repo = local_hub.repo_id("hispec")
    push(Path(hfplug.load("generation", "hispec")), repo)
    revision = HfApi().model_info(repo).sha
    model = make_tiny_model(make_tiny_tokenizer(), num_hidden_layers=4).eval()
    prompt = torch.tensor([[1, 5, 9, 13]])
    expected = model.generate(prompt, do_sample=False, max_new_tokens=6)
    pinned = model.generate(
        prompt,
        custom_generate=repo,
        trust_remote_code=True,
        revision=revision,
        do_sample=False,
        max_new_tokens=6,
        draft_layer=1,
        verify_layer=2,
    )
    assert torch.equal(pinned, expected)  # greedy HiSpec is lossless
