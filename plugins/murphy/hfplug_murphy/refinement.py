"""Refinement prompts: the task, one failed attempt and its (public) execution feedback.

A refinement prompt is built from one node only: its own conditioning context, its own code and
the feedback the grader wrote for it. Nothing from a sibling and nothing from the hidden tests
can enter it (the grader's feedback is public-only by the contract in ``hfplug.feedback``).
"""

from __future__ import annotations

from typing import Any

from hfplug_murphy.tree import Node, RolloutTree

TRUNCATION_NOTE = "\n[feedback truncated]"
NO_FEEDBACK = "(the grader gave no details)"


def completion_text(completion: Any) -> str:
    """The text of a completion as trl decodes it: a string, or chat messages (assistant content)."""
    if isinstance(completion, str):
        return completion
    return "".join(str(message.get("content", "")) for message in completion)


def truncate_feedback(feedback: str, tokenizer: Any, max_tokens: int) -> str:
    """``feedback`` cut to ``max_tokens`` tokens of ``tokenizer`` (with a note saying it was cut)."""
    feedback = feedback.strip() or NO_FEEDBACK
    ids = tokenizer(feedback, add_special_tokens=False)["input_ids"]
    if len(ids) <= max_tokens:
        return feedback
    return tokenizer.decode(ids[:max_tokens], skip_special_tokens=True) + TRUNCATION_NOTE


def refinement_prompt(
    tree: RolloutTree, node: Node, *, template: str, context: str, tokenizer: Any, max_feedback_tokens: int
) -> Any:
    """The prompt that asks the model to fix ``node``.

    ``context='last'`` starts from the task prompt, ``'full'`` from the node's own conditioning
    prompt (the chain of earlier attempts that led to it). Chat prompts get the attempt as an
    assistant turn and the filled template as a user turn; plain-text prompts get both appended.
    """
    code = completion_text(node.completion)
    feedback = truncate_feedback(node.feedback, tokenizer, max_feedback_tokens)
    message = template.format(feedback=feedback, code=code)
    base = tree.task_prompt if context == "last" else node.prompt
    if isinstance(base, str):
        return f"{base}{code}\n\n{message}\n\n"
    return [*base, {"role": "assistant", "content": code}, {"role": "user", "content": message}]
