"""`hfplug train` with push_to_hub: the trained folder lands on the Hub with its provenance card."""

from __future__ import annotations

import json

import torch
from click.testing import CliRunner

torch.set_num_threads(1)

CHAT_ROWS = [
    {"messages": [{"role": "user", "content": f"What is {i} plus 1?"}, {"role": "assistant", "content": str(i + 1)}]}
    for i in range(6)
]


def test_train_with_push_to_hub_pushes_model_and_card(local_hub, tmp_path, tiny_model, tiny_tokenizer):
    from huggingface_hub import HfApi, ModelCard
    from transformers import AutoModelForCausalLM

    from hfplug import __version__
    from hfplug.cli import build_cli

    base = tmp_path / "base"
    tiny_model.save_pretrained(base)
    tiny_tokenizer.save_pretrained(base)
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in CHAT_ROWS))
    out = tmp_path / "out"
    repo = local_hub.repo_id("sft-pushed")
    config = tmp_path / "run.yaml"
    config.write_text(
        f"trainer: sft\nmodel_name_or_path: {base}\ndataset: {data}\noutput_dir: {out}\n"
        "max_steps: 2\nper_device_train_batch_size: 2\nmax_length: 64\nreport_to: none\n"
        "save_strategy: steps\nsave_steps: 1\nlogging_steps: 1\nlearning_rate: 1.0e-3\n"
        f"push_to_hub: true\nhub_model_id: {repo}\n"
    )

    result = CliRunner().invoke(build_cli(), ["train", "--config", str(config)])

    assert result.exit_code == 0, result.output
    assert any(out.glob("checkpoint-*"))  # the trainer did write checkpoints locally ...
    files = set(HfApi().list_repo_files(repo))
    assert not any(name.startswith("checkpoint-") for name in files), files  # ... which were not pushed
    assert {"model.safetensors", "tokenizer.json", "hfplug_run.json", "README.md"} <= files
    card = ModelCard.load(repo)
    assert {"hfplug", "hfplug-sft"} <= set(card.data.tags)
    assert card.data.hfplug["trainer"]["name"] == "sft" and card.data.hfplug["version"] == __version__
    assert "max_steps: 2" in card.text  # the training config is in the card
    ids = torch.tensor([[1, 5, 9]])
    local = AutoModelForCausalLM.from_pretrained(out)
    pushed = AutoModelForCausalLM.from_pretrained(repo)
    with torch.no_grad():
        assert torch.equal(local(ids).logits, pushed(ids).logits)

    generated = CliRunner().invoke(
        build_cli(), ["generate", "--model", f"hub:{repo}", "--prompt", "What is 1 plus 1?", "--max-new-tokens", "3"]
    )
    assert generated.exit_code == 0, generated.output
