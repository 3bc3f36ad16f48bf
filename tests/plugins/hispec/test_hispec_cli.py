"""``hfplug hispec-layers`` reports agreement per exit and a suggestion for a saved model."""

from __future__ import annotations

import json

import click
from click.testing import CliRunner
from hfplug_hispec import plugin


def test_command_suggests_layers_for_a_saved_model(tmp_path, agreeing_model, tokenizer, device):
    agreeing_model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    cli = click.Group("hfplug")
    plugin.hfplug_commands(cli)
    arguments = ["hispec-layers", str(tmp_path), "--prompt", "Once upon a time", "--max-new-tokens", "8"]
    arguments += ["--device", device.type, "--json"]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # stderr carries the weight-loading progress bar
    assert (report["draft_layer"], report["verify_layer"]) == (1, 2)
    assert sorted(int(layer) for layer in report["agreement"]) == list(range(1, 8))
    assert report["hispec_layer_passes_per_token"]["1,2"] < report["greedy_layer_passes_per_token"]
    # Verification passes cover several positions, so pricing positions raises the estimate.
    priced = CliRunner().invoke(cli, [*arguments, "--position-cost", "1.0"])
    assert priced.exit_code == 0, priced.output
    priced_cost = json.loads(priced.stdout)["hispec_layer_passes_per_token"]["1,2"]
    assert priced_cost > report["hispec_layer_passes_per_token"]["1,2"]
