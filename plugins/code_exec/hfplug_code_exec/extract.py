"""Turning a model's completion into the program to run."""

from __future__ import annotations

import re
import textwrap
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


def build_program(prompt_code: str, completion: Any, entry_point: str) -> str:
    """The program for a HumanEval-style task.

    If the extracted code defines ``entry_point`` it is a whole solution and is appended after the
    prompt (so the prompt's helpers stay available); otherwise it continues the prompt's function body.
    """
    code = extract_code(completion_text(completion))
    defines = re.search(rf"^\s*(async\s+)?def\s+{re.escape(entry_point)}\s*\(", code, re.MULTILINE)
    if defines:
        return f"{prompt_code}\n\n{textwrap.dedent(code)}\n" if prompt_code else textwrap.dedent(code)
    return prompt_code + code
