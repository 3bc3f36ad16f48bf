"""Round trips through the local Hub test double: what is pushed loads back identical."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from hfplug.hub import detect_kind, push

torch.set_num_threads(1)


def _run_record(trainer: str = "talr", distribution: str = "hfplug-talr") -> dict:
    return {
        "hfplug_version": "0.1.0",
        "trainer": {
            "name": trainer,
            "distribution": distribution,
            "version": "0.1.0",
            "paper": "arXiv:2509.20758",
            "summary": "token-adaptive loss reweighting",
        },
        "components": [],
        "base_model": "asset:tiny-llama",
        "base_model_resolved": "/tmp/tiny-llama",
        "datasets": ["trl-lib/Capybara"],
        "config": {"learning_rate": 2e-5, "num_train_epochs": 1, "talr_temperature": 0.5},
        "metrics": {"train_loss": 1.25},
        "pip_install": f"pip install hfplug==0.1.0 {distribution}==0.1.0",
    }


def test_full_model_round_trip_gives_identical_logits(local_hub, tiny_model, tiny_tokenizer, tmp_path: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    output = tmp_path / "run"
    tiny_model.save_pretrained(output)
    tiny_tokenizer.save_pretrained(output)
    (output / "hfplug_run.json").write_text(json.dumps(_run_record()))
    (output / "checkpoint-10").mkdir()
    (output / "checkpoint-10" / "optimizer.pt").write_bytes(b"\0" * 64)
    (output / "runs").mkdir()
    (output / "runs" / "events.out").write_text("log")
    repo = local_hub.repo_id("tiny-talr")

    url = push(output, repo)

    assert url.startswith(f"{local_hub.url}/{repo}/commit/")
    loaded = AutoModelForCausalLM.from_pretrained(repo)
    tokenizer = AutoTokenizer.from_pretrained(repo)
    ids = tiny_tokenizer("The quick brown fox", return_tensors="pt").input_ids
    assert tokenizer("The quick brown fox", return_tensors="pt").input_ids.tolist() == ids.tolist()
    with torch.no_grad():
        assert torch.equal(loaded(ids).logits, tiny_model(ids).logits)
    from huggingface_hub import HfApi

    files = HfApi().list_repo_files(repo)
    assert "hfplug_run.json" in files and "README.md" in files
    assert not any(f.startswith(("checkpoint-", "runs/")) for f in files), files


def test_peft_adapter_round_trip(local_hub, tiny_model, tmp_path: Path):
    from peft import LoraConfig, PeftModel, get_peft_model

    from hfplug.testing import make_tiny_model, make_tiny_tokenizer

    lora = get_peft_model(tiny_model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    output = tmp_path / "adapter"
    lora.save_pretrained(output)
    assert detect_kind(output) == "peft"
    repo = local_hub.repo_id("tiny-lora")

    with pytest.warns(UserWarning, match="will not load on other machines"):  # its base was never saved anywhere
        push(output, repo)

    ids = torch.tensor([[1, 5, 9, 20, 33]])
    base = make_tiny_model(make_tiny_tokenizer())
    with torch.no_grad():
        base_logits = base(ids).logits
    loaded = PeftModel.from_pretrained(base, repo)
    with torch.no_grad():
        assert torch.equal(loaded(ids).logits, lora(ids).logits)
        assert not torch.equal(loaded(ids).logits, base_logits)  # the adapter weights really were loaded


def _mixin_class():
    from huggingface_hub import PyTorchModelHubMixin

    class TinyAutoencoder(torch.nn.Module, PyTorchModelHubMixin, tags=["hfplug-test"]):
        def __init__(self, width: int = 8, latent: int = 3):
            super().__init__()
            self.encoder = torch.nn.Linear(width, latent)
            self.decoder = torch.nn.Linear(latent, width)

        def forward(self, x):
            return self.decoder(self.encoder(x))

    return TinyAutoencoder


def test_mixin_model_round_trip_gives_identical_weights(local_hub, tmp_path: Path):
    model_class = _mixin_class()
    torch.manual_seed(3)
    model = model_class(width=8, latent=3)
    output = tmp_path / "mixin"
    model.save_pretrained(output)
    assert detect_kind(output) == "mixin"
    repo = local_hub.repo_id("tiny-ae")

    push(output, repo)

    loaded = model_class.from_pretrained(repo)
    assert loaded.encoder.in_features == 8 and loaded.encoder.out_features == 3
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
