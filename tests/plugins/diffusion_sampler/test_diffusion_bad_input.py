"""Bad input fails before any pass of the model, with an error that names the problem."""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset
from hfplug_diffusion_sampler.sampler import JointSampler, head_fingerprint
from hfplug_diffusion_sampler.trainer.config import JointSamplerConfig
from hfplug_diffusion_sampler.trainer.trainer import JointSamplerTrainer

from hfplug.errors import ConfigError, DatasetError


@pytest.fixture
def no_forward(tiny_mdlm):
    """Fails the test if the model runs a forward pass."""

    def refuse(*args, **kwargs):
        raise AssertionError("the model ran before the bad input was reported")

    handle = tiny_mdlm.register_forward_pre_hook(refuse)
    yield
    handle.remove()


def test_a_causal_lm_without_mask_token_is_refused(tiny_model, strategies):
    with pytest.raises(ValueError, match="not a masked diffusion LM: it has no mask token"):
        strategies["joint_sampler"](model=tiny_model, input_ids=torch.tensor([[1, 2]]), max_new_tokens=4)


@pytest.mark.parametrize("k", [0, -1, 1.5, True, "4"])
def test_tokens_per_step_below_one_or_not_an_integer(tiny_mdlm, strategies, prompt, no_forward, k):
    for name in ("joint_sampler", "exact", "marginal"):
        with pytest.raises(ValueError, match="tokens_per_step must be an integer >= 1"):
            strategies[name](model=tiny_mdlm, input_ids=prompt, max_new_tokens=4, tokens_per_step=k)


@pytest.mark.parametrize(
    ("hidden", "vocab", "message"),
    [(48, None, "expects hidden size 48"), (32, 999, "expects a vocabulary of 999")],
)
def test_sampler_trained_for_another_base_model(tiny_mdlm, strategies, prompt, no_forward, hidden, vocab, message):
    sampler = JointSampler(hidden_size=hidden, vocab_size=vocab or tiny_mdlm.config.vocab_size, base_model="me/other")
    with pytest.raises(ValueError, match=f"trained for me/other.*{message}"):
        strategies["joint_sampler"](model=tiny_mdlm, input_ids=prompt, max_new_tokens=4, sampler=sampler)


def test_sampler_from_same_shaped_other_weights_warns(tiny_mdlm, strategies, prompt):
    sampler = JointSampler(32, tiny_mdlm.config.vocab_size, base_fingerprint=head_fingerprint(torch.ones(3, 3)))
    with pytest.warns(UserWarning, match="other LM-head weights"):
        strategies["joint_sampler"](model=tiny_mdlm, input_ids=prompt, max_new_tokens=4, sampler=sampler)
    assert sampler.base_fingerprint != head_fingerprint(tiny_mdlm.decoder.weight)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"tokens_per_step": 2}, "needs sampler="),
        ({"sampler": object(), "tokens_per_step": 2}, "sampler must be a JointSampler"),
        ({"position_choice": "best"}, "position_choice must be one of"),
        ({"block_length": 0}, "block_length must be an integer >= 1"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"logits_processor": [lambda ids, scores: scores]}, "logits_processor is not supported"),
        ({"num_beams": 2}, "num_beams=2 is not supported"),
        ({"repetition_penalty": 1.3}, "repetition_penalty=1.3 is not supported"),
        ({"frobnicate": 1}, "Unknown or unsupported generate\\(\\) arguments: frobnicate"),
        ({"attention_mask": torch.tensor([[1, 0, 1, 1, 1]])}, "must be left padding"),
        ({"mask_token_id": 10**6}, "outside the model's vocabulary"),
    ],
)
def test_bad_generate_arguments(tiny_mdlm, strategies, prompt, no_forward, settings, message):
    settings = {"max_new_tokens": 4, **settings}
    if "attention_mask" in settings:
        settings["attention_mask"] = torch.ones_like(prompt)
        settings["attention_mask"][0, 1] = 0
    with pytest.raises(ValueError, match=message):
        strategies["joint_sampler"](model=tiny_mdlm, input_ids=prompt, **settings)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tokens_per_step", 1, "K must be >= 2"),
        ("position_choice", "best", "position_choice: must be one of"),
        ("sampler_fusion", "concat", "sampler_fusion: must be one of"),
        ("rollout_temperature", 0.0, "rollout_temperature: must be > 0"),
        ("max_new_tokens", 0, "max_new_tokens: must be >= 1"),
    ],
)
def test_trainer_config_rejects_bad_values(tmp_path, field, value, message):
    with pytest.raises(ConfigError, match=message):
        JointSamplerConfig(output_dir=str(tmp_path), report_to=[], **{field: value})


def test_trainer_rejects_dataset_without_prompts_and_models_without_mask(
    tmp_path, tiny_mdlm, mdlm_tokenizer, tiny_model, tiny_tokenizer
):
    config = JointSamplerConfig(output_dir=str(tmp_path / "out"), report_to=[], max_steps=1, use_cpu=True)
    with pytest.raises(DatasetError, match="needs a `prompt` or `text` column; it has: question"):
        JointSamplerTrainer(
            model=tiny_mdlm,
            args=config,
            train_dataset=Dataset.from_dict({"question": ["x"]}),
            processing_class=mdlm_tokenizer,
        )
    with pytest.raises(DatasetError, match="empty after tokenisation"):
        JointSamplerTrainer(
            model=tiny_mdlm,
            args=config,
            train_dataset=Dataset.from_dict({"text": [""]}),
            processing_class=mdlm_tokenizer,
        )
    with pytest.raises(ValueError, match="not a masked diffusion LM"):
        JointSamplerTrainer(
            model=tiny_model,
            args=config,
            train_dataset=Dataset.from_dict({"text": ["x"]}),
            processing_class=tiny_tokenizer,
        )
    assert not (tmp_path / "out").exists()
