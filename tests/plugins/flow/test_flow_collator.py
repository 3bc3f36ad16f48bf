"""FlowWeightCollator on its own: evaluation batches pass through untouched, sequence mode repeats each sample's
weight on its tokens (0 on padding, also padding-free), and the weights are float32 whatever torch's default."""

from __future__ import annotations

import pytest
import torch
from hfplug_flow.collator import BATCH_KEY, FlowWeightCollator


class RecordingCollator:
    """A stand-in for trl's collator: right-padded labels, and a record of what it was given."""

    def __init__(self):
        self.calls: list[list[dict]] = []

    def __call__(self, examples):
        self.calls.append(examples)
        width = max((len(example["input_ids"]) for example in examples), default=0)
        labels = torch.full((len(examples), width), -100)
        for row, example in enumerate(examples):
            labels[row, : len(example["input_ids"])] = torch.tensor(example["input_ids"])
        return {"labels": labels}


SEQUENCE_ROWS = [
    {"input_ids": [5, 6, 7], "flow_weight": 0.25},
    {"input_ids": [8], "flow_weight": 0.75},
]


@pytest.mark.parametrize("mode", ["sequence", "token"])
def test_examples_without_weight_columns_are_collated_unchanged(mode):
    base = RecordingCollator()
    examples = [{"input_ids": [1, 2], "extra": "kept"}, {"input_ids": [3], "extra": "too"}]
    batch = FlowWeightCollator(base, mode=mode)(examples)
    assert base.calls == [examples]
    assert BATCH_KEY not in batch
    assert batch["labels"].tolist() == [[1, 2], [3, -100]]
    empty = FlowWeightCollator(base, mode=mode)([])  # an empty batch is the base collator's business
    assert base.calls[-1] == [] and BATCH_KEY not in empty


def test_sequence_mode_repeats_each_samples_weight_on_its_tokens_and_zero_on_padding():
    base = RecordingCollator()
    batch = FlowWeightCollator(base, mode="sequence")(SEQUENCE_ROWS)
    assert base.calls == [[{"input_ids": [5, 6, 7]}, {"input_ids": [8]}]]  # the weight columns are stripped
    assert batch[BATCH_KEY].tolist() == [[0.25, 0.25, 0.25], [0.75, 0.0, 0.0]]
    flat = FlowWeightCollator(RecordingCollator(), mode="sequence", padding_free=True)([SEQUENCE_ROWS[0]])
    assert flat[BATCH_KEY].tolist() == [[0.25, 0.25, 0.25]]


def test_padding_free_batches_lay_the_samples_weights_end_to_end():
    def flattened(examples):
        ids = [token for example in examples for token in example["input_ids"]]
        return {"labels": torch.tensor([[*ids, -100]])}  # one row, one slot to spare

    batch = FlowWeightCollator(flattened, mode="sequence", padding_free=True)(SEQUENCE_ROWS)
    assert batch[BATCH_KEY].tolist() == [[0.25, 0.25, 0.25, 0.75, 0.0]]


@pytest.mark.parametrize("padding_free", [False, True])
@pytest.mark.parametrize("mode", ["sequence", "token"])
def test_weights_are_float32_even_when_torchs_default_dtype_is_float64(mode, padding_free):
    rows = [{**row, "flow_token_weights": [0.5] * len(row["input_ids"])} for row in SEQUENCE_ROWS]
    rows = rows[:1] if padding_free else rows
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        batch = FlowWeightCollator(RecordingCollator(), mode=mode, padding_free=padding_free)(rows)
    finally:
        torch.set_default_dtype(previous)
    assert batch[BATCH_KEY].dtype == torch.float32
