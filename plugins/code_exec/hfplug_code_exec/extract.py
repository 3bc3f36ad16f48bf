"""Turning a model's completion into the program to run."""

from __future__ import annotations

import re
from typing import Any

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_PYTHON_TAGS = {"", "python", "py", "python3"}


def completion_text(completion: Any) -> str:
    """The text of a completion: a string, or the last assistant message of a chat completion."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        for message in reversed(completion):
            if isinstance(message, dict) and message.get("role", "assistant") == "assistant":
                content = message.get("content", "")
                return content if isinstance(content, str) else str(content)
        return ""
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    raise TypeError(f"a completion must be a string or a list of chat messages, got {type(completion).__name__}")


def extract_code(text: str) -> str:
    """The code in ``text``: the Python fenced blocks if there are any (the one that defines the most
    functions wins when there are several), else the whole text."""
    blocks = [body for tag, body in _FENCE.findall(text) if tag.lower() in _PYTHON_TAGS]
    if not blocks:
        return text
    return max(blocks, key=lambda body: (len(re.findall(r"^\s*def ", body, re.MULTILINE)), len(body)))
