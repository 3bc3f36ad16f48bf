"""A second push to the same repo leaves no provenance of the first: the run record and the card describe
the weights that are there now."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hfplug.hub import push


def _run(root: Path, name: str, model, tokenizer, trainer: str | None) -> Path:
    folder = root / name
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    if trainer is not None:
        record = {
            "hfplug_version": "0.1.0",
            "trainer": {"name": trainer, "distribution": f"hfplug-{trainer}", "version": "0.1.0"},
            "components": [],
            "base_model": "me/base",
            "config": {"learning_rate": 1e-3 if trainer == "talr" else 5e-5},
        }
        (folder / "hfplug_run.json").write_text(json.dumps(record))
    return folder


@pytest.mark.parametrize("second_trainer", ["sft", None], ids=["second-run-has-a-record", "second-run-has-none"])
def test_second_push_replaces_or_removes_the_first_runs_provenance(
    local_hub, tmp_path, tiny_model, tiny_tokenizer, second_trainer
):
    from huggingface_hub import HfApi, ModelCard, hf_hub_download

    repo = local_hub.repo_id("pushed-twice")
    push(_run(tmp_path, "run-a", tiny_model, tiny_tokenizer, "talr"), repo)
    assert "hfplug_run.json" in HfApi().list_repo_files(repo)

    second = _run(tmp_path, "run-b", tiny_model, tiny_tokenizer, second_trainer)
    push(second, repo)

    files = set(HfApi().list_repo_files(repo))
    card = ModelCard.load(repo)
    assert "hfplug-talr" not in card.data.tags and "talr" not in json.dumps(card.data.hfplug)
    if second_trainer is None:
        assert "hfplug_run.json" not in files, files
        assert "trainer" not in card.data.hfplug
    else:
        pushed = json.loads(Path(hf_hub_download(repo, "hfplug_run.json")).read_text())
        assert pushed.pop("base_model_hub") == {"repo_id": "me/base", "revision": None}  # added by the push
        assert pushed == json.loads((second / "hfplug_run.json").read_text())
        assert card.data.hfplug["trainer"]["name"] == "sft"
    assert {"model.safetensors", "config.json", "README.md"} <= files  # the weights themselves stay
