"""Built-in verifiable rewards, with trl's ``reward_funcs`` signature.

``gsm8k_answer`` scores a completion 1.0 when its final answer equals the row's ``answer`` column,
so ``trainer: grpo`` with ``dataset: asset:gsm8k-prompts`` and ``reward_funcs: [gsm8k_answer]``
works out of the box (``examples/quickstart/grpo.yaml``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

# GSM8K's own convention ends a solution with "#### 72"; numbers may carry commas, a sign, decimals.
_MARKED_ANSWER = re.compile(r"####\s*\$?\s*(-?[\d,]*\.?\d+)")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def completion_text(completion: Any) -> str:
    """The text of one completion: a string (standard format) or a list of chat messages (conversational)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    return str(completion)


def final_number(text: str) -> float | None:
    """The number after the last ``####`` marker, or else the last number in ``text``; ``None`` if none."""
    marked = _MARKED_ANSWER.findall(text)
    candidates = marked or _NUMBER.findall(text)
    if not candidates:
        return None
    try:
        return float(candidates[-1].replace(",", ""))
    except ValueError:
        return None


def gsm8k_answer(
    prompts: Sequence[Any], completions: Sequence[Any], answer: Sequence[Any] | None = None, **columns: Any
) -> list[float | None]:
    """1.0 when a completion's final number equals the row's ``answer``, else 0.0.

    ``answer`` is a dataset column that trl passes by name. A row without an answer gets ``None``:
    trl then leaves this reward out for that row (rather than scoring it 0).
    """
    if answer is None:
        return [None] * len(completions)
    rewards: list[float | None] = []
    for completion, expected in zip(completions, answer, strict=True):
        target = final_number(str(expected)) if expected is not None else None
        if target is None:
            rewards.append(None)
            continue
        got = final_number(completion_text(completion))
        rewards.append(1.0 if got is not None and abs(got - target) < 1e-6 else 0.0)
    return rewards
