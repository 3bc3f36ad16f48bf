"""The joint_sampler trainer: it trains only the sampler (the base stays frozen), logs the KL next to the
marginal baseline's, saves a loadable sampler bound to its base model, and runs from ``hfplug train``."""

from __future__ import annotations

import json

import torch
import yaml
from datasets import Dataset
from hfplug_diffusion_sampler.sampler import JointSampler, head_fingerprint

import hfplug
from hfplug.config import parse_train_config
from hfplug.testing.models import TINY_CORPUS
from hfplug.train import run_training

SETTINGS = {
    "per_device_train_batch_size": 4,
    "max_steps": 2,
    "logging_steps": 1,
    "report_to": [],
    "save_strategy": "no",
    "use_cpu": True,
    "max_new_tokens": 6,
    "prompt_length": 4,
    "tokens_per_step": 3,
}


def test_trainer_updates_only_the_sampler_and_saves_it(tmp_path, tiny_mdlm, mdlm_tokenizer, prompt, strategies):
    config = hfplug.load_config("trainer", "joint_sampler")(output_dir=str(tmp_path), **SETTINGS)
    base_before = {name: value.clone() for name, value in tiny_mdlm.state_dict().items()}
    trainer = hfplug.load("trainer", "joint_sampler")(
        model=tiny_mdlm,
        args=config,
        train_dataset=Dataset.from_dict({"text": list(TINY_CORPUS)}),
        processing_class=mdlm_tokenizer,
    )
    start = {name: value.clone() for name, value in trainer.model.state_dict().items()}
    trainer.train()
    trainer.save_model(str(tmp_path))
    for name, value in tiny_mdlm.state_dict().items():
        assert torch.equal(value, base_before[name]), f"the frozen base model changed: {name}"
    changed = [name for name, value in trainer.model.state_dict().items() if not torch.equal(value, start[name])]
    assert "attention_output.weight" in changed and "mlp_down.weight" in changed
    logged = [entry for entry in trainer.state.log_history if "kl" in entry]
    assert len(logged) == 2 and all(entry["kl"] >= 0 and entry["kl_marginal"] >= 0 for entry in logged)

    sampler = JointSampler.from_pretrained(tmp_path)
    assert sampler.base_fingerprint == head_fingerprint(tiny_mdlm.decoder.weight)
    output = strategies["joint_sampler"](
        model=tiny_mdlm, input_ids=prompt, max_new_tokens=6, tokens_per_step=3, sampler=str(tmp_path), do_sample=True
    )
    assert not bool((output == tiny_mdlm.config.mask_token_id).any())


def test_hfplug_train_loads_a_masked_diffusion_lm(tmp_path, tiny_mdlm, mdlm_tokenizer):
    """The host loads the base with the trainer's own model_loader (AutoModelForMaskedLM), not a causal LM."""
    model_dir = tmp_path / "base"
    tiny_mdlm.save_pretrained(model_dir)
    mdlm_tokenizer.save_pretrained(model_dir)
    data = tmp_path / "prompts.jsonl"
    data.write_text("\n".join(json.dumps({"text": text}) for text in TINY_CORPUS))
    config = {
        "trainer": "joint_sampler",
        "model_name_or_path": str(model_dir),
        "dataset": str(data),
        "output_dir": str(tmp_path / "sampler"),
        **{key: value for key, value in SETTINGS.items() if key != "report_to"},
        "max_steps": 1,
        "report_to": "none",
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    result = run_training(parse_train_config(path, []))
    sampler = JointSampler.from_pretrained(result.output_dir)
    assert sampler.hidden_size == tiny_mdlm.config.hidden_size
    record = json.loads((tmp_path / "sampler" / "hfplug_run.json").read_text())
    assert record["trainer"]["name"] == "joint_sampler" and record["base_model"] == str(model_dir)
