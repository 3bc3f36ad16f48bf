"""Tasks: from trl's generation batch to one tree per task, and the checks that a task is gradable.

Bad tasks (no tests, a test format the reward cannot run) must fail before any generation. A
grading reward that offers ``validate`` (see ``hfplug.feedback``) checks the whole training set
when the trainer is built; otherwise every task is probed once, on first sight and before its
batch is generated, by grading an empty answer, which a gradable task simply fails.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hfplug.errors import DatasetError, HfplugError
from hfplug.feedback import task_validator
from hfplug_murphy.tree import RolloutTree

NOT_REWARD_COLUMNS = ("prompt", "completion", "completion_ids")
"""Columns trl does not hand to reward functions (the completion is the model's)."""

VALIDATION_CHUNK = 512


def trees_from_inputs(inputs: Sequence[dict[str, Any]], group_size: int) -> list[RolloutTree]:
    """One empty tree per task: trl's batch repeats every row ``group_size`` times in a row."""
    if len(inputs) % group_size:
        raise HfplugError(f"the generation batch has {len(inputs)} rows, not a multiple of {group_size} generations.")
    trees = []
    for start in range(0, len(inputs), group_size):
        rows = inputs[start : start + group_size]
        if any(row["prompt"] != rows[0]["prompt"] for row in rows):
            raise HfplugError(
                "Murphy needs each sibling group on one process: rows "
                f"{start}..{start + group_size - 1} of the batch hold different prompts. Make "
                "per_device_train_batch_size * steps_per_generation a multiple of num_generations."
            )
        columns = {key: value for key, value in rows[0].items() if key not in NOT_REWARD_COLUMNS}
        trees.append(RolloutTree(task_prompt=rows[0]["prompt"], columns=columns))
    return trees


def empty_answer(prompt: Any) -> Any:
    """An empty completion in the prompt's format (a string, or one assistant message)."""
    return "" if isinstance(prompt, str) else [{"role": "assistant", "content": ""}]


def describe(prompt: Any, limit: int = 80) -> str:
    text = prompt if isinstance(prompt, str) else " / ".join(str(m.get("content", "")) for m in prompt)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validate_dataset(grader: Any, dataset: Any) -> bool:
    """Run the grader's ``validate`` over ``dataset`` (chunked); False when it has none.

    Raises :class:`DatasetError` naming the first row the grader refuses.
    """
    validate = task_validator(grader)
    if validate is None or not hasattr(dataset, "__len__"):
        return False
    for start in range(0, len(dataset), VALIDATION_CHUNK):
        chunk = dataset[start : start + VALIDATION_CHUNK]
        prompts = chunk["prompt"]
        columns = {k: v for k, v in chunk.items() if k not in NOT_REWARD_COLUMNS}
        try:
            validate(prompts, **columns)
        except Exception:
            _name_bad_row(validate, grader, prompts, columns, start)
    return True


def _name_bad_row(validate: Any, grader: Any, prompts: list[Any], columns: dict[str, list[Any]], start: int) -> None:
    for i, prompt in enumerate(prompts):
        try:
            validate([prompt], **{k: [v[i]] for k, v in columns.items()})
        except Exception as error:
            raise DatasetError(
                f"training row {start + i} ({describe(prompt)!r}): the grading reward {_name(grader)!r} cannot grade "
                f"it: {error}"
            ) from error
    raise DatasetError(f"the grading reward {_name(grader)!r} refused rows {start}..{start + len(prompts) - 1}.")


class TaskProbe:
    """Grades an empty answer for each task never seen before; a grader that raises names a bad row."""

    def __init__(self, grader: Any) -> None:
        self.grader = grader
        self.seen: set[str] = set()
        self.executions = 0

    def __call__(self, trees: Sequence[RolloutTree]) -> None:
        fresh: dict[str, RolloutTree] = {}
        for tree in trees:
            key = _task_key(tree)
            if key not in self.seen:
                fresh.setdefault(key, tree)
        if not fresh:
            return
        tasks = list(fresh.values())
        try:
            self._grade(tasks)
        except Exception:
            for tree in tasks:
                try:
                    self._grade([tree])
                except Exception as error:
                    raise DatasetError(
                        f"task {describe(tree.task_prompt)!r}: the grading reward {_name(self.grader)!r} cannot grade "
                        f"it: {error}"
                    ) from error
            raise
        self.seen.update(fresh)

    def _grade(self, tasks: list[RolloutTree]) -> None:
        columns = {key: [tree.columns.get(key) for tree in tasks] for key in tasks[0].columns}
        self.executions += len(tasks)
        self.grader.grade([t.task_prompt for t in tasks], [empty_answer(t.task_prompt) for t in tasks], **columns)


def _task_key(tree: RolloutTree) -> str:
    return json.dumps([tree.task_prompt, tree.columns], sort_keys=True, default=str)


def _name(grader: Any) -> str:
    return getattr(grader, "__name__", type(grader).__name__)
