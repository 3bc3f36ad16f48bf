"""InfoPO by name, with a reference model, PEFT and precomputed reference log-probs; what it logs."""

from __future__ import annotations

import math

import pytest
import torch
from datasets import Dataset
from hfplug_infopo.config import InfoPOConfig
from hfplug_infopo.trainer import InfoPOTrainer
from transformers import AutoModelForCausalLM, HfArgumentParser

import hfplug
from hfplug.testing import make_tiny_model

DPO_METRICS = (
    "rewards/chosen",
    "rewards/rejected",
    "rewards/accuracies",
    "rewards/margins",
    "logps/chosen",
    "logps/rejected",
    "logits/chosen",
    "logits/rejected",
    "entropy",
    "mean_token_accuracy",
    "num_tokens",
)
OUR_METRICS = ("logps/chosen_per_token", "logps/rejected_per_token")


def test_trainer_and_config_load_by_name():
    assert hfplug.load("trainer", "infopo") is InfoPOTrainer
    assert hfplug.load_config("trainer", "infopo") is InfoPOConfig
    assert hfplug.get("trainer", "infopo").paper == "arXiv:2505.08507"


def test_config_fields_parse_like_any_trainer_argument(tmp_path):
    parser = HfArgumentParser(InfoPOConfig)
    fields = {"infopo_variant": "shifted", "beta": 0.5, "infopo_length_average": True}
    (config,) = parser.parse_dict({"output_dir": str(tmp_path), "use_cpu": True, **fields})
    assert (config.infopo_variant, config.beta, config.infopo_length_average) == ("shifted", 0.5, True)
    (default,) = parser.parse_dict({"output_dir": str(tmp_path), "use_cpu": True})
    assert (default.infopo_variant, default.beta, default.infopo_length_average) == ("nwj", 0.1, False)


def test_training_with_a_reference_model_logs_dpo_metrics_and_log_likelihoods(
    tiny_model, tiny_tokenizer, preference_dataset, infopo_args
):
    reference = make_tiny_model(tiny_tokenizer, seed=0)
    trainer = InfoPOTrainer(
        tiny_model,
        ref_model=reference,
        args=infopo_args(max_steps=2),
        train_dataset=preference_dataset,
        eval_dataset=preference_dataset.select(range(4)),
        processing_class=tiny_tokenizer,
    )
    trainer.train()
    first = trainer.state.log_history[0]
    for key in (*DPO_METRICS, *OUR_METRICS):
        assert key in first, key
    # Step 1 starts from the reference: every log-ratio is 0, so the rewards are 0 and the loss is exp(-1).
    assert first["rewards/chosen"] == pytest.approx(0.0, abs=1e-6)
    assert first["loss"] == pytest.approx(math.exp(-1), abs=1e-4)
    assert first["logps/chosen_per_token"] < 0
    evaluation = trainer.evaluate()
    assert "eval_logps/chosen_per_token" in evaluation and "eval_rewards/margins" in evaluation


def test_lora_trains_the_adapter_against_the_adapter_disabled_model(
    tiny_model, tiny_tokenizer, preference_dataset, infopo_args
):
    from peft import LoraConfig

    base_before = tiny_model.model.layers[0].self_attn.q_proj.weight.detach().clone()
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    trainer = InfoPOTrainer(
        tiny_model,
        args=infopo_args(max_steps=3, learning_rate=5e-2),
        train_dataset=preference_dataset,
        processing_class=tiny_tokenizer,
        peft_config=lora,
    )
    assert trainer.ref_model is None  # the reference is the model with its adapter switched off
    trainer.train()
    base_after = trainer.model.get_base_model().model.layers[0].self_attn.q_proj.base_layer.weight
    assert torch.equal(base_before, base_after)
    history = [entry for entry in trainer.state.log_history if "rewards/margins" in entry]
    # LoRA's B starts at 0, so step 1's policy is the reference; later steps have moved away from it.
    assert history[0]["rewards/chosen"] == pytest.approx(0.0, abs=1e-6)
    assert history[-1]["rewards/chosen"] != pytest.approx(0.0, abs=1e-6)


def test_precomputed_reference_log_probs_train_without_a_reference_model(
    tiny_model, tiny_tokenizer, preference_dataset, infopo_args
):
    trainer = InfoPOTrainer(
        tiny_model,
        args=infopo_args(max_steps=2, precompute_ref_log_probs=True),
        train_dataset=preference_dataset,
        processing_class=tiny_tokenizer,
    )
    assert trainer.ref_model is None
    assert {"ref_chosen_logps", "ref_rejected_logps"} <= set(trainer.train_dataset.column_names)
    trainer.train()
    assert trainer.state.log_history[0]["loss"] == pytest.approx(math.exp(-1), abs=1e-4)


def test_saved_model_loads_with_from_pretrained(tiny_model, tiny_tokenizer, preference_dataset, infopo_args, tmp_path):
    trainer = InfoPOTrainer(
        tiny_model,
        ref_model=make_tiny_model(tiny_tokenizer, seed=0),
        args=infopo_args(max_steps=1),
        train_dataset=preference_dataset,
        processing_class=tiny_tokenizer,
    )
    trainer.train()
    trainer.save_model(str(tmp_path / "saved"))
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "saved")
    assert torch.equal(loaded.lm_head.weight, trainer.model.lm_head.weight.detach())
    trainer.create_model_card(model_name="saved")  # trl's card, written into output_dir
    card = (tmp_path / "out" / "README.md").read_text()
    assert "InfoPO" in card and "2505.08507" in card and "hfplug-infopo" in card


def test_a_loss_that_overflows_stops_with_a_clear_error(tiny_tokenizer, preference_dataset, infopo_args, tmp_path):
    from hfplug_infopo.trainer import NonFiniteLossError

    policy = make_tiny_model(tiny_tokenizer, seed=0)
    with torch.no_grad():
        policy.lm_head.weight[0, 0] = float("nan")
    trainer = InfoPOTrainer(
        policy,
        ref_model=make_tiny_model(tiny_tokenizer, seed=0),
        args=infopo_args(),
        train_dataset=preference_dataset,
        processing_class=tiny_tokenizer,
    )
    with pytest.raises(NonFiniteLossError, match="InfoPO loss is nan at step 0"):
        trainer.train()
    assert not any((tmp_path / "out").glob("checkpoint-*"))


def test_an_empty_dataset_is_refused(tiny_model, tiny_tokenizer, infopo_args):
    from hfplug.errors import DatasetError

    empty = Dataset.from_dict({"prompt": [], "chosen": [], "rejected": []})
    with pytest.raises(DatasetError, match="empty"):
        InfoPOTrainer(tiny_model, args=infopo_args(), train_dataset=empty, processing_class=tiny_tokenizer)
