"""Shared fixtures for the FLOW tests."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from datasets import Dataset

from hfplug.testing import fast_cpu_config

torch.set_num_threads(1)

COMPLETIONS = [" 5", " six, I think", " 5 is the answer", " the quick brown fox", " 3", " seven", " 42"]


@pytest.fixture
def qa_dataset() -> Dataset:
    """Seven prompt/completion pairs (an odd count, so one sample sits exactly at the median)."""
    return Dataset.from_dict(
        {"prompt": ["Question: What is 2 plus 3? Answer:"] * len(COMPLETIONS), "completion": COMPLETIONS}
    )


@pytest.fixture
def flow_args(tmp_path):
    """``flow_args(**overrides)`` -> a fast, exact (fp32) CPU FlowConfig writing under tmp_path."""
    from hfplug_flow.config import FlowConfig

    def make(**overrides: Any) -> FlowConfig:
        return fast_cpu_config(FlowConfig, tmp_path / "out", **overrides)

    return make
