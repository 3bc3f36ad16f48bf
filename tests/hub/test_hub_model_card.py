"""Provenance cards: valid YAML front matter + Markdown that names the plugin, version, config and more."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import hfplug
from hfplug.hub import push, write_model_card
from hfplug.manager import PluginInfo
from hfplug.model_card import SECTION_START, render_model_card, split_card

RUN = {
    "hfplug_version": "0.1.0",
    "trainer": {
        "name": "talr",
        "distribution": "hfplug-talr",
        "version": "0.1.3",
        "paper": "arXiv:2509.20758",
        "summary": "Token-adaptive loss reweighting.",
    },
    "components": [
        {"kind": "data", "name": "flow_weights", "distribution": "hfplug-flow", "version": "0.2.0", "paper": None}
    ],
    "base_model": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "base_model_resolved": "/opt/assets/smollm2",
    "datasets": ["trl-lib/Capybara", "/local/data.jsonl"],
    "config": {"learning_rate": 2e-05, "talr_temperature": 0.5, "output_dir": "out"},
    "metrics": {"eval_loss": 1.5, "train_loss": 1.25},
    "pip_install": "pip install hfplug==0.1.0 hfplug-talr==0.1.3 hfplug-flow==0.2.0",
}


def _model_folder(root: Path, run: dict | None = RUN) -> Path:
    folder = root / "out"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}))
    if run is not None:
        (folder / "hfplug_run.json").write_text(json.dumps(run))
    return folder


def test_card_records_full_provenance(tmp_path):
    card = write_model_card(_model_folder(tmp_path), repo_id="me/talr-model").read_text()
    metadata, body = split_card(card)

    assert metadata["tags"] == ["hfplug", "hfplug-talr", "hfplug-flow"]
    assert metadata["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert metadata["datasets"] == ["trl-lib/Capybara"]  # a local path is not a Hub dataset id
    assert metadata["library_name"] == "transformers"
    provenance = metadata["hfplug"]
    assert provenance["trainer"]["distribution"] == "hfplug-talr" and provenance["trainer"]["version"] == "0.1.3"
    assert provenance["components"][0]["name"] == "flow_weights"
    assert provenance["metrics"] == {"eval_loss": 1.5, "train_loss": 1.25}
    assert "**talr** trainer from `hfplug-talr` 0.1.3" in body
    assert "arXiv:2509.20758" in body
    assert "pip install hfplug==0.1.0 hfplug-talr==0.1.3 hfplug-flow==0.2.0" in body
    assert "| eval_loss | 1.5 |" in body
    assert yaml.safe_load(body.split("```yaml\n")[1].split("```")[0]) == RUN["config"]  # the full config
    assert "AutoModelForCausalLM.from_pretrained('me/talr-model')" in body


def test_card_update_keeps_user_text_and_is_idempotent(tmp_path):
    folder = _model_folder(tmp_path)
    (folder / "README.md").write_text("---\nlicense: mit\ntags:\n- mine\n---\n# My model\n\nHand-written notes.\n")

    first = write_model_card(folder).read_text()
    second = write_model_card(folder).read_text()

    assert first == second
    metadata, body = split_card(first)
    assert metadata["license"] == "mit"
    assert metadata["tags"][0] == "mine" and "hfplug-talr" in metadata["tags"]
    assert "Hand-written notes." in body and body.count(SECTION_START) == 1


def test_card_without_run_record_uses_what_the_folder_shows(tmp_path):
    folder = _model_folder(tmp_path, run=None)
    (folder / "config.json").write_text(
        json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "_name_or_path": "org/base"})
    )
    metadata, body = split_card(render_model_card(folder))
    assert metadata["tags"] == ["hfplug"]
    assert metadata["base_model"] == "org/base"
    assert metadata["hfplug"]["version"] == hfplug.__version__
    assert f"pip install hfplug=={hfplug.__version__}" in body
    assert "LlamaForCausalLM" in body


def test_asset_base_model_is_named_by_the_hub_repo_it_copies(tmp_path):
    folder = _model_folder(tmp_path, run={**RUN, "base_model": "asset:smollm2-135m-instruct"})
    metadata, body = split_card(render_model_card(folder))
    assert metadata["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"  # a repo id, as the Hub requires
    assert metadata["hfplug"]["base_model"] == "asset:smollm2-135m-instruct"  # what the config said
    assert metadata["hfplug"]["base_model_hub"] == {"repo_id": "HuggingFaceTB/SmolLM2-135M-Instruct", "revision": None}
    assert "| base model (as configured) | asset:smollm2-135m-instruct |" in body
    assert "offline copy of HuggingFaceTB/SmolLM2-135M-Instruct" in body


def test_local_base_model_of_unknown_origin_is_not_claimed_as_a_hub_id(tmp_path):
    folder = _model_folder(tmp_path, run={**RUN, "base_model": str(tmp_path / "my-own-model")})
    metadata, body = split_card(render_model_card(folder))
    assert "base_model" not in metadata  # the Hub would reject a base_model that is not a repo id
    assert str(tmp_path / "my-own-model") in body


def test_invalid_run_record_is_a_clear_error(tmp_path):
    folder = _model_folder(tmp_path, run=None)
    (folder / "hfplug_run.json").write_text("{not json")
    with pytest.raises(hfplug.HfplugError, match=r"hfplug_run\.json is not valid JSON"):
        write_model_card(folder)


def test_pushed_model_card_names_the_plugin_and_version_that_trained_it(local_hub, tiny_model, tmp_path):
    from huggingface_hub import ModelCard, hf_hub_download

    folder = tmp_path / "trained"
    tiny_model.save_pretrained(folder)
    (folder / "hfplug_run.json").write_text(json.dumps(RUN))
    repo = local_hub.repo_id("carded")

    push(folder, repo)

    card = ModelCard.load(repo)  # huggingface_hub's own parser reads our front matter
    assert "hfplug-talr" in card.data.tags and card.data.hfplug["trainer"]["version"] == "0.1.3"
    assert "**talr** trainer from `hfplug-talr` 0.1.3" in card.text
    assert (folder / "README.md").read_text() == Path(hf_hub_download(repo, "README.md")).read_text()


def test_existing_readme_with_broken_front_matter_is_a_clear_error(tmp_path):
    folder = _model_folder(tmp_path)
    (folder / "README.md").write_text("---\ntags: [unclosed\n---\ntext\n")
    with pytest.raises(hfplug.HfplugError, match=r"README\.md has front matter that is not a valid YAML mapping"):
        write_model_card(folder)
    assert (folder / "README.md").read_text() == "---\ntags: [unclosed\n---\ntext\n"  # left as it was


def test_local_hub_validates_card_yaml_like_the_hub(local_hub):
    from huggingface_hub import HfApi

    with pytest.raises(ValueError, match=r"Invalid metadata in README\.md"):
        HfApi()._validate_yaml("---\ntags: [unclosed\n---\n")
    HfApi()._validate_yaml("---\ntags: [ok]\n---\n")


def test_pushed_generation_strategy_card_names_its_plugin(local_hub, isolated_plugins, tmp_path, monkeypatch):
    from huggingface_hub import ModelCard

    package = tmp_path / "pkg" / "hfplug_constant"
    (package / "strategies" / "constant" / "custom_generate").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    strategy = package / "strategies" / "constant"
    (strategy / "custom_generate" / "generate.py").write_text("def generate(model, **kwargs):\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))

    class ConstantPlugin:
        @hfplug.hookimpl
        def hfplug_register(self, registry):
            registry.generation(
                "constant", "hfplug_constant:strategies/constant", summary="Always the same token.", paper="none"
            )

    info = PluginInfo(name="constant", distribution="hfplug-constant", version="0.4.2")
    isolated_plugins.register(ConstantPlugin(), name="constant", info=info)
    repo = local_hub.repo_id("constant")

    push(hfplug.generation_path("constant"), repo)

    card = ModelCard.load(repo)
    assert {"custom_generate", "hfplug", "hfplug-constant"} <= set(card.data.tags)
    assert "**constant** decoding strategy from `hfplug-constant` 0.4.2" in card.text
    assert "pip install hfplug==" in card.text and "hfplug-constant==0.4.2" in card.text


def test_secrets_in_the_run_record_are_not_published(local_hub, tmp_path):
    from huggingface_hub import hf_hub_download

    secret = "hf_do_not_publish_me"
    run = {**RUN, "config": {**RUN["config"], "hub_token": secret, "pad_token": "[PAD]"}, "wandb_api_key": secret}
    folder = _model_folder(tmp_path, run=run)
    repo = local_hub.repo_id("secrets")

    push(folder, repo)

    card = Path(hf_hub_download(repo, "README.md")).read_text()
    record = Path(hf_hub_download(repo, "hfplug_run.json")).read_text()
    assert secret not in card and secret not in record
    assert json.loads(record)["config"]["pad_token"] == "[PAD]"  # token-like names that are not secrets stay
    assert "pad_token: '[PAD]'" in card
    assert secret in (folder / "hfplug_run.json").read_text()  # the local record is left as it was


TRL_README = """---
base_model: {local_path}
library_name: transformers
tags:
- base_model:finetune:{local_path}
- trl
- sft
---

