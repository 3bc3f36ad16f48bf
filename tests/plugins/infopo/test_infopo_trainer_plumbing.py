"""What the trainer hands to trl and back: its default config, errors naming the dataset at fault, positional
arguments, the token count it logs, the outputs for compute_metrics, short prompts, and float32 arithmetic."""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset
from hfplug_infopo.losses import infopo_loss
from hfplug_infopo.trainer import InfoPOTrainer
from trl import DPOConfig

from hfplug.errors import ConfigError, DatasetError
from hfplug.testing import make_tiny_model

SPREAD = {"initializer_range": 0.5}


def first_batch(trainer) -> dict:
    trainer.model.train()
    return trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))


def test_without_args_the_config_is_named_after_the_model_and_the_method(
    tiny_model_dir, tiny_tokenizer, rows_of, monkeypatch
):
    """As trl's trainers do: ``<model folder>-InfoPO``. (On CPU the default config needs use_cpu; this test
    supplies it through a subclass, so only the naming is under test.)"""
    from hfplug_infopo import trainer as trainer_module
    from hfplug_infopo.config import InfoPOConfig
    from transformers import AutoModelForCausalLM

    class CpuInfoPOConfig(InfoPOConfig):
        def __post_init__(self) -> None:
            self.use_cpu, self.bf16, self.report_to = True, False, "none"
            super().__post_init__()

    monkeypatch.setattr(trainer_module, "InfoPOConfig", CpuInfoPOConfig)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    reference = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    trainer = InfoPOTrainer(
        model, ref_model=reference, train_dataset=Dataset.from_dict(rows_of(2)), processing_class=tiny_tokenizer
    )
    assert isinstance(trainer.args, CpuInfoPOConfig)
    assert trainer.args.output_dir == f"{str(tiny_model_dir).rstrip('/').split('/')[-1]}-InfoPO"


def test_a_plain_dpo_config_is_refused_naming_the_trainer(tiny_model, tiny_tokenizer, rows_of, tmp_path):
    with pytest.raises(ConfigError, match="InfoPOTrainer needs a InfoPOConfig, got DPOConfig"):
        InfoPOTrainer(
            tiny_model,
            args=DPOConfig(output_dir=str(tmp_path), use_cpu=True),
            train_dataset=Dataset.from_dict(rows_of(2)),
            processing_class=tiny_tokenizer,
        )


def test_errors_name_the_dataset_at_fault(tiny_model, tiny_tokenizer, infopo_args, rows_of):
    good, bad = Dataset.from_dict(rows_of(2)), Dataset.from_dict({"prompt": ["a"], "completion": ["b"]})
    with pytest.raises(DatasetError, match=r"^InfoPO training "):
        InfoPOTrainer(tiny_model, args=infopo_args(), train_dataset=bad, processing_class=tiny_tokenizer)
    with pytest.raises(DatasetError, match=r"^InfoPO evaluation \(held_out\) "):
        InfoPOTrainer(
            tiny_model,
            args=infopo_args(),
            train_dataset=good,
            eval_dataset={"fine": good, "held_out": bad},
            processing_class=tiny_tokenizer,
        )
    with pytest.raises(DatasetError, match=r"^InfoPO evaluation needs"):
        InfoPOTrainer(
            tiny_model, args=infopo_args(), train_dataset=good, eval_dataset=bad, processing_class=tiny_tokenizer
        )


def test_positional_arguments_and_a_collator_reach_trl(tiny_model, tiny_tokenizer, infopo_args, rows_of):
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    collator = DataCollatorForPreference(pad_token_id=tiny_tokenizer.pad_token_id)
    dataset = Dataset.from_dict(rows_of(2))
    reference = make_tiny_model(tiny_tokenizer, seed=1)
    trainer = InfoPOTrainer(tiny_model, reference, infopo_args(), collator, dataset, None, tiny_tokenizer)
    assert trainer.data_collator is collator
    assert trainer.processing_class is tiny_tokenizer


