"""The demo's task (examples/quickstart/dates.py): deterministic data, a held-out set disjoint from training,
and a scorer that runs on any causal LM (the demo itself needs SmolLM2 and minutes; see README)."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "quickstart"))

from dates import Score, date_questions, score, write_task


def test_training_and_held_out_dates_are_deterministic_and_disjoint(tmp_path):
    train_file, held_out = write_task(tmp_path, train_rows=400, held_out_rows=40)
    rows = [json.loads(line) for line in train_file.read_text().splitlines()]
    assert len(rows) == 400 and len(held_out) == 40
    questions = {row["prompt"][0]["content"] for row in rows}
    assert not questions & {question for question, _ in held_out}
    assert rows[0]["completion"][0]["content"] == date_questions(1, 0)[0][1]  # same seed, same data
    assert all(len(answer) == 10 and answer[4] == answer[7] == "-" for _, answer in held_out)


def test_wilson_interval():
    assert Score(0, 40, []).interval() == pytest.approx((0.0, 0.0876), abs=1e-3)
    low, high = Score(36, 40, []).interval()
    assert low < 0.9 < high and str(Score(36, 40, [])).startswith("36/40 = 90% (95% CI")


def test_score_runs_on_a_tiny_model(tiny_model, tiny_tokenizer):
    pairs = date_questions(3, 5)
    result = score(tiny_model, tiny_tokenizer, pairs, batch_size=2)
    assert result.total == 3 and 0 <= result.correct <= 3 and len(result.examples) == 3
