"""Token-mode weights follow the tokens trl keeps when it truncates (either end); ``max_length`` keys the
loss cache; which weights training accepts (0 and tiny yes; NaN, +-inf and negative no); the defaults the
README tags [code] or [ours]."""

from __future__ import annotations

import math

import pytest
import torch
from datasets import Dataset
from hfplug_flow.collator import BATCH_KEY, FlowWeightCollator
from hfplug_flow.config import FlowConfig
from hfplug_flow.data import FlowWeightsConfig, flow_weights
from hfplug_flow.trainer import FlowTrainer
from hfplug_flow.weighting import compute_flow_weights, weights_from_losses

from hfplug.data import DataContext
from hfplug.errors import DatasetError


def first_batch(trainer) -> dict:
    trainer.model.train()
    return trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))


def labels_only(examples):
    """A stand-in for trl's collator: right-padded labels, the shape the weights must match."""
    width = max(len(example["input_ids"]) for example in examples)
    labels = torch.full((len(examples), width), -100)
    for row, example in enumerate(examples):
        labels[row, : len(example["input_ids"])] = torch.tensor(example["input_ids"])
    return {"labels": labels}


@pytest.mark.parametrize(("truncation_mode", "kept"), [("keep_start", [0.1, 0.2, 0.3]), ("keep_end", [0.3, 0.4, 0.5])])
def test_collator_cuts_token_weights_at_the_end_trl_cut(truncation_mode, kept):
    """Ids already truncated to 3 of 5 tokens: the weights kept are those of the same 3 tokens."""
    example = {"input_ids": [7, 8, 9], "flow_weight": 1.0, "flow_token_weights": [0.1, 0.2, 0.3, 0.4, 0.5]}
    short = {"input_ids": [4], "flow_weight": 1.0, "flow_token_weights": [0.9, 0.8]}
    collator = FlowWeightCollator(labels_only, mode="token", truncation_mode=truncation_mode)
    batch = collator([example, short])
    short_kept = [0.9] if truncation_mode == "keep_start" else [0.8]
    assert batch[BATCH_KEY].tolist() == [pytest.approx(kept), pytest.approx([*short_kept, 0.0, 0.0])]
    flat = FlowWeightCollator(labels_only, mode="token", truncation_mode=truncation_mode, padding_free=True)([example])
    assert flat[BATCH_KEY].tolist() == [pytest.approx(kept)]


@pytest.mark.parametrize("truncation_mode", ["keep_start", "keep_end"])
def test_trainer_weights_belong_to_the_tokens_it_trains_on(tiny_model, tiny_tokenizer, flow_args, truncation_mode):
    """Long, distinct completions, every row cut by trl and still holding response tokens at either end."""
    completions = [" the quick brown fox jumps over", " one two three four five six", " alpha beta gamma delta eps"]
    dataset = Dataset.from_dict({"prompt": ["Q: say it. A:"] * 3, "completion": completions})
    weighted = compute_flow_weights(tiny_model, tiny_tokenizer, dataset, mode="token", max_length=None)
    lengths = [len(ids) for ids in weighted["input_ids"]]
    max_length = min(lengths) - 2
    trainer = FlowTrainer(
        tiny_model,
        args=flow_args(flow_mode="token", max_length=max_length, truncation_mode=truncation_mode),
        train_dataset=weighted,
        processing_class=tiny_tokenizer,
    )
    batch = first_batch(trainer)
    cut = (lambda values: values[:max_length]) if truncation_mode == "keep_start" else (lambda v: v[-max_length:])
    by_ids = {tuple(cut(row["input_ids"])): cut(row["flow_token_weights"]) for row in weighted}
    assert len(by_ids) == len(weighted)  # the cut rows still tell the samples apart
    for row in range(batch["input_ids"].shape[0]):
        ids = batch["input_ids"][row][batch["attention_mask"][row].bool()].tolist()
        assert len(ids) == max_length
        assert batch["flow_token_weight"][row, :max_length].tolist() == pytest.approx(by_ids[tuple(ids)])


def test_max_length_is_part_of_the_cache_key(tmp_path, tiny_model, tiny_tokenizer, qa_dataset):
    """The same data at another max_length gets its own entry and its own (uncached) losses."""
    folder = tmp_path / "base"
    tiny_model.save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    longest = max(len(tiny_tokenizer(p + c).input_ids) for p, c in zip(*qa_dataset[:].values(), strict=True))
    short = longest - 2  # cuts the longest completions, keeps a response token everywhere

    def run(max_length):
        context = DataContext(model_name_or_path=str(folder), cache_dir=tmp_path / "cache")
        return flow_weights(qa_dataset, FlowWeightsConfig(max_length=max_length), context)

    full, cut = run(1024), run(short)
    assert len(list((tmp_path / "cache" / "flow_weights").glob("*.json"))) == 2
    expected = compute_flow_weights(tiny_model, tiny_tokenizer, qa_dataset, max_length=short)
    assert cut["flow_loss"] == pytest.approx(expected["flow_loss"])
    assert cut["flow_loss"] != pytest.approx(full["flow_loss"])


@pytest.mark.parametrize(
    ("weights", "bad_rows"),
    [
        ([1.0, math.inf, 1.0, 1.0, 1.0, 1.0, 1.0], "rows 1"),
        ([1.0, 1.0, -math.inf, 1.0, 1.0, 1.0, math.nan], "rows 2, 6"),
        ([-1e-12, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], "rows 0"),
    ],
)
def test_infinite_and_negative_weights_are_refused(
    tiny_model, tiny_tokenizer, qa_dataset, flow_args, weights, bad_rows
):
    dataset = qa_dataset.add_column("flow_weight", weights)
    with pytest.raises(DatasetError, match=rf"NaN, infinite or negative weight\(s\) \({bad_rows}\)"):
        FlowTrainer(tiny_model, args=flow_args(), train_dataset=dataset, processing_class=tiny_tokenizer)


def test_zero_and_tiny_weights_are_valid(tiny_model, tiny_tokenizer, qa_dataset, flow_args):
    """nan_policy='zero' writes weight 0; exp(-l/tau) of a hard sample can be tiny: both train."""
    weights = [0.0, 1e-300, 0.5, 1.0, 1.0, 0.0, 2.0]
    trainer = FlowTrainer(
        tiny_model,
        args=flow_args(),
        train_dataset=qa_dataset.add_column("flow_weight", weights),
        processing_class=tiny_tokenizer,
    )
    assert trainer.train_dataset is not None


def test_infinite_base_loss_counts_as_missing():
    with pytest.raises(DatasetError, match=r"NaN or infinite for 2 sample\(s\) \(rows 1, 3\)"):
        weights_from_losses([1.0, math.inf, 2.0, math.nan, 3.0])
    tau, weights = weights_from_losses([1.0, math.inf, 2.0, -math.inf, 3.0], nan_policy="zero")
    assert tau == 2.0  # the median of the finite losses only
    assert weights == pytest.approx([math.exp(-0.5), 0.0, math.exp(-1.0), 0.0, math.exp(-1.5)])


def test_readme_defaults():
    """README tables: mode sequence [code], batch_size 8, max_length 1024, nan_policy error, use_cache true
    [ours]; the trainer's flow_mode sequence [code]."""
    transform = FlowWeightsConfig()
    assert (transform.mode, transform.batch_size, transform.max_length) == ("sequence", 8, 1024)
    assert (transform.nan_policy, transform.use_cache, transform.text_field) == ("error", True, "text")
    assert FlowConfig(output_dir="unused", report_to=[]).flow_mode == "sequence"
