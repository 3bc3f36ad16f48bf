"""The example plugin's own tests: they use hfplug's fixtures and never depend on what is installed.

Copy them with the plugin. Run with `pytest` (install `hfplug[testing]` for pytest and the fixtures)."""

import copy

import hfplug_example.plugin
import pytest
import torch
from datasets import Dataset
from trl import SFTConfig, SFTTrainer

import hfplug
from hfplug.config import parse_train_config
from hfplug.data import DataContext
from hfplug.errors import ConfigError, DatasetError
from hfplug.testing import fast_cpu_config

ROWS = {"prompt": ["2 plus 3 is", "the quick brown", "7 minus 4 is", "once upon a"]}
ROWS["completion"] = [" 5", " fox jumps over the lazy dog", " 3", " time there was a tiny model"]


def test_registration_and_every_reference_imports(isolated_plugins):
    # register() raises with the cause if the hook fails; check() imports every reference it registered.
    isolated_plugins.register(hfplug_example.plugin, name="example")
    assert isolated_plugins.check("example") == []
    assert "top_loss_sft" in hfplug.names("trainer") and "max_tokens" in hfplug.names("data")


def _loss_and_gradient(trainer_class, args, model, tokenizer):
    """Training loss and lm_head gradient of one identical batch (the trainer's first), in training mode."""
    trainer = trainer_class(model=model, args=args, train_dataset=Dataset.from_dict(ROWS), processing_class=tokenizer)
    rows = [trainer.train_dataset[i] for i in range(len(trainer.train_dataset))]
    batch = trainer.data_collator(rows)  # the tokenized rows, collated as training collates them
    model.train()
    num_items = (batch["labels"][:, 1:] != -100).sum()
    loss = trainer.compute_loss(model, dict(batch), num_items_in_batch=num_items)
    loss.backward()
    return loss.detach(), model.lm_head.weight.grad.clone()


def test_keep_ratio_one_reproduces_the_sft_loss_and_gradient(isolated_plugins, tiny_model, tiny_tokenizer, tmp_path):
    isolated_plugins.register(hfplug_example.plugin, name="example")
    trainer_class = hfplug.load("trainer", "top_loss_sft")
    config_class = hfplug.load_config("trainer", "top_loss_sft")
    ours = fast_cpu_config(config_class, tmp_path / "ours", keep_ratio=1.0)
    base = fast_cpu_config(SFTConfig, tmp_path / "base")
    loss, gradient = _loss_and_gradient(trainer_class, ours, copy.deepcopy(tiny_model), tiny_tokenizer)
    base_loss, base_gradient = _loss_and_gradient(SFTTrainer, base, copy.deepcopy(tiny_model), tiny_tokenizer)
    torch.testing.assert_close(loss, base_loss)
    torch.testing.assert_close(gradient, base_gradient)


def test_a_lower_keep_ratio_trains_on_the_hardest_tokens_only(isolated_plugins, tiny_model, tiny_tokenizer, tmp_path):
    from hfplug_example.trainer import hardest_tokens

    token_loss = torch.tensor([[0.0, 3.0, 1.0, 2.0], [5.0, 0.5, 4.0, 9.0]])
    mask = torch.tensor([[False, True, True, True], [True, True, True, False]])
    kept = hardest_tokens(token_loss, mask, keep_ratio=0.5)  # 6 valid tokens -> the 3 hardest: 5, 4, 3
    assert kept.tolist() == [[False, True, False, False], [True, False, True, False]]
    isolated_plugins.register(hfplug_example.plugin, name="example")
    args = fast_cpu_config(hfplug.load_config("trainer", "top_loss_sft"), tmp_path, keep_ratio=0.3)
    full = fast_cpu_config(hfplug.load_config("trainer", "top_loss_sft"), tmp_path, keep_ratio=1.0)
    trainer_class = hfplug.load("trainer", "top_loss_sft")
    some, _ = _loss_and_gradient(trainer_class, args, copy.deepcopy(tiny_model), tiny_tokenizer)
    every, _ = _loss_and_gradient(trainer_class, full, copy.deepcopy(tiny_model), tiny_tokenizer)
    assert 0 < some < every  # fewer tokens in the sum, the same denominator


def test_a_bad_keep_ratio_is_a_config_error(tmp_path):
    from hfplug_example.config import TopLossSFTConfig

    with pytest.raises(ConfigError, match="keep_ratio"):
        TopLossSFTConfig(output_dir=str(tmp_path), keep_ratio=0.0)


def test_max_tokens_uses_the_runs_tokenizer_and_fails_cleanly(tiny_tokenizer):
    from hfplug_example.data import MaxTokensConfig, drop_long_rows

    context = DataContext(tokenizer=tiny_tokenizer)  # hfplug train passes the run's context
    kept = drop_long_rows(Dataset.from_dict(ROWS), MaxTokensConfig(max_tokens=8), context)
    assert kept["completion"] == [" 5", " 3"]
    with pytest.raises(DatasetError, match="dropped all 4 rows"):
        drop_long_rows(Dataset.from_dict(ROWS), MaxTokensConfig(max_tokens=1), context)
    with pytest.raises(DatasetError, match="has: question"):
        drop_long_rows(Dataset.from_dict({"question": ["q"]}), MaxTokensConfig(), context)
    with pytest.raises(ConfigError, match="max_tokens: must be positive"):
        MaxTokensConfig(max_tokens=0)


def test_rewards_take_extra_columns_and_may_skip_rows():
    from hfplug_example.rewards import brevity, mentions_keyword

    assert brevity(["p", "p"], ["", "x" * 300]) == [1.0, 0.0]
    completions = ["A Fox!", [{"role": "assistant", "content": "no animals"}], "anything"]
    assert mentions_keyword(["p"] * 3, completions, keyword=["fox", "dog", None]) == [1.0, 0.0, None]
    assert mentions_keyword(["p"], ["x"]) == [None]  # the dataset has no keyword column


def test_the_example_config_resolves_before_anything_loads(isolated_plugins):
    isolated_plugins.register(hfplug_example.plugin, name="example")
    setup = parse_train_config("examples/plugin/run.yaml", ["--output_dir", "unused"])
    assert setup.trainer_config.keep_ratio == 0.6 and setup.data_steps[0].config.max_tokens == 192
