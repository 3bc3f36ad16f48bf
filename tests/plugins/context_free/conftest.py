"""Shared settings for the context-free tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def single_torch_thread():
    """One intra-op thread: these tensors are tiny, and on a shared 2-core machine more threads only contend."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def write_task_file(path, rows: int):
    """A chat-format task file of ``rows`` arithmetic questions (the data a config's ``dataset`` names)."""
    import json

    lines = [
        {"messages": [{"role": "user", "content": f"What is {i} plus 3?"}, {"role": "assistant", "content": "5"}]}
        for i in range(rows)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in lines))
    return path
