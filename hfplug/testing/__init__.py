"""Test helpers for hfplug and its plugin authors.

Installed as a pytest plugin (entry point ``pytest11``), so these fixtures are available in any
project that has hfplug installed:

- ``tiny_tokenizer``: a byte-level BPE tokenizer trained in-process on a small built-in corpus,
  with BOS/EOS/PAD tokens and a chat template (no download).
- ``tiny_model``: a randomly initialised 2-layer Llama causal LM that matches ``tiny_tokenizer``.
- ``tiny_model_dir``: both saved into one folder, usable as ``model_name_or_path``.
- ``isolated_plugins``: a fresh plugin manager with nothing installed but the built-ins; call
  ``isolated_plugins.register(obj, name=...)`` to add a plugin for one test.

``fast_cpu_config(ConfigClass, output_dir, **overrides)`` builds any trainer config set up for
quick, exact CPU tests (fp32, no checkpointing, no reporting, nothing saved).

``hfplug.testing.strategies.run_local_and_pinned(folder, repo_id, model, inputs, ...)`` runs a
generation strategy from its folder and again from the ``local_hub`` double, pinned to the pushed commit
with every download option transformers forwards, with hfplug and the plugin unimportable.

The plain functions behind them (``make_tiny_tokenizer``, ``make_tiny_model``,
``isolated_manager``) are importable too, for scripts and benchmarks.
"""

from hfplug.testing.files import run_data_parallel, save_model_dir, write_jsonl
from hfplug.testing.models import TINY_CORPUS, make_tiny_model, make_tiny_tokenizer
from hfplug.testing.plugins import isolated_manager
from hfplug.testing.training import FAST_CPU_DEFAULTS, fast_cpu_config

__all__ = [
    "FAST_CPU_DEFAULTS",
    "TINY_CORPUS",
    "fast_cpu_config",
    "isolated_manager",
    "make_tiny_model",
    "make_tiny_tokenizer",
    "run_data_parallel",
    "save_model_dir",
    "write_jsonl",
]
