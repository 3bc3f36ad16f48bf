"""The quickstart path on the real offline model: prepare, generate, train two steps, reload."""

import json

import pytest
from click.testing import CliRunner

from hfplug.cli import build_cli


@pytest.mark.slow
def test_smollm2_quickstart_path(tmp_path):
    runner = CliRunner()
    prepared = runner.invoke(build_cli(), ["assets", "prepare", "smollm2-135m-instruct", "gsm8k"])
    assert prepared.exit_code == 0, prepared.output

    before = runner.invoke(
        build_cli(),
        ["generate", "--model", "asset:smollm2-135m-instruct", "--prompt", "What is 2+3?", "--max-new-tokens", "12"],
    )
    assert before.exit_code == 0, before.output
    assert "5" in before.stdout  # the real instruct model answers this one

    out = tmp_path / "out"
    trained = runner.invoke(
        build_cli(),
        ["train", "--config", "examples/quickstart/sft.yaml", "--max_steps", "2", "--per_device_train_batch_size", "1",
         "--max_length", "96", "--output_dir", str(out)],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    info = json.loads((out / "hfplug_run.json").read_text())
    assert info["base_model"] == "asset:smollm2-135m-instruct" and info["datasets"] == ["asset:gsm8k"]

    after = runner.invoke(
        build_cli(), ["generate", "--model", str(out), "--prompt", "What is 2+3?", "--max-new-tokens", "8"]
    )
    assert after.exit_code == 0 and after.stdout.strip(), after.output
