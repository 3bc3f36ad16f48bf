"""Check a generation strategy (a ``custom_generate`` folder) the way its users will run it: pushed to a
Hub repo and loaded by plain transformers, pinned to a revision, with neither hfplug nor the plugin
importable.

transformers forwards every keyword of ``model.generate(custom_generate=REPO, ...)`` to the folder's
``generate()``, the ones it used to fetch the folder (``revision``, ``token``, ...) included, so a
strategy must accept and ignore those. It cannot import a shared helper for that: a folder loaded from
the Hub runs where hfplug may not be installed. This module is the shared part, for tests. ::

    from hfplug.testing.strategies import run_local_and_pinned

    local, pinned = run_local_and_pinned(folder, local_hub.repo_id("mine"), model, input_ids, max_new_tokens=4)
    assert torch.equal(local, pinned)
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# What ``model.generate(custom_generate=REPO, ...)`` hands to transformers' remote-code loader
# (``has_file``/``get_cached_module_file``); transformers passes them on to the strategy's generate() too.
# ``trust_remote_code`` and ``custom_generate`` themselves are taken out before the call.
HUB_LOADING_ARGUMENTS = ("revision", "token", "cache_dir", "force_download", "proxies", "local_files_only", "repo_type")


def hub_loading_arguments(revision: str, *, token: str | None = None, cache_dir: str | None = None) -> dict[str, Any]:
    """One value for each of :data:`HUB_LOADING_ARGUMENTS` that loads the repo at ``revision``."""
    return {
        "revision": revision,
        "token": token,
        "cache_dir": cache_dir,
        "force_download": False,
        "proxies": None,
        "local_files_only": False,
        "repo_type": "model",
    }


@contextlib.contextmanager
def unimportable(*packages: str) -> Iterator[None]:
    """Inside the block, importing any of ``packages`` (or a submodule, even one already imported) fails,
    as it would for a user who never installed them; everything is put back afterwards."""
    names = [n for n in sys.modules if any(n == p or n.startswith(f"{p}.") for p in packages)]
    saved = {name: sys.modules[name] for name in names}
    try:
        for name in {*names, *packages}:
            sys.modules[name] = None  # type: ignore[assignment]  # None in sys.modules makes import raise
        yield
    finally:
        for name in {*names, *packages}:
            del sys.modules[name]
        sys.modules.update(saved)


def run_local_and_pinned(
    folder: str | Path,
    repo_id: str,
    model: Any,
    inputs: Any,
    *,
    packages: tuple[str, ...] = ("hfplug",),
    **generate_arguments: Any,
) -> tuple[Any, Any]:
    """Generate with the local ``folder``, then push it to ``repo_id`` and generate again from the Hub pinned
    to the pushed commit, passing every Hub-loading argument, with ``packages`` unimportable (add your
    plugin's package). Both calls start from the same torch seed; returns ``(local, pinned)`` outputs."""
    import torch
    from huggingface_hub import get_token

    from hfplug.hub import commit_sha, push

    torch.manual_seed(0)
    local = model.generate(inputs, custom_generate=str(folder), trust_remote_code=True, **generate_arguments)
    revision = commit_sha(push(folder, repo_id))
    loading = hub_loading_arguments(revision, token=get_token())
    torch.manual_seed(0)
    with unimportable(*packages):
        pinned = model.generate(
            inputs, custom_generate=repo_id, trust_remote_code=True, **loading, **generate_arguments
        )
    return local, pinned
