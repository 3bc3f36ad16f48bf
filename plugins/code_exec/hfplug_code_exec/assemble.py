"""Program assembly: the prompt and the model's completion -> the program that runs.

A prompt contributes code only when it is a Python stub that parses (a function or class stub,
with or without a docstring or a body) and the completion continues it; prose and chat prompts
contribute nothing. Completions may be a function body, a whole function (which replaces the
stub's function cleanly: imports and helpers of the stub stay), fenced blocks with explanation
around them, or chat messages. Only parsing happens here; nothing is executed.
"""

from __future__ import annotations

import ast
import re
import textwrap
from typing import Any

from hfplug_code_exec.extract import completion_text, extract_code

_CODE_START = re.compile(r"^(def |async def |class |import |from |@)", re.MULTILINE)


def parses(source: str) -> ast.Module | None:
    """The module if ``source`` is valid Python, else None (compiling only: nothing runs)."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def code_stub(prompt: Any) -> tuple[str, ast.Module] | None:
    """``(source, tree)`` when the prompt is a Python stub; None for prose, chat messages or nothing.

    A stub may end in a function header with no body (``def add(a, b):``): it parses once a body
    is added, and that is how it is recognised.
    """
    if not isinstance(prompt, str) or not prompt.strip():
        return None
    tree = parses(prompt)
    if tree is None:
        padded = prompt if prompt.endswith("\n") else prompt + "\n"
        indent = _body_indent(prompt)
        tree = parses(padded + " " * indent + "pass\n")
    if tree is None or not any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) for n in tree.body):
        return None
    return prompt, tree


def _body_indent(prompt: str) -> int:
    """Indentation of the body that the last line of a stub opens."""
    lines = [line for line in prompt.rstrip().splitlines() if line.strip()]
    if not lines:
        return 4
    last = lines[-1]
    return len(last) - len(last.lstrip()) + 4


def _code_from_prose(text: str) -> str:
    """Code that follows explanation without a fence: from the first line that starts code, trimming
    trailing prose lines until it parses; the text unchanged if nothing parses."""
    match = _CODE_START.search(text)
    if match is None:
        return text
    lines = text[match.start() :].splitlines()
    for end in range(len(lines), 0, -1):
        candidate = "\n".join(lines[:end]) + "\n"
        if parses(candidate) is not None:
            return candidate
    return text


def completion_code(completion: Any) -> str:
    """The code a completion offers: fenced blocks, else the text, else code found inside prose."""
    text = completion_text(completion)
    code = extract_code(text)
    if parses(textwrap.dedent(code)) is None and parses(code) is None:
        found = _code_from_prose(code)
        if found is not code:
            return found
    return code


def _top_level_names(tree: ast.Module) -> set[str]:
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}


def _without(prompt: str, tree: ast.Module, names: set[str]) -> str:
    """The stub with its definitions of ``names`` removed (decorators included), the rest kept."""
    lines = prompt.splitlines(keepends=True)
    drop: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name in names:
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            drop.update(range(start - 1, min(node.end_lineno or len(lines), len(lines))))
    return "".join(line for i, line in enumerate(lines) if i not in drop)


def build_program(prompt: Any, completion: Any, entry_point: str = "") -> str:
    """The program for one completion (see the module docstring for the rules)."""
    code = completion_code(completion)
    stub = code_stub(prompt)
    whole = textwrap.dedent(code)
    whole_tree = parses(whole)
    if stub is None:
        return whole if whole_tree is not None else code
    prompt_text, stub_tree = stub
    if whole_tree is not None:
        defined = _top_level_names(whole_tree)
        replaced = defined & (_top_level_names(stub_tree) | ({entry_point} if entry_point else set()))
        if replaced:  # a whole solution: it replaces the stub's definitions of the same names
            rest = _without(prompt_text, stub_tree, replaced).rstrip()
            return f"{rest}\n\n{whole}" if rest else whole
    joined = prompt_text if prompt_text.endswith("\n") else prompt_text + "\n"
    if parses(joined + code) is not None:  # a body that continues the stub
        return joined + code
    indented = textwrap.indent(whole, " " * _body_indent(prompt_text))
    if parses(joined + indented) is not None:  # a body written without its indentation
        return joined + indented
    return joined + code  # does not parse: the run reports the SyntaxError to the model
