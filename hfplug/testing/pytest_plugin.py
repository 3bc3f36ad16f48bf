"""pytest fixtures for hfplug and plugin authors (registered through the ``pytest11`` entry point)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hfplug.manager import HfplugManager
from hfplug.testing.files import save_model_dir
from hfplug.testing.models import make_tiny_model, make_tiny_tokenizer
from hfplug.testing.plugins import isolated_manager


@pytest.fixture
def tiny_tokenizer() -> Any:
    """A byte-level BPE tokenizer trained in-process, with BOS/EOS/PAD and a chat template."""
    return make_tiny_tokenizer()


@pytest.fixture
def tiny_model(tiny_tokenizer: Any) -> Any:
    """A random 2-layer Llama causal LM matching ``tiny_tokenizer`` (seeded, so deterministic)."""
    return make_tiny_model(tiny_tokenizer)


@pytest.fixture
def tiny_model_dir(tmp_path: Path, tiny_model: Any, tiny_tokenizer: Any) -> Path:
    """``tiny_model`` and ``tiny_tokenizer`` saved into one folder (a ``model_name_or_path``)."""
    return save_model_dir(tiny_model, tiny_tokenizer, tmp_path / "tiny-model")


@pytest.fixture
def isolated_plugins() -> Iterator[HfplugManager]:
    """A plugin manager with only the built-ins; ``isolated_plugins.register(obj, name=...)`` adds a
    plugin for this test only and raises ``PluginLoadError`` with the cause if it fails to register;
    ``isolated_plugins.check("name")`` imports every reference it registered and lists the problems."""
    with isolated_manager() as manager:
        yield manager


from hfplug.testing.hub_fixture import local_hub  # noqa: E402, F401
