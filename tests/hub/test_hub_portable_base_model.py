"""What is trained on an ``asset:`` model and pushed loads on a machine that never saw the asset cache: the
pushed adapter, card and run record name the Hub repo the asset is a copy of, at the asset's revision.

The "other machine" is a subprocess with an empty HF_HOME and an empty HFPLUG_CACHE (the asset cache of
this process moved away), talking to the same local Hub test double, which holds the base model under
the id the asset claims: pushed twice, so that only the pinned revision gives the trained-on weights.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import hfplug
from hfplug.assets import Asset
from hfplug.testing import make_tiny_model, make_tiny_tokenizer, save_model_dir, write_jsonl

torch.set_num_threads(1)

IDS = [[1, 5, 9, 13, 20]]
PROMPT = "What is 2 plus 3?"
ROWS = [
    {"messages": [{"role": "user", "content": f"What is {i} plus 1?"}, {"role": "assistant", "content": str(i + 1)}]}
    for i in range(4)
]


@dataclass(frozen=True)
class TinyModelAsset(Asset):
    """hfplug's tiny test model as an asset, built into the asset cache like a de-quantised GGUF."""

    seed: int = 0

    def source_dir(self) -> Path:
        return Path(__file__).parent

    def build(self, source: Path, out: Path) -> None:
        tokenizer = make_tiny_tokenizer()
        save_model_dir(make_tiny_model(tokenizer, seed=self.seed), tokenizer, out)


class TinyAssetPlugin:
    @hfplug.hookimpl
    def hfplug_register(self, registry):
        registry.asset("tiny-base", f"{__name__}:TINY_ASSET", summary="test copy of a Hub model", asset_kind="model")


def _push_base_twice(local_hub, tmp_path: Path) -> tuple[str, str]:
    """The asset's Hub repo: the trained-on weights (seed 0) at the returned commit, other weights on main."""
    from hfplug.hub import commit_sha, push

    repo = local_hub.repo_id("tiny-base")
    tokenizer = make_tiny_tokenizer()
    pinned = commit_sha(push(save_model_dir(make_tiny_model(tokenizer, seed=0), tokenizer, tmp_path / "b0"), repo))
    push(save_model_dir(make_tiny_model(tokenizer, seed=1), tokenizer, tmp_path / "b1"), repo)
    return repo, pinned


def _fresh_machine(local_hub, root: Path) -> dict[str, str]:
    """An environment that shares nothing with this process but the local Hub's address."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HFPLUG_", "HUGGING"))}
    (root / "hf-home").mkdir(parents=True)
    (root / "hfplug-cache").mkdir()
    return environment | {
        "HF_HOME": str(root / "hf-home"),
        "HFPLUG_CACHE": str(root / "hfplug-cache"),
        "HF_ENDPOINT": local_hub.url,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_OFFLINE": "0",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "OMP_NUM_THREADS": "1",
        "TRANSFORMERS_VERBOSITY": "error",
    }


def _run(command: list[str], environment: dict[str, str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


LOAD_SCRIPT = """
import json, sys, torch
torch.set_num_threads(1)
from {module} import {loader}
model = {loader}.from_pretrained(sys.argv[1], revision=sys.argv[2])
with torch.no_grad():
    print(json.dumps(model(torch.tensor({ids})).logits.tolist()))
"""


@pytest.mark.parametrize("use_peft", [True, False], ids=["lora-adapter", "full-model"])
def test_model_trained_on_an_asset_loads_pinned_on_a_fresh_machine(
    local_hub, tmp_path, monkeypatch, isolated_plugins, use_peft
):
    from huggingface_hub import HfApi, ModelCard, hf_hub_download
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM

    from hfplug.cli import build_cli

    base_repo, base_revision = _push_base_twice(local_hub, tmp_path)
    asset = TinyModelAsset(
        name="tiny-base",
        kind="model",
        module="none",
        pip="-",
        summary="-",
        hub_id=base_repo,
        hub_revision=base_revision,
    )
    monkeypatch.setattr(sys.modules[__name__], "TINY_ASSET", asset, raising=False)
    monkeypatch.setenv("HFPLUG_CACHE", str(tmp_path / "asset-cache"))
    isolated_plugins.register(TinyAssetPlugin(), name="tiny-asset")
    out, repo = tmp_path / "out", local_hub.repo_id("trained")
    peft = "use_peft: true\nlora_r: 4\nlora_target_modules: [q_proj, v_proj]\n" if use_peft else ""
    config = tmp_path / "run.yaml"
    config.write_text(
        f"trainer: sft\nmodel_name_or_path: asset:tiny-base\ndataset: {write_jsonl(tmp_path / 'd.jsonl', ROWS)}\n"
        f"output_dir: {out}\nmax_steps: 1\nper_device_train_batch_size: 4\nmax_length: 64\nreport_to: none\n"
        f"save_strategy: 'no'\nlearning_rate: 0.05\nuse_cpu: true\n{peft}push_to_hub: true\nhub_model_id: {repo}\n"
    )

    trained = CliRunner().invoke(build_cli(), ["train", "--config", str(config)])
    assert trained.exit_code == 0, trained.output

    loader = AutoPeftModelForCausalLM if use_peft else AutoModelForCausalLM
    with torch.no_grad():
        expected = loader.from_pretrained(out)(torch.tensor(IDS)).logits  # here, the asset folder is the base
    local_text = CliRunner().invoke(
        build_cli(), ["generate", "--model", str(out), "--prompt", PROMPT, "--max-new-tokens", "5"]
    )
    assert local_text.exit_code == 0, local_text.output
    revision = HfApi().model_info(repo).sha
    card = ModelCard.load(repo)
    record = json.loads(Path(hf_hub_download(repo, "hfplug_run.json")).read_text())
    assert card.data.base_model == base_repo
    assert (
        card.data.hfplug["base_model_hub"]
        == record["base_model_hub"]
        == {"repo_id": base_repo, "revision": base_revision}
    )
    assert not [tag for tag in card.data.tags if str(tmp_path) in tag], card.data.tags
    if use_peft:
        assert f"base_model:adapter:{base_repo}" in card.data.tags
        adapter_config = json.loads(Path(hf_hub_download(repo, "adapter_config.json")).read_text())
        assert (adapter_config["base_model_name_or_path"], adapter_config["revision"]) == (base_repo, base_revision)
    (tmp_path / "asset-cache").rename(tmp_path / "asset-cache-hidden")  # the other machine has no asset cache

    fresh = _fresh_machine(local_hub, tmp_path / "fresh")
    script = LOAD_SCRIPT.format(module="peft" if use_peft else "transformers", loader=loader.__name__, ids=IDS)
    logits = json.loads(_run([sys.executable, "-c", script, repo, revision], fresh).strip().splitlines()[-1])
    torch.testing.assert_close(torch.tensor(logits), expected, rtol=1e-5, atol=1e-5)
    generate = ["generate", "--model", f"hub:{repo}@{revision}", "--prompt", PROMPT, "--max-new-tokens", "5"]
    assert _run([sys.executable, "-m", "hfplug", *generate], fresh).strip() == local_text.stdout.strip()
