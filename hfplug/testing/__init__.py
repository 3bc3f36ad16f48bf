"""Test helpers for hfplug and its plugin authors.

Installed as a pytest plugin (entry point ``pytest11``), so these fixtures are available in any
project that has hfplug installed:

- ``tiny_tokenizer``: a byte-level BPE tokenizer trained in-process on a small built-in corpus,
  with BOS/EOS/PAD tokens and a chat template (no download).
- ``tiny_model``: a randomly initialised 2-layer Llama causal LM that matches ``tiny_tokenizer``.
- ``isolated_plugins``: a fresh plugin manager with nothing installed but the built-ins; call
  ``isolated_plugins.register(obj, name=...)`` to add a plugin for one test.

The plain functions behind them (``make_tiny_tokenizer``, ``make_tiny_model``,
``isolated_manager``) are importable too, for scripts and benchmarks.
"""

from hfplug.testing.models import TINY_CORPUS, make_tiny_model, make_tiny_tokenizer
from hfplug.testing.plugins import isolated_manager

__all__ = ["TINY_CORPUS", "isolated_manager", "make_tiny_model", "make_tiny_tokenizer"]
