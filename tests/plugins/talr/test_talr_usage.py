"""TALR by name, from a config, with LoRA, and its errors on bad input."""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset
from hfplug_talr.config import TALRConfig
from hfplug_talr.trainer import NonFiniteLossError, TALRTrainer
from transformers import HfArgumentParser

import hfplug
from hfplug.errors import ConfigError, DatasetError


def test_trainer_and_config_load_by_name():
    assert hfplug.load("trainer", "talr") is TALRTrainer
    assert hfplug.load_config("trainer", "talr") is TALRConfig
    assert hfplug.get("trainer", "talr").paper == "arXiv:2509.20758"


def test_config_fields_parse_like_any_trainer_argument(tmp_path):
    (config,) = HfArgumentParser(TALRConfig).parse_dict(
        {
            "output_dir": str(tmp_path),
            "use_cpu": True,
            "tau": 1.5,
            "tau_from": "token",
            "normalize": "simplex",
            "w_min": 0.05,
        }
    )
    assert (config.tau, config.tau_from, config.normalize, config.w_min) == (1.5, "token", "simplex", 0.05)
    (default,) = HfArgumentParser(TALRConfig).parse_dict({"output_dir": str(tmp_path), "use_cpu": True})
    assert (default.tau, default.tau_from, default.normalize, default.w_min, default.tau_scope) == (
        None,
        "sequence",
        "none",
        0.01,
        "micro_batch",
    )


def test_training_logs_tau_and_weight_statistics(tiny_model, tiny_tokenizer, qa_dataset, talr_args):
    trainer = TALRTrainer(
        tiny_model, args=talr_args(max_steps=2), train_dataset=qa_dataset, processing_class=tiny_tokenizer
    )
    trainer.train()
    logged = trainer.state.log_history[0]
    for key in ("talr/tau", "talr/weight_mean", "talr/weight_min", "talr/weight_max", "talr/floored_fraction"):
        assert key in logged
    assert logged["talr/weight_min"] >= 0.01 - 1e-7
    assert logged["talr/tau"] > 0


def test_lora_trains_only_the_adapter(tiny_model, tiny_tokenizer, qa_dataset, talr_args):
    from peft import LoraConfig

    base_before = tiny_model.model.layers[0].self_attn.q_proj.weight.detach().clone()
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    trainer = TALRTrainer(
        tiny_model,
        args=talr_args(max_steps=2, learning_rate=1e-2),
        train_dataset=qa_dataset,
        processing_class=tiny_tokenizer,
        peft_config=lora,
    )
    lora_b = next(p for n, p in trainer.model.named_parameters() if "lora_B" in n)
    lora_before = lora_b.detach().clone()
    trainer.train()
    base_after = trainer.model.get_base_model().model.layers[0].self_attn.q_proj.base_layer.weight
    assert torch.equal(base_before, base_after)
    assert not torch.equal(lora_before, lora_b.detach())
    assert "talr/tau" in trainer.state.log_history[0]


def test_missing_columns_are_named_before_training(tiny_model, tiny_tokenizer, talr_args):
    wrong = Dataset.from_dict({"question": ["a"], "answer": ["b"]})
    with pytest.raises(DatasetError, match=r"\(messages\).*question, answer"):
        TALRTrainer(tiny_model, args=talr_args(), train_dataset=wrong, processing_class=tiny_tokenizer)


def test_empty_dataset_is_an_error(tiny_model, tiny_tokenizer, talr_args):
    empty = Dataset.from_dict({"prompt": [], "completion": []})
    with pytest.raises(DatasetError, match="empty"):
        TALRTrainer(tiny_model, args=talr_args(), train_dataset=empty, processing_class=tiny_tokenizer)


def test_nan_loss_stops_with_a_clear_error(tiny_model, tiny_tokenizer, qa_dataset, talr_args, tmp_path):
    with torch.no_grad():
        tiny_model.lm_head.weight[0, 0] = float("nan")
    trainer = TALRTrainer(tiny_model, args=talr_args(), train_dataset=qa_dataset, processing_class=tiny_tokenizer)
    with pytest.raises(NonFiniteLossError, match="NaN or infinite at step 0"):
        trainer.train()
    assert not any((tmp_path / "out").glob("checkpoint-*"))  # nothing half-trained was saved


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"tau": -1.0}, "tau"),
        ({"tau": float("inf")}, "tau"),
        ({"tau_from": "batch"}, "tau_from"),
        ({"normalize": "softmax"}, "normalize"),
        ({"tau_scope": "epoch"}, "tau_scope"),
        ({"w_min": 1.5}, "w_min"),
        ({"loss_type": "dft"}, "loss_type"),
        ({"packing": True}, "tau_from"),
    ],
)
def test_bad_config_values_are_named(talr_args, fields, named):
    with pytest.raises(ConfigError, match=named):
        talr_args(**fields)


def test_a_plain_sft_config_is_refused(tiny_model, tiny_tokenizer, qa_dataset, tmp_path):
    from trl import SFTConfig

    with pytest.raises(ConfigError, match="TALRConfig"):
        TALRTrainer(tiny_model, args=SFTConfig(output_dir=str(tmp_path), use_cpu=True), train_dataset=qa_dataset)
