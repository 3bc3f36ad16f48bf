"""`trainer: infopo` in a config file, run by the host (`hfplug train`), records its provenance."""

from __future__ import annotations

import json

import pytest

from hfplug.config import parse_train_config
from hfplug.errors import ConfigError
from hfplug.testing import save_model_dir, write_jsonl
from hfplug.train import RUN_INFO_FILE, run_training

CONFIG = (
    "trainer: infopo\nmodel_name_or_path: {base}\ndataset: {data}\noutput_dir: {out}\n"
    "required_plugins: ['hfplug-infopo>=0.1']\n"
    "infopo_variant: shifted\nbeta: 0.2\ninfopo_length_average: true\n"
    "max_steps: 2\nper_device_train_batch_size: 2\nmax_length: 64\nreport_to: none\nsave_strategy: 'no'\n"
    "logging_steps: 1\nuse_cpu: true\nbf16: false\n"
)


def write_run(tmp_path, tiny_model, tiny_tokenizer, rows_of, replace: dict[str, str] | None = None):
    save_model_dir(tiny_model, tiny_tokenizer, tmp_path / "base")
    rows = rows_of(6)
    records = [{name: rows[name][i] for name in rows} for i in range(6)]
    write_jsonl(tmp_path / "pairs.jsonl", records)
    text = CONFIG.format(base=tmp_path / "base", data=tmp_path / "pairs.jsonl", out=tmp_path / "out")
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    (tmp_path / "run.yaml").write_text(text)
    return tmp_path / "run.yaml"


def test_config_file_trains_with_infopo_fields(tmp_path, tiny_model, tiny_tokenizer, rows_of):
    config = write_run(tmp_path, tiny_model, tiny_tokenizer, rows_of)
    setup = parse_train_config(config, ["--beta", "0.3"])  # flags override the file
    assert (setup.trainer_config.infopo_variant, setup.trainer_config.beta) == ("shifted", 0.3)
    run_training(setup)  # no ref_model: trl loads the reference from the base model folder
    info = json.loads((tmp_path / "out" / RUN_INFO_FILE).read_text())
    assert info["trainer"]["name"] == "infopo" and info["trainer"]["distribution"] == "hfplug-infopo"
    assert info["config"]["beta"] == 0.3 and info["config"]["infopo_length_average"] is True
    assert "hfplug-infopo==0.1.0" in info["pip_install"]


def test_an_unknown_variant_in_a_config_file_fails_before_training(tmp_path, tiny_model, tiny_tokenizer, rows_of):
    config = write_run(tmp_path, tiny_model, tiny_tokenizer, rows_of, {"infopo_variant: shifted": "infopo_variant: x"})
    with pytest.raises(ConfigError, match="infopo_variant"):
        parse_train_config(config, [])
    assert not (tmp_path / "out").exists()
