"""The demo's task: write a date given in words as ISO YYYY-MM-DD, scored by exact match.

SmolLM2-135M-Instruct knows the months and copies digits well, but answers "Write October 28, 1967
as YYYY-MM-DD." with "October 28, 1967." (0 of 40 held-out dates right, measured). A few hundred
examples teach it the format in a couple of minutes of CPU training, and the held-out score says
how well it generalised to dates it never saw. Train and held-out dates come from different seeds,
so no held-out question appears in training.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hfplug.testing import write_jsonl

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
TRAIN_SEED, HELD_OUT_SEED = 0, 1


def date_questions(count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` (question, answer) pairs; the date is written "October 28, 1967" or "28 October 1967"."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        year, month, day = rng.randint(1950, 2030), rng.randint(1, 12), rng.randint(1, 28)
        name = MONTHS[month - 1]
        written = f"{name} {day}, {year}" if rng.random() < 0.5 else f"{day} {name} {year}"
        pairs.append((f"Write {written} as YYYY-MM-DD.", f"{year:04d}-{month:02d}-{day:02d}"))
    return pairs


def write_task(folder: Path, train_rows: int, held_out_rows: int) -> tuple[Path, list[tuple[str, str]]]:
    """The training file (conversational prompt/completion, so the loss is on the answer only) and the
    held-out pairs. Held-out questions that happen to be in the training set are dropped."""
    train = date_questions(train_rows, TRAIN_SEED)
    seen = {question for question, _ in train}
    held_out = [pair for pair in date_questions(held_out_rows * 2, HELD_OUT_SEED) if pair[0] not in seen]
    rows = [
        {"prompt": [{"role": "user", "content": q}], "completion": [{"role": "assistant", "content": a}]}
        for q, a in train
    ]
    folder.mkdir(parents=True, exist_ok=True)
    return write_jsonl(folder / "dates-train.jsonl", rows), held_out[:held_out_rows]


@dataclass
class Score:
    """Exact matches on the held-out dates, with a 95% Wilson interval, and a few answers to show."""

    correct: int
    total: int
    examples: list[tuple[str, str, str]]  # (question, answer given, expected)

    def interval(self) -> tuple[float, float]:
        n, p, z = self.total, self.correct / self.total, 1.96
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, centre - half), min(1.0, centre + half)

    def __str__(self) -> str:
        low, high = self.interval()
        return f"{self.correct}/{self.total} = {self.correct / self.total:.0%} (95% CI {low:.0%}-{high:.0%})"


def score(model: Any, tokenizer: Any, pairs: list[tuple[str, str]], batch_size: int = 20) -> Score:
    """Greedy answers to every question, batched (left padding), compared with the expected date."""
    import torch

    tokenizer.padding_side = "left"
    model.eval()
    answers: list[str] = []
    for start in range(0, len(pairs), batch_size):
        chats = [[{"role": "user", "content": q}] for q, _ in pairs[start : start + batch_size]]
        inputs = tokenizer.apply_chat_template(
            chats, add_generation_prompt=True, return_tensors="pt", return_dict=True, padding=True
        )
        with torch.no_grad():
            output = model.generate(**inputs, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id)
        answers += tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    results = [(q, given.strip(), expected) for (q, expected), given in zip(pairs, answers, strict=True)]
    correct = sum(given == expected for _, given, expected in results)
    return Score(correct=correct, total=len(pairs), examples=results[:3])
