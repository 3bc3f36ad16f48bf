"""Speculating with exits that were never trained is slower than plain decoding; the strategy says so
(`hfplug generate --strategy hispec` prints it as one warning line), and stays quiet when exits agree."""

from __future__ import annotations

import warnings

import pytest
import torch
from click.testing import CliRunner

import hfplug
from hfplug.cli import build_cli


def _generate(model, prompt):
    return model.generate(
        prompt,
        custom_generate=hfplug.load("generation", "hispec"),
        trust_remote_code=True,
        do_sample=False,
        max_new_tokens=24,
        draft_layer=1,
        verify_layer=2,
    )


def test_exits_that_disagree_are_called_untrained(disagreeing_model, prompt):
    expected = r"hispec: the exit at layer 2 agreed with layer 8 on only .* early exits look untrained"
    with pytest.warns(UserWarning, match=expected):
        _generate(disagreeing_model, prompt)


def test_exits_that_agree_raise_no_warning(agreeing_model, prompt):
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*look untrained.*")
        _generate(agreeing_model, prompt)


def test_hfplug_generate_prints_it_as_one_line(tmp_path, disagreeing_model, tokenizer):
    folder = tmp_path / "plain-checkpoint"
    disagreeing_model.to(torch.float32).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    arguments = ["generate", "--model", str(folder), "--prompt", "Once upon a time", "--no-chat"]
    result = CliRunner().invoke(build_cli(), [*arguments, "--strategy", "hispec", "--max-new-tokens", "24"])
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.stderr.splitlines() if "look untrained" in line]
    assert line.startswith("warning: hispec: ") and "trainer: early_exit" in line
