"""``hfplug generate --strategy joint_sampler``: the strategy's plugin says how its model loads (a masked
diffusion LM, through the joint_sampler trainer's ``model_loader``), and a model without ``generate()``
gets the strategy function called directly; the text equals the strategy called by hand."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from hfplug.cli import cli

pytest.importorskip("hfplug_diffusion_sampler")


def test_joint_sampler_from_the_command_line_loads_a_masked_lm_and_matches_the_strategy(tmp_path):
    from hfplug_diffusion_sampler.sampler import JointSampler
    from hfplug_diffusion_sampler.strategy_folders import load_strategy
    from hfplug_diffusion_sampler.tiny_lm import new_tiny_diffusion_lm, train_tokenizer
    from transformers import AutoModelForMaskedLM

    from hfplug.generate import strategy_model_loader

    tokenizer = train_tokenizer(["the cat sat on the mat", "a dog ran in the park"] * 8, vocab_size=120)
    model = new_tiny_diffusion_lm(tokenizer, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, seed=3)
    model.save_pretrained(tmp_path / "mdlm")
    tokenizer.save_pretrained(tmp_path / "mdlm")
    torch.manual_seed(5)
    JointSampler(hidden_size=32, vocab_size=model.config.vocab_size, num_attention_heads=2).save_pretrained(
        tmp_path / "sampler"
    )
    assert strategy_model_loader("joint_sampler") is not None
    assert strategy_model_loader("greedy") is None  # hispec's strategies decode causal LMs

    arguments = ["generate", "--model", str(tmp_path / "mdlm"), "--prompt", "the cat", "--no-chat"]
    arguments += ["--strategy", "joint_sampler", "--max-new-tokens", "6", "--do-sample", "--seed", "4"]
    arguments += ["--option", f"sampler={tmp_path / 'sampler'}", "--option", "tokens_per_step=2"]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 0, result.output

    loaded = AutoModelForMaskedLM.from_pretrained(tmp_path / "mdlm").eval()
    assert not hasattr(loaded, "generate")  # the case the host must handle
    inputs = tokenizer("the cat", return_tensors="pt")
    torch.manual_seed(4)
    with torch.no_grad():
        output = load_strategy(loaded, "joint_sampler")(
            model=loaded,
            **inputs,
            sampler=str(tmp_path / "sampler"),
            tokens_per_step=2,
            max_new_tokens=6,
            do_sample=True,
            tokenizer=tokenizer,
        )
    expected = tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    assert expected in result.output.splitlines(), (result.output, expected)
    assert expected.strip()  # six real tokens, not an empty string