def test_num_tokens_adds_every_training_step_and_no_evaluation_step(tiny_tokenizer, infopo_args, rows_of):
    rows = rows_of(4)
    policy, reference = make_tiny_model(tiny_tokenizer, seed=0), make_tiny_model(tiny_tokenizer, seed=1)
    trainer = InfoPOTrainer(
        policy, ref_model=reference, args=infopo_args(), train_dataset=Dataset.from_dict(rows),
        processing_class=tiny_tokenizer,
    )  # fmt: skip
    batch = first_batch(trainer)
    tokens = int(batch["attention_mask"].sum())  # every non-padding token of the batch, prompt included
    with torch.no_grad():
        trainer.compute_loss(trainer.model, batch)
        trainer.compute_loss(trainer.model, batch)
        assert trainer._metrics["train"]["num_tokens"] == [2 * tokens]
        assert type(trainer._metrics["train"]["num_tokens"][0]) is int
        trainer.model.eval()
        trainer.compute_loss(trainer.model, batch)
    assert trainer._metrics["eval"]["num_tokens"] == [2 * tokens]  # evaluation reads the count, adds nothing


def test_return_outputs_gives_the_plain_forward_for_compute_metrics(tiny_tokenizer, infopo_args, rows_of):
    policy, reference = make_tiny_model(tiny_tokenizer, seed=0), make_tiny_model(tiny_tokenizer, seed=1)
    trainer = InfoPOTrainer(
        policy, ref_model=reference, args=infopo_args(), train_dataset=Dataset.from_dict(rows_of(2)),
        processing_class=tiny_tokenizer,
    )  # fmt: skip
    batch = first_batch(trainer)
    with torch.no_grad():
        loss, outputs = trainer.compute_loss(trainer.model, batch, return_outputs=True)
        plain = policy(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert float(loss) == pytest.approx(float(trainer.compute_loss(trainer.model, batch)), rel=1e-6)
    torch.testing.assert_close(outputs.logits, plain)


@pytest.mark.parametrize("length_average", [False, True])
def test_a_one_token_prompt_keeps_its_first_completion_token(
    tiny_tokenizer, infopo_args, independent_log_ratios, length_average
):
    """The completion starts at position 1: the shifted mask's first column is a completion token."""
    rows = {"prompt": ["Q"] * 2, "chosen": [" 5", " the fox"], "rejected": [" six, I think", " a cat"]}
    assert len(tiny_tokenizer(rows["prompt"][0])["input_ids"]) == 1
    policy = make_tiny_model(tiny_tokenizer, seed=0, **SPREAD)
    reference = make_tiny_model(tiny_tokenizer, seed=1, **SPREAD)
    trainer = InfoPOTrainer(
        policy,
        ref_model=reference,
        args=infopo_args(infopo_length_average=length_average),
        train_dataset=Dataset.from_dict(rows),
        processing_class=tiny_tokenizer,
    )
    with torch.no_grad():
        loss = trainer.compute_loss(trainer.model, first_batch(trainer))
        chosen, rejected = independent_log_ratios(
            policy, reference, tiny_tokenizer, rows, length_average=length_average
        )
    assert float(loss) == pytest.approx(float(infopo_loss(chosen, rejected, trainer.args.beta).mean()), rel=1e-5)


@pytest.mark.parametrize("variant", ["nwj", "shifted", "ukl"])
def test_bf16_log_ratios_are_combined_in_float32(variant):
    """Both terms in float32: beta * r_w in bfloat16 would round 0.1 * 1.5 to 0.150390625."""
    chosen = torch.tensor([1.5, -3.25, 0.625], dtype=torch.bfloat16)
    rejected = torch.tensor([-0.75, 2.5, 1.125], dtype=torch.bfloat16)
    in_float32 = infopo_loss(chosen.float(), rejected.float(), 0.1, variant)
    torch.testing.assert_close(infopo_loss(chosen, rejected, 0.1, variant), in_float32, rtol=0, atol=0)
