"""Turn one example into token ids and labels with the prompt masked, the way trl's SFTTrainer reads it.

FLOW's loss is the mean cross-entropy over *response* tokens: the completion of a prompt/completion
example, the last assistant turn of a ``messages`` example, every token of a ``text`` example.
"""

from __future__ import annotations

from typing import Any

IGNORE_INDEX = -100


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _encode(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _render(tokenizer: Any, messages: list[dict[str, Any]], *, add_generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)


def _with_eos(tokenizer: Any, text: str) -> str:
    eos = tokenizer.eos_token
    return text if not eos or text.endswith(eos) else text + eos


def prompt_and_full_ids(
    example: dict[str, Any], tokenizer: Any, text_field: str = "text"
) -> tuple[list[int], list[int]]:
    """``(prompt_ids, full_ids)``; the response is ``full_ids`` after their common prefix."""
    if "prompt" in example and "completion" in example:
        prompt, completion = example["prompt"], example["completion"]
        if isinstance(prompt, list):  # conversational prompt/completion
            prompt_ids = _encode(tokenizer, _render(tokenizer, prompt, add_generation_prompt=True))
            full_ids = _encode(tokenizer, _render(tokenizer, prompt + completion, add_generation_prompt=False))
            return prompt_ids, full_ids
        return _encode(tokenizer, prompt), _encode(tokenizer, _with_eos(tokenizer, prompt + completion))
    if "messages" in example:
        messages = example["messages"]
        full_ids = _encode(tokenizer, _render(tokenizer, messages, add_generation_prompt=False))
        if messages and messages[-1].get("role") == "assistant":
            prompt_ids = _encode(tokenizer, _render(tokenizer, messages[:-1], add_generation_prompt=True))
        else:
            prompt_ids = []
        return prompt_ids, full_ids
    return [], _encode(tokenizer, _with_eos(tokenizer, example[text_field]))


def tokenize_with_labels(
    example: dict[str, Any], tokenizer: Any, *, max_length: int | None, text_field: str = "text"
) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)`` truncated to ``max_length`` (keeping the start), labels -100 on the prompt."""
    prompt_ids, full_ids = prompt_and_full_ids(example, tokenizer, text_field)
    prompt_length = _common_prefix(prompt_ids, full_ids)
    labels = [IGNORE_INDEX] * prompt_length + full_ids[prompt_length:]
    if max_length is not None:
        full_ids, labels = full_ids[:max_length], labels[:max_length]
    return full_ids, labels