# Model Card for out

This model is a fine-tuned version of [None](https://huggingface.co/None).
It has been trained using [TRL](https://github.com/huggingface/trl).

generator = pipeline("text-generation", model="None", device_map="auto")
"""


@pytest.mark.parametrize(
    ("base_model", "named"),
    [
        ("asset:smollm2-135m-instruct", "[HuggingFaceTB/SmolLM2-135M-Instruct](https://huggingface.co/"),
        ("HuggingFaceTB/SmolLM2-135M-Instruct", "[HuggingFaceTB/SmolLM2-135M-Instruct](https://huggingface.co/"),
        ("/nowhere/my-model", "`/nowhere/my-model`"),
    ],
)
def test_a_local_base_model_written_by_trl_or_peft_is_replaced(tmp_path, base_model, named):
    folder = _model_folder(tmp_path, run={**RUN, "base_model": base_model})
    local_path = tmp_path / "cache" / "hfplug" / "assets" / "smollm2-135m-instruct"  # what trl writes locally
    (folder / "README.md").write_text(TRL_README.format(local_path=local_path))
    metadata, body = split_card(render_model_card(folder, repo_id="me/sft"))
    expected = None if base_model.startswith("/") else "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert metadata.get("base_model") == expected
    assert str(local_path) not in yaml.safe_dump(metadata.get("base_model"))
    assert f"fine-tuned version of {named}" in body and "[None]" not in body
    assert 'model="me/sft"' in body
    assert {"trl", "sft", "hfplug"} <= set(metadata["tags"])  # the library's own tags stay
    # a base_model tag names the Hub repo, or goes when there is none
    assert [t for t in metadata["tags"] if t.startswith("base_model:")] == [
        f"base_model:finetune:{e}" for e in [expected] if e
    ]
