"""The example plugin's own tests: they use hfplug's fixtures and never depend on what is installed."""

import hfplug_example.plugin
import torch
from datasets import Dataset

import hfplug
from hfplug.testing import fast_cpu_config


def test_components_are_registered(isolated_plugins):
    isolated_plugins.register(hfplug_example.plugin, name="example")
    assert "frozen_embeddings_sft" in hfplug.names("trainer")
    assert hfplug.load("reward", "brevity")(["p", "p"], ["", "x" * 300]) == [1.0, 0.0]


def test_training_keeps_embeddings_and_changes_the_rest(isolated_plugins, tiny_model, tiny_tokenizer, tmp_path):
    isolated_plugins.register(hfplug_example.plugin, name="example")
    trainer_class = hfplug.load("trainer", "frozen_embeddings_sft")
    config_class = hfplug.load_config("trainer", "frozen_embeddings_sft")
    args = fast_cpu_config(config_class, tmp_path, max_steps=2, per_device_train_batch_size=2, learning_rate=1e-2)
    before_embeddings = tiny_model.get_input_embeddings().weight.detach().clone()
    before_head = tiny_model.lm_head.weight.detach().clone()
    data = Dataset.from_dict({"text": ["the quick brown fox", "jumps over the lazy dog"] * 2})
    trainer = trainer_class(model=tiny_model, args=args, train_dataset=data, processing_class=tiny_tokenizer)
    trainer.train()
    assert torch.equal(tiny_model.get_input_embeddings().weight, before_embeddings)
    assert not torch.equal(tiny_model.lm_head.weight, before_head)
