"""Shared fixtures for the TALR tests: a small prompt/completion dataset and a config factory."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from datasets import Dataset

from hfplug.testing import fast_cpu_config

torch.set_num_threads(1)

COMPLETIONS = [" 5", " six, I think", " 5 is the answer", " the quick brown fox", " 3", " seven", " 42", " zero"]


@pytest.fixture
def qa_dataset() -> Dataset:
    """Eight prompt/completion pairs of different lengths (so per-token losses differ)."""
    return Dataset.from_dict(
        {"prompt": ["Question: What is 2 plus 3? Answer:"] * len(COMPLETIONS), "completion": COMPLETIONS}
    )


@pytest.fixture
def talr_args(tmp_path):
    """``talr_args(**overrides)`` -> a fast CPU TALRConfig writing under tmp_path."""
    from hfplug_talr.config import TALRConfig

    def make(**overrides: Any) -> TALRConfig:
        return fast_cpu_config(TALRConfig, tmp_path / "out", **overrides)

    return make
