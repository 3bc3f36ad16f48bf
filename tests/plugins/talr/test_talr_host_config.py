"""`trainer: talr` in a config file, run by the host (`hfplug train`), records its provenance."""

from __future__ import annotations

import json

from hfplug.config import parse_train_config
from hfplug.testing import save_model_dir, write_jsonl
from hfplug.train import RUN_INFO_FILE, run_training


def test_config_file_trains_with_talr_fields(tmp_path, tiny_model, tiny_tokenizer):
    save_model_dir(tiny_model, tiny_tokenizer, tmp_path / "base")
    write_jsonl(
        tmp_path / "train.jsonl", [{"prompt": f"What is {i} plus 1?", "completion": f" {i + 1}"} for i in range(6)]
    )
    config = tmp_path / "run.yaml"
    config.write_text(
        f"trainer: talr\nmodel_name_or_path: {tmp_path / 'base'}\ndataset: {tmp_path / 'train.jsonl'}\n"
        f"output_dir: {tmp_path / 'out'}\nrequired_plugins: ['hfplug-talr>=0.1']\n"
        "tau: null\ntau_from: token\nw_min: 0.05\nnormalize: simplex\n"
        "max_steps: 2\nper_device_train_batch_size: 2\nmax_length: 64\nreport_to: none\nsave_strategy: 'no'\n"
        "logging_steps: 1\nuse_cpu: true\n"
    )
    setup = parse_train_config(config, ["--w_min", "0.1"])  # flags override the file
    assert (setup.trainer_config.w_min, setup.trainer_config.normalize) == (0.1, "simplex")
    run_training(setup)
    info = json.loads((tmp_path / "out" / RUN_INFO_FILE).read_text())
    assert info["trainer"]["name"] == "talr" and info["trainer"]["distribution"] == "hfplug-talr"
    assert info["config"]["w_min"] == 0.1 and "hfplug-talr==0.1.0" in info["pip_install"]
