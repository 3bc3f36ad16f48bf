"""Small file and process helpers for tests that go through configs and launchers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> Path:
    """Write ``rows`` as JSON lines (a dataset file a config can name); returns the path."""
    path = Path(path)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def save_model_dir(model: Any, tokenizer: Any, folder: str | Path) -> Path:
    """Save a model and its tokenizer into one folder usable as ``model_name_or_path``."""
    folder = Path(folder)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


# Appended to every data-parallel script: a gloo process group still open when the interpreter exits can
# abort a worker ("terminate called without an active exception", exit -6) after its work is done.
_CLOSE_PROCESS_GROUP = """

import torch.distributed as _hfplug_dist

if _hfplug_dist.is_available() and _hfplug_dist.is_initialized():
    _hfplug_dist.barrier()
    _hfplug_dist.destroy_process_group()
"""


def run_data_parallel(script: str, workdir: str | Path, *args: str, nproc: int = 2, timeout: float = 300) -> str:
    """Run a Python ``script`` under ``torch.distributed.run`` with ``nproc`` CPU processes (gloo).

    The script gets ``args`` on its command line; the process group it opened is closed after it
    ends. Raises ``AssertionError`` with the end of the
    launcher's output if any process fails; returns the combined output otherwise.
    """
    workdir = Path(workdir)
    path = workdir / "data_parallel_script.py"
    path.write_text(script + _CLOSE_PROCESS_GROUP, encoding="utf-8")
    # --standalone picks a free rendezvous port: the default 29500 may be held by another launch.
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc), str(path), *args
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=workdir)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        # The launcher's last lines are often a worker's warning; the cause is an earlier error line.
        causes = [line for line in output.splitlines() if "Error" in line or "terminate" in line]
        raise AssertionError("\n".join(causes[:20]) + "\n...\n" + output[-3000:])
    return output
