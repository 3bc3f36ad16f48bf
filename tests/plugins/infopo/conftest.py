"""Shared fixtures for the InfoPO tests: a small preference dataset, config factories, and log-probabilities
computed without trl (plain forward, log-softmax, gather) as the reference the trainer is checked against."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from datasets import Dataset

from hfplug.testing import fast_cpu_config

torch.set_num_threads(1)

PROMPTS = [
    "Question: What is 2 plus 3? Answer:",
    "Question: What is 7 minus 4? Answer:",
    "Question: Who jumps over the lazy dog? Answer:",
    "Question: What is 1 plus 1? Answer:",
]
CHOSEN = [" 5", " 3", " the quick brown fox", " 2"]
REJECTED = [" six, I think", " 11 or so", " a cat", " 42 is the answer"]


def preference_rows(count: int = 8) -> dict[str, list[str]]:
    """``count`` prompt/chosen/rejected rows; chosen and rejected differ in length (so averaging matters)."""
    index = [i % len(PROMPTS) for i in range(count)]
    return {
        "prompt": [PROMPTS[i] for i in index],
        "chosen": [CHOSEN[i] for i in index],
        "rejected": [REJECTED[i] for i in index],
    }


@pytest.fixture
def rows_of():
    """``rows_of(count)`` -> a dict of ``count`` prompt/chosen/rejected rows."""
    return preference_rows


@pytest.fixture
def preference_dataset() -> Dataset:
    return Dataset.from_dict(preference_rows())


@pytest.fixture
def independent_log_ratios():
    """``independent_log_ratios(policy, reference, tokenizer, rows, length_average=...)`` -> (chosen, rejected)."""
    return pair_log_ratios


@pytest.fixture
def infopo_args(tmp_path):
    """``infopo_args(**overrides)`` -> a fast CPU InfoPOConfig writing under tmp_path."""
    from hfplug_infopo.config import InfoPOConfig

    def make(**overrides: Any) -> InfoPOConfig:
        return fast_cpu_config(InfoPOConfig, tmp_path / "out", **overrides)

    return make


def completion_log_probs(model, tokenizer, prompt: str, completion: str) -> tuple[torch.Tensor, int]:
    """``(sum of log p(completion token | prefix), number of completion tokens)`` under ``model``.

    The completion ends with the tokenizer's EOS, as trl appends it to plain-text preference data. The sum
    keeps its graph, so gradients can be compared.
    """
    prompt_ids = tokenizer(prompt)["input_ids"]
    full_ids = tokenizer(prompt + completion + tokenizer.eos_token)["input_ids"]
    assert full_ids[: len(prompt_ids)] == prompt_ids, "the prompt must tokenize to a prefix for this reference"
    ids = torch.tensor([full_ids])
    log_probs = model(input_ids=ids).logits[0, :-1].float().log_softmax(-1)
    token_log_probs = log_probs.gather(-1, ids[0, 1:, None]).squeeze(-1)
    # Position t predicts token t + 1: the completion tokens are predicted from position len(prompt) - 1 on.
    completion = token_log_probs[len(prompt_ids) - 1 :]
    return completion.sum(), completion.numel()


def pair_log_ratios(policy, reference, tokenizer, rows: dict[str, list[str]], *, length_average: bool):
    """Chosen and rejected log-ratios of every row, as two 1-d tensors (with the policy's graph)."""
    chosen, rejected = [], []
    for prompt, good, bad in zip(rows["prompt"], rows["chosen"], rows["rejected"], strict=True):
        for completion, into in ((good, chosen), (bad, rejected)):
            policy_sum, count = completion_log_probs(policy, tokenizer, prompt, completion)
            with torch.no_grad():
                reference_sum, _ = completion_log_probs(reference, tokenizer, prompt, completion)
            ratio = policy_sum - reference_sum
            into.append(ratio / count if length_average else ratio)
    return torch.stack(chosen), torch.stack(rejected)
