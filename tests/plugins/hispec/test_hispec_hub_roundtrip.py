"""Pushed to a Hub (the local test double), a strategy folder runs from plain transformers by repo id,
shared modules (symlinked in the package) included."""

from __future__ import annotations

from pathlib import Path

import torch

import hfplug
from hfplug.hub import push


def test_self_spec_runs_from_the_hub(local_hub, disagreeing_model, prompt):
    repo_id = local_hub.repo_id("self-spec")
    folder = Path(hfplug.load("generation", "self_spec"))  # the installed package's own folder
    readme_before = (folder / "README.md").read_text()
    push(folder, repo_id)
    assert (folder / "README.md").read_text() == readme_before  # a strategy's package files never change
    expected = disagreeing_model.generate(prompt, do_sample=False, max_new_tokens=10)
    output = disagreeing_model.generate(
        prompt, custom_generate=repo_id, trust_remote_code=True, do_sample=False, max_new_tokens=10, draft_layer=3
    )
    assert torch.equal(output, expected)
