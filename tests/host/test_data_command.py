"""`hfplug data`: KEY=VALUE settings after the name, and the provenance record a pushed dataset's card reads."""

import json

from click.testing import CliRunner

from hfplug.cli import build_cli
from hfplug.model_card import render_model_card
from hfplug.testing import write_jsonl

from .test_config import DataPlugin


def test_settings_after_the_name_and_a_run_record_for_the_card(tmp_path, isolated_plugins):
    isolated_plugins.register(DataPlugin(), name="data-plugin")
    data = write_jsonl(tmp_path / "train.jsonl", [{"text": f"row {i}"} for i in range(5)])
    out = tmp_path / "taken"
    result = CliRunner().invoke(
        build_cli(), ["data", "take", "k=2", "--dataset", str(data), "--output", str(out), "--seed", "7"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads((out / "hfplug_run.json").read_text())
    assert record["components"][0]["name"] == "take" and record["components"][0]["kind"] == "data"
    assert record["config"] == {"data": [{"name": "take", "k": 2}], "seed": 7}
    assert record["metrics"] == {"rows_in": 5, "rows_out": 2}
    card = render_model_card(out, kind="dataset", repo_id="me/taken")
    assert "data `take`" in card and "k: 2" in card


def test_a_setting_without_equals_sign_is_refused(tmp_path, isolated_plugins):
    isolated_plugins.register(DataPlugin(), name="data-plugin")
    data = write_jsonl(tmp_path / "train.jsonl", [{"text": "a"}])
    result = CliRunner().invoke(
        build_cli(), ["data", "take", "k", "--dataset", str(data), "--output", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "KEY=VALUE" in result.output
    assert not (tmp_path / "o").exists()
