"""Every generation strategy we ship runs from the Hub pinned to a revision: transformers forwards the
arguments that fetched the folder (``revision``, ``token``, ...) to its generate(), which must accept them
and give what the local folder gives, with neither hfplug nor the plugin importable."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import torch

import hfplug
from hfplug.testing import make_tiny_model, make_tiny_tokenizer
from hfplug.testing.strategies import HUB_LOADING_ARGUMENTS, run_local_and_pinned

torch.set_num_threads(1)

HOST_STRATEGIES = {"echo_first": (Path(__file__).parent / "strategies" / "echo_first", "tests")}
# Arguments a strategy needs to run on the tiny model below (the joint sampler needs a trained sampler
# for more than one token per step).
NEEDS = {"joint_sampler": {"tokens_per_step": 1}}


STRATEGIES = sorted({*hfplug.names("generation"), *HOST_STRATEGIES})


def _folder_and_package(name: str) -> tuple[Path, str]:
    if name in HOST_STRATEGIES:
        return HOST_STRATEGIES[name]
    component = hfplug.get("generation", name)  # loaded here, so a broken plugin fails its own cases only
    return Path(component.load()), component.ref.split(":")[0].split(".")[0]


def test_the_list_of_loading_arguments_is_what_transformers_takes():
    from transformers.dynamic_module_utils import get_cached_module_file

    taken = set(inspect.signature(get_cached_module_file).parameters)
    assert taken - {"pretrained_model_name_or_path", "module_file", "deprecated_kwargs"} == set(HUB_LOADING_ARGUMENTS)


@pytest.mark.parametrize("name", STRATEGIES)
def test_strategy_runs_from_the_hub_pinned_with_every_loading_argument(local_hub, name):
    folder, package = _folder_and_package(name)
    tokenizer = make_tiny_tokenizer()
    # Four layers for the early-exit strategies; a mask token for the masked-diffusion ones.
    model = make_tiny_model(tokenizer, num_hidden_layers=4, mask_token_id=tokenizer.pad_token_id).eval()
    prompt = torch.tensor([[1, 5, 9, 13]])

    local, pinned = run_local_and_pinned(
        folder,
        local_hub.repo_id(name.replace("_", "-")),
        model,
        prompt,
        packages=("hfplug", package),
        max_new_tokens=4,
        do_sample=False,
        **NEEDS.get(name, {}),
    )

    assert pinned.shape == (1, 8)
    assert torch.equal(pinned, local)


def test_a_strategy_that_imports_hfplug_fails_when_run_from_the_hub(local_hub, tmp_path):
    folder = tmp_path / "needs_hfplug"
    (folder / "custom_generate").mkdir(parents=True)
    (folder / "custom_generate" / "generate.py").write_text(
        "def generate(model, inputs=None, **kwargs):\n    import hfplug.testing  # not there for Hub users\n"
        "    return inputs\n"
    )
    model = make_tiny_model(make_tiny_tokenizer())
    with pytest.raises(ImportError):
        run_local_and_pinned(folder, local_hub.repo_id("needs-hfplug"), model, torch.tensor([[1, 2]]))
    import hfplug.testing  # noqa: F401  # and it is importable again afterwards
