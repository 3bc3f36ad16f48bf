"""Fixtures shared by the host tests."""

from collections.abc import Iterator

import pytest

from .outside_plugin import OutsidePlugins


@pytest.fixture
def outside_plugins(tmp_path, monkeypatch) -> Iterator[OutsidePlugins]:
    """Install outside authors' plugins for one test: ``outside_plugins.install("rho", trainer=...)``, then
    ``outside_plugins.manager()``; everything is undone afterwards."""
    plugins = OutsidePlugins(tmp_path / "site", monkeypatch)
    yield plugins
    plugins.close()


@pytest.fixture
def loading_is_forbidden(monkeypatch):
    """Every way hfplug loads a tokenizer or weights records the call and fails the test."""
    import transformers

    calls = []

    def forbidden(*args, **kwargs):
        calls.append(args)
        raise AssertionError("a tokenizer or model was loaded")

    for cls in (transformers.AutoTokenizer, transformers.AutoModelForCausalLM, transformers.PreTrainedModel):
        monkeypatch.setattr(cls, "from_pretrained", forbidden)
    monkeypatch.setattr("hfplug.models.load_causal_lm", forbidden)
    return calls
