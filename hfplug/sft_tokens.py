"""Tokenize one SFT row into ``input_ids`` and ``labels`` the way trl's SFTTrainer reads it.

Plugins that score or pre-tokenize SFT data (FLOW's base-model losses, context-free mixing) use
this one function so that what they weight or mix is exactly what trl would train on:

- ``prompt``/``completion``: labels on the completion only (trl's ``completion_only_loss``
  default); conversational prompts go through the chat template with a generation prompt, plain
  text gets EOS appended to the completion.
- ``messages``: the chat template on the whole conversation; every token is a label
  (``messages_loss="all"``, trl's default) or only the last assistant turn
  (``messages_loss="last_assistant"``, "the response" of a method defined on responses).
- ``text`` (or the configured text field): EOS appended; every token is a label.
"""

from __future__ import annotations

from typing import Any

from hfplug.errors import DatasetError

IGNORE_INDEX = -100
MESSAGES_LOSS_CHOICES = ("all", "last_assistant")


def sft_row_format(row: dict[str, Any], text_field: str = "text") -> list[str]:
    """Which SFT columns ``row`` uses: ``["prompt", "completion"]``, ``["messages"]`` or ``[text_field]``."""
    if "prompt" in row and "completion" in row:
        return ["prompt", "completion"]
    if "messages" in row:
        return ["messages"]
    if text_field in row:
        return [text_field]
    raise DatasetError(f"An SFT row needs prompt/completion, messages or {text_field!r}; it has {', '.join(row)}.")


def tokenize_sft_row(
    row: dict[str, Any],
    tokenizer: Any,
    *,
    text_field: str = "text",
    messages_loss: str = "all",
    max_length: int | None = None,
    what: str = "SFT data",
) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)`` for one row, labels -100 outside the loss, cut to ``max_length`` (keeping the start)."""
    if messages_loss not in MESSAGES_LOSS_CHOICES:
        raise ValueError(f"messages_loss must be one of {MESSAGES_LOSS_CHOICES}, got {messages_loss!r}")
    columns = sft_row_format(row, text_field)
    if columns == ["prompt", "completion"]:
        prompt, completion = row["prompt"], row["completion"]
        if isinstance(prompt, list):  # conversational prompt/completion
            prompt_ids = _chat_ids(tokenizer, prompt, what, add_generation_prompt=True)
            full_ids = _chat_ids(tokenizer, prompt + completion, what)
        else:
            prompt_ids = _text_ids(tokenizer, prompt)
            full_ids = _text_ids(tokenizer, prompt + _with_eos(tokenizer, completion))
        input_ids, labels = full_ids, _mask_prefix(prompt_ids, full_ids)
    elif columns == ["messages"]:
        messages = row["messages"]
        input_ids = _chat_ids(tokenizer, messages, what)
        if messages_loss == "last_assistant" and messages and messages[-1].get("role") == "assistant":
            prompt_ids = _chat_ids(tokenizer, messages[:-1], what, add_generation_prompt=True)
            labels = _mask_prefix(prompt_ids, input_ids)
        else:
            labels = list(input_ids)
    else:
        input_ids = _text_ids(tokenizer, _with_eos(tokenizer, row[text_field]))
        labels = list(input_ids)
    if max_length is not None:
        input_ids, labels = input_ids[:max_length], labels[:max_length]
    return input_ids, labels


def _mask_prefix(prompt_ids: list[int], full_ids: list[int]) -> list[int]:
    # The prompt is the longest shared prefix: templates may merge the last prompt token differently.
    shared = 0
    for a, b in zip(prompt_ids, full_ids, strict=False):
        if a != b:
            break
        shared += 1
    return [IGNORE_INDEX] * shared + list(full_ids[shared:])


def _text_ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text=text)["input_ids"])


def _with_eos(tokenizer: Any, text: str) -> str:
    eos = tokenizer.eos_token
    return text if not eos or text.endswith(eos) else text + eos


def _chat_ids(
    tokenizer: Any, messages: list[dict[str, Any]], what: str, add_generation_prompt: bool = False
) -> list[int]:
    if not getattr(tokenizer, "chat_template", None):
        raise DatasetError(
            f"{what}: the data is conversational (messages) but the tokenizer has no chat template; "
            "set one on the tokenizer or give the data as prompt/completion or text."
        )
    encoded = tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, add_generation_prompt=add_generation_prompt
    )
    return list(encoded["input_ids"])
