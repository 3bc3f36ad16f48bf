"""The stock trl trainers as baselines, so every comparison can be run by name."""

from __future__ import annotations

import hfplug

# What trl's SFTTrainer can read: chat, prompt/completion, plain text, or already tokenized rows.
SFT_COLUMNS = [["messages"], ["prompt", "completion"], ["text"], ["input_ids"]]


@hfplug.hookimpl
def hfplug_register(registry) -> None:
    registry.trainer(
        "sft",
        "trl:SFTTrainer",
        config="trl:SFTConfig",
        summary="Supervised fine-tuning (trl SFTTrainer), the baseline for every SFT variant.",
        columns=SFT_COLUMNS,
    )
    registry.trainer(
        "dpo",
        "trl:DPOTrainer",
        config="trl:DPOConfig",
        summary="Direct Preference Optimization (trl DPOTrainer).",
        paper="arXiv:2305.18290",
        columns=[["prompt", "chosen", "rejected"], ["chosen", "rejected"]],
    )
    registry.trainer(
        "grpo",
        "trl:GRPOTrainer",
        config="trl:GRPOConfig",
        summary="Group Relative Policy Optimization (trl GRPOTrainer).",
        paper="arXiv:2402.03300",
        columns=[["prompt"]],
        needs_rewards=True,
    )
