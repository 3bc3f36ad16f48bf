"""Splitting rows into parts and chunks, and the chunk weights, against definitions written here: parts cover
every row once in order with sizes differing by at most one (larger first), chunks hold at most the limit, and the
weighted chunk losses of each trl loss family add up to that loss computed from the per-token losses of all rows."""

from __future__ import annotations

import math

import pytest
import torch
from hfplug_murphy.chunks import chunk_rows, chunk_weights, weighted_chunk_losses
from hfplug_murphy.split import part_sizes, split_rows


@pytest.mark.parametrize("rows", [0, 1, 5, 12, 13, 31])
@pytest.mark.parametrize("parts", [1, 2, 3, 4, 7])
def test_part_sizes_cover_every_row_evenly_with_larger_parts_first(rows, parts):
    sizes = part_sizes(rows, parts)
    assert len(sizes) == parts and sum(sizes) == rows
    assert max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)


def rows_batch(rows: int) -> dict:
    """A batch with every kind of value split_rows meets; a 0-d tensor comes first, so it must not set the count."""
    return {
        "num_items_in_batch": torch.tensor(7),
        "completion_ids": torch.arange(rows * 3).view(rows, 3),
        "completion_mask": torch.ones(rows, 3),
        "advantages": torch.arange(rows, dtype=torch.float32),
        "names": [f"row {i}" for i in range(rows)],
        "old_per_token_logps": None,
        "mode": "train",
    }


@pytest.mark.parametrize("parts", [1, 3, 4])
def test_split_rows_gives_each_row_to_one_part_in_order_and_shared_values_to_all(parts):
    batch = rows_batch(10)
    split = split_rows(batch, parts)
    assert [len(part["names"]) for part in split] == part_sizes(10, parts)
    assert [len(part["completion_ids"]) for part in split] == part_sizes(10, parts)
    assert [name for part in split for name in part["names"]] == batch["names"]
    for key in ("completion_ids", "completion_mask", "advantages"):
        assert torch.equal(torch.cat([part[key] for part in split]), batch[key])
    for part in split:
        assert part["num_items_in_batch"] is batch["num_items_in_batch"]
        assert part["old_per_token_logps"] is None and part["mode"] == "train"


@pytest.mark.parametrize(("rows", "limit"), [(1, 4), (4, 4), (5, 4), (9, 4), (10, 3), (7, 1)])
def test_chunk_rows_makes_as_few_chunks_as_the_limit_allows(rows, limit):
    batch = rows_batch(rows)
    chunks = chunk_rows(batch, limit)
    assert len(chunks) == math.ceil(rows / limit)
    assert all(chunk["completion_ids"].size(0) <= limit for chunk in chunks)
    assert torch.equal(torch.cat([chunk["completion_ids"] for chunk in chunks]), batch["completion_ids"])


def token_losses(rows: int, seed: int) -> dict:
    generator = torch.Generator().manual_seed(seed)
    mask = (torch.rand(rows, 5, generator=generator) < 0.6).float()
    mask[:, 0] = 1.0
    return {
        "completion_ids": torch.zeros(rows, 5, dtype=torch.long),
        "completion_mask": mask,
        "token_loss": torch.randn(rows, 5, generator=generator) * mask,
    }


def trl_loss(loss_type: str, inputs: dict, num_items_in_batch: float) -> torch.Tensor:
    """Each family's normalisation, as trl's GRPOTrainer divides: by the whole generation batch's tokens, by the
    tokens of the rows passed in, or a mean over those rows of each row's token mean."""
    loss, mask = inputs["token_loss"], inputs["completion_mask"]
    if loss_type == "dapo":
        return loss.sum() / num_items_in_batch
    if loss_type == "bnpo":
        return loss.sum() / mask.sum().clamp(min=1.0)
    return (loss.sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)).mean()


@pytest.mark.parametrize("loss_type", ["dapo", "bnpo", "grpo"])
@pytest.mark.parametrize(("rows", "limit"), [(7, 3), (9, 2), (5, 5)])
def test_weighted_chunk_losses_add_up_to_the_loss_on_all_rows(loss_type, rows, limit):
    inputs = token_losses(rows, seed=rows * limit)
    total_tokens = float(inputs["completion_mask"].sum())
    expected = trl_loss(loss_type, inputs, total_tokens)
    chunks = chunk_rows(inputs, limit)
    weights = chunk_weights(loss_type, chunks)
    summed = sum(w * trl_loss(loss_type, chunk, total_tokens) for chunk, w in zip(chunks, weights, strict=True))
    assert float(summed) == pytest.approx(float(expected), rel=1e-6)


def test_chunk_weights_by_family():
    chunks = [token_losses(3, seed=1), token_losses(2, seed=2)]
    tokens = [float(chunk["completion_mask"].sum()) for chunk in chunks]
    for loss_type in ("dapo", "cispo", "vespo"):
        assert chunk_weights(loss_type, chunks) == [1.0, 1.0]
    assert chunk_weights("bnpo", chunks) == pytest.approx([t / sum(tokens) for t in tokens])
    for loss_type in ("grpo", "sapo", "dr_grpo", "luspo"):
        assert chunk_weights(loss_type, chunks) == pytest.approx([3 / 5, 2 / 5])
    empty = [{"completion_mask": torch.zeros(2, 4)} for _ in range(4)]
    assert chunk_weights("bnpo", empty) == [0.25] * 4  # no token anywhere: every chunk counts alike
    with pytest.raises(ValueError, match="cannot split the loss type 'mystery'"):
        chunk_weights("mystery", chunks)


def test_every_chunk_but_the_last_is_backpropagated_and_the_total_is_returned():
    weight = torch.tensor([1.0, -2.0], requires_grad=True)
    chunks = [torch.tensor([1.0, 2.0]), torch.tensor([3.0, 0.5]), torch.tensor([-1.0, 4.0])]
    factors = [0.5, 0.25, 2.0]
    backpropagated = []

    def backward(loss):
        backpropagated.append(float(loss.detach()))
        loss.backward()

    result = weighted_chunk_losses(chunks, factors, loss_of=lambda x: (x * weight).sum(), backward=backward)
    values = [float((x * torch.tensor([1.0, -2.0])).sum()) * f for x, f in zip(chunks, factors, strict=True)]
    assert backpropagated == pytest.approx(values[:-1])
    assert float(result.detach()) == pytest.approx(sum(values))
    result.backward()  # the caller's backward adds the last chunk's gradient: the gradient of the whole sum
    expected = sum(f * x for x, f in zip(chunks, factors, strict=True))
    assert torch.allclose(weight.grad, expected)
    single = weighted_chunk_losses(chunks[:1], [3.0], loss_of=lambda x: (x * weight).sum(), backward=backward)
    assert float(single.detach()) == pytest.approx(3 * values[0] / factors[0]) and len(backpropagated) == 2
    with pytest.raises(ValueError, match="no rows to train on"):
        weighted_chunk_losses([], [], loss_of=lambda x: x, backward=backward)
