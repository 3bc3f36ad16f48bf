"""Mixing: realized ratio, every generated token a label, task rows as trl would tokenize them."""

from __future__ import annotations

import pytest
from datasets import Dataset
from hfplug_context_free import ContextFreeConfig, context_free_count, draw_context_free_samples, mix_context_free

import hfplug
from hfplug.data import DataContext

CHATS = Dataset.from_dict(
    {
        "messages": [
            [{"role": "user", "content": f"What is {i} plus {i}?"}, {"role": "assistant", "content": str(2 * i)}]
            for i in range(30)
        ]
    }
)
PAIRS = Dataset.from_dict(
    {"prompt": [f"Question: What is {i} plus 3? Answer:" for i in range(30)], "completion": [" 5"] * 30}
)
CHAT_PAIRS = Dataset.from_dict(
    {
        "prompt": [[{"role": "user", "content": f"What is {i} minus 4?"}] for i in range(30)],
        "completion": [[{"role": "assistant", "content": "3"}] for _ in range(30)],
    }
)
TEXTS = Dataset.from_dict({"text": [f"Once upon a time {i} foxes jumped." for i in range(30)]})
SMALL = {"max_new_tokens": 5, "batch_size": 8, "progress": False}


def run_transform(dataset, tokenizer, model, tmp_path, **fields):
    transform = hfplug.load("data", "context_free")
    config = hfplug.load_config("data", "context_free")(**{**SMALL, **fields})
    context = DataContext(tokenizer=tokenizer, model=model, cache_dir=tmp_path, seed=5)
    return transform(dataset, config, context)


@pytest.mark.parametrize("ratio", [0.0, 0.1, 0.25, 0.5, 0.9])
def test_realized_ratio_matches_configured_ratio(ratio, tmp_path, tiny_model, tiny_tokenizer):
    mixed = run_transform(TEXTS, tiny_tokenizer, tiny_model, tmp_path, ratio=ratio)
    generated = sum(mixed["context_free"])
    assert len(mixed) - generated == len(TEXTS)
    assert generated == context_free_count(len(TEXTS), ratio)
    # Rounding one row is the only allowed deviation.
    assert abs(generated / len(mixed) - ratio) <= 1 / len(mixed)


def test_fewer_samples_than_needed_are_reused_keeping_the_ratio(tmp_path, tiny_model, tiny_tokenizer):
    mixed = run_transform(TEXTS, tiny_tokenizer, tiny_model, tmp_path, ratio=0.5, num_samples=4)
    rows = [tuple(ids) for ids, flag in zip(mixed["input_ids"], mixed["context_free"], strict=True) if flag]
    assert len(rows) == 30
    assert len(set(rows)) <= 4


def test_context_free_rows_are_bos_plus_sample_with_every_sample_token_a_label(tmp_path, tiny_model, tiny_tokenizer):
    mixed = run_transform(TEXTS, tiny_tokenizer, tiny_model, tmp_path, ratio=0.5)
    config = ContextFreeConfig(**SMALL)
    drawn = draw_context_free_samples(tiny_model, tiny_tokenizer, 30, config, seed=5)
    bos = tiny_tokenizer.bos_token_id
    rows = [row for row in mixed if row["context_free"]]
    assert sorted(row["input_ids"] for row in rows) == sorted([bos, *sample] for sample in drawn)
    for row in rows:
        assert row["labels"][0] == -100  # the start token is input, not a target
        assert row["labels"][1:] == row["input_ids"][1:]  # no masking of generated tokens


def test_mixed_rows_are_shuffled(tmp_path, tiny_model, tiny_tokenizer):
    flags = run_transform(TEXTS, tiny_tokenizer, tiny_model, tmp_path, ratio=0.5)["context_free"]
    assert flags != sorted(flags) and flags != sorted(flags, reverse=True)


@pytest.mark.parametrize("dataset", [CHATS, PAIRS, CHAT_PAIRS, TEXTS], ids=["messages", "pairs", "chat_pairs", "text"])
def test_task_rows_match_what_sft_trainer_builds(dataset, tmp_path, tiny_model, tiny_tokenizer):
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(output_dir=str(tmp_path / "out"), report_to=[], max_length=None, use_cpu=True)
    reference = SFTTrainer(model=tiny_model, args=args, train_dataset=dataset, processing_class=tiny_tokenizer)
    expected = {tuple(row["input_ids"]): row["labels"] for row in reference.train_dataset}
    mixed = mix_context_free(dataset, [], tiny_tokenizer, start_token_id=tiny_tokenizer.bos_token_id, ratio=0.0)
    assert len(mixed) == len(expected)
    for row in mixed:
        assert expected[tuple(row["input_ids"])] == row["labels"]


def test_mixed_chat_dataset_trains_with_sft_trainer(tmp_path, tiny_model, tiny_tokenizer):
    from trl import SFTConfig, SFTTrainer

    mixed = run_transform(CHATS, tiny_tokenizer, tiny_model, tmp_path, ratio=0.25)
    args = SFTConfig(
        output_dir=str(tmp_path / "out"), report_to=[], max_steps=2, per_device_train_batch_size=4, use_cpu=True
    )
    trainer = SFTTrainer(model=tiny_model, args=args, train_dataset=mixed, processing_class=tiny_tokenizer)
    batch = next(iter(trainer.get_train_dataloader()))
    assert set(batch) >= {"input_ids", "labels", "attention_mask"}
    result = trainer.train()
    assert result.training_loss > 0


def test_transform_reads_from_cache_on_second_run(tmp_path, tiny_model, tiny_tokenizer):
    first = run_transform(TEXTS, tiny_tokenizer, tiny_model, tmp_path, ratio=0.25)

    def fail_generate(*args, **kwargs):
        raise AssertionError("generated again despite the cache")

    tiny_model.generate = fail_generate
    second = run_transform(TEXTS, tiny_tokenizer, tiny_model, tmp_path, ratio=0.25)
    assert first["input_ids"] == second["input_ids"]
