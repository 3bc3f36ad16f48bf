"""The early_exit trainer: its loss is the documented formula, layer dropout really skips layers
and restores the model, and training makes an early exit a better predictor than plain SFT does."""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset

import hfplug
from hfplug.testing import make_tiny_model
from hfplug.testing.models import TINY_CORPUS


def _config(tmp_path, device, **overrides):
    config_class = hfplug.load_config("trainer", "early_exit")
    settings = dict(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        learning_rate=3e-3,
        max_steps=1,
        logging_steps=1,
        report_to=[],
        save_strategy="no",
        use_cpu=device.type == "cpu",
        max_length=48,
        seed=0,
    )
    settings.update(overrides)
    return config_class(**settings)


def _trainer(tmp_path, tokenizer, device, model=None, trainer_name="early_exit", **overrides):
    model = model or make_tiny_model(tokenizer, num_hidden_layers=4)
    dataset = Dataset.from_dict({"text": list(TINY_CORPUS) * 2})
    trainer_class = hfplug.load("trainer", trainer_name)
    if trainer_name == "early_exit":
        args = _config(tmp_path, device, **overrides)
    else:
        from trl import SFTConfig

        args = SFTConfig(
            **{
                k: v
                for k, v in vars(_config(tmp_path, device, **overrides)).items()
                if k in SFTConfig.__dataclass_fields__
            }
        )
    return trainer_class(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)


def _exit_loss(model, batch, layer):
    with torch.no_grad():
        output = model(**batch, output_hidden_states=True)
        logits = model.lm_head(model.model.norm(output.hidden_states[layer]))[:, :-1]
    labels = batch["labels"][:, 1:]
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)


def _batch(trainer):
    batch = next(iter(trainer.get_train_dataloader()))
    return {key: value for key, value in batch.items() if key in ("input_ids", "attention_mask", "labels")}


@pytest.mark.parametrize("distillation", [0.0, 0.25])
def test_loss_is_final_plus_weighted_exit_losses(distillation, tmp_path, tiny_tokenizer, device):
    trainer = _trainer(
        tmp_path,
        tiny_tokenizer,
        device,
        early_exit_layers=[1, 3],
        early_exit_layer_weights=[1.0, 3.0],
        early_exit_loss_scale=0.5,
        early_exit_distillation=distillation,
    )
    model = trainer.model.eval()
    batch = _batch(trainer)
    with torch.no_grad():
        loss = trainer.compute_loss(model, dict(batch))
        output = model(**batch, output_hidden_states=True)
    # The distillation target: the full model's own next-token distribution.
    teacher = torch.softmax(output.logits[:, :-1].float(), dim=-1)
    scored = batch["labels"][:, 1:] != -100
    expected = output.loss
    for layer, weight in ((1, 0.25), (3, 0.75)):
        exit_logits = model.lm_head(model.model.norm(output.hidden_states[layer]))[:, :-1]
        soft = -(teacher * torch.log_softmax(exit_logits, dim=-1)).sum(-1)[scored].mean()
        exit_loss = (1 - distillation) * _exit_loss(model, batch, layer) + distillation * soft
        expected = expected + 0.5 * weight * exit_loss
    torch.testing.assert_close(loss, expected, rtol=1e-4, atol=1e-5)


def test_the_config_chooses_the_layer_dropout_schedule(tmp_path, tiny_tokenizer, device):
    assert _config(tmp_path, device).layer_dropout_schedule == "exponential"  # LayerSkip's
    trainer = _trainer(tmp_path, tiny_tokenizer, device, layer_dropout_max=0.2, layer_dropout_schedule="linear")
    assert trainer.objective.layer_dropout_schedule == "linear"
    assert trainer.objective.layer_dropout_max == 0.2


def test_layer_dropout_skips_layers_and_restores_the_model(tmp_path, tiny_tokenizer, device):
    trainer = _trainer(tmp_path, tiny_tokenizer, device, layer_dropout_max=0.9)
    model = trainer.model.train()
    layers = model.model.layers
    calls = []
    handles = [layer.register_forward_hook(lambda *_, i=i: calls.append(i)) for i, layer in enumerate(layers)]
    torch.manual_seed(0)
    for _ in range(6):
        trainer.compute_loss(model, _batch(trainer))
    for handle in handles:
        handle.remove()
    assert model.model.layers is layers and len(layers) == 4
    assert calls.count(0) == 6, "the first layer is never dropped (rate 0)"
    assert calls.count(3) < 6, "the last layer (rate 0.9) is dropped in some steps"


def test_training_makes_the_early_exit_a_better_predictor(tmp_path, tiny_tokenizer, device):
    exit_losses = {}
    for name in ("early_exit", "sft"):
        overrides = {"max_steps": 40, "learning_rate": 2e-2}
        if name == "early_exit":
            overrides["early_exit_layers"] = [1]
        trainer = _trainer(tmp_path / name, tiny_tokenizer, device, trainer_name=name, **overrides)
        batch = _batch(trainer)
        trainer.train()
        exit_losses[name] = float(_exit_loss(trainer.model.eval(), batch, 1))
    assert exit_losses["early_exit"] < 0.8 * exit_losses["sft"], exit_losses


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"early_exit_layers": [4]}, r"early_exit_layers must lie in 1..3 \(the model has 4\)"),
        ({"early_exit_layers": [1, 2], "early_exit_layer_weights": [1.0]}, "one weight per exit layer"),
        ({"layer_dropout_max": 1.0}, r"layer_dropout_max must be in \[0, 1\)"),
        ({"early_exit_loss_scale": -1.0}, "early_exit_loss_scale must be >= 0"),
        ({"early_exit_distillation": 1.5}, r"early_exit_distillation must be in \[0, 1\]"),
        ({"layer_dropout_schedule": "step"}, "layer_dropout_schedule must be one of exponential, linear; got 'step'"),
    ],
)
def test_bad_settings_are_named(overrides, message, tmp_path, tiny_tokenizer, device):
    with pytest.raises(ValueError, match=message):
        _trainer(tmp_path, tiny_tokenizer, device, **overrides)
