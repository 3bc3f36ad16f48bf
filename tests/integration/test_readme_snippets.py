"""Python snippets that READMEs promise work, run as written on this (CPU) machine with tiny stand-ins for
the objects they assume (model, tokenizer, dataset)."""

import re
import warnings
from pathlib import Path

import pytest
from datasets import Dataset

from hfplug.precision import bf16_available

ROOT = Path(__file__).resolve().parents[2]


def python_block(readme: Path, containing: str) -> str:
    """The fenced ```python block of ``readme`` that contains ``containing``."""
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), flags=re.DOTALL)
    [block] = [b for b in blocks if containing in b]
    return block


def test_the_talr_python_snippet_trains_on_a_cpu(tiny_model, tiny_tokenizer, tmp_path, monkeypatch):
    pytest.importorskip("hfplug_talr", reason="the snippet is hfplug-talr's")
    snippet = python_block(ROOT / "plugins" / "talr" / "README.md", 'hfplug.load("trainer", "talr")')
    monkeypatch.chdir(tmp_path)  # the snippet writes to "out"
    dataset = Dataset.from_dict({"text": ["the quick brown fox", "jumps over the lazy dog"] * 4})
    namespace = {"model": tiny_model, "tokenizer": tiny_tokenizer, "dataset": dataset}
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*gradient_checkpointing.*deprecated")  # problem 13
        exec(compile(snippet, "plugins/talr/README.md", "exec"), namespace)
    trainer = namespace["trainer"]
    assert trainer.state.global_step == 10 and trainer.args.bf16 == bf16_available()  # no bf16 error on a CPU
