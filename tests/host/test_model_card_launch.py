"""The model card says how many processes trained the model and how: the run record's ``distributed`` entry
(written by ``hfplug train`` from accelerate's state) in the provenance table and in the ``hfplug`` metadata."""

from __future__ import annotations

import json

import pytest

from hfplug.model_card import launch_description, render_model_card, split_card

RUN = {"hfplug_version": "0.1.0", "trainer": {"name": "talr", "distribution": "hfplug-talr", "version": "0.1.3"}}


@pytest.mark.parametrize(
    ("record", "described"),
    [
        ({"world_size": 1, "backend": None, "distributed_type": "NO"}, "1 process"),
        ({"world_size": 2, "backend": "gloo", "distributed_type": "MULTI_CPU"}, "2 processes, MULTI_CPU (gloo)"),
        (
            {"world_size": 8, "backend": "nccl", "distributed_type": "FSDP", "fsdp_version": 2},
            "8 processes, FSDP2 (nccl)",
        ),
        ({"world_size": 4, "backend": None, "distributed_type": None}, "4 processes"),  # a plugin's own loop
    ],
)
def test_card_names_the_process_count_and_backend(tmp_path, record, described):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (tmp_path / "hfplug_run.json").write_text(json.dumps(RUN | {"distributed": record}))
    metadata, body = split_card(render_model_card(tmp_path))
    assert f"| trained on | {described} |" in body
    assert metadata["hfplug"]["distributed"] == record


def test_a_record_without_a_launch_leaves_the_row_out(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (tmp_path / "hfplug_run.json").write_text(json.dumps(RUN))
    metadata, body = split_card(render_model_card(tmp_path))
    assert "trained on" not in body and "distributed" not in metadata["hfplug"]
    assert launch_description({}) is None
