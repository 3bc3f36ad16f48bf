"""The ``local_hub`` pytest fixture: huggingface_hub, transformers, peft and datasets talk to a local
Hub test double (:mod:`hfplug.testing.hub_server`) instead of huggingface.co.

One server runs per test process (a thread, random port on 127.0.0.1); each test gets its own
namespace, download cache and datasets cache, so tests never see each other's repos or files.
"""

from __future__ import annotations

import atexit
import itertools
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hfplug.testing.hub_server import LocalHub

DUMMY_TOKEN = "hf_hfplug_local_test_token"
_namespaces = itertools.count()


@dataclass
class LocalHubSession:
    """What a test gets from ``local_hub``.

    ``url`` is the endpoint (also in ``HF_ENDPOINT``), ``token`` the dummy token (also in ``HF_TOKEN``),
    ``namespace`` this test's own namespace, ``repo_id(name)`` a repo id inside it, ``server`` the
    running :class:`~hfplug.testing.hub_server.LocalHub` (``server.fail(...)``, ``server.requests``),
    ``cache_dir`` this test's download cache.
    """

    server: LocalHub
    namespace: str
    token: str
    cache_dir: Path

    @property
    def url(self) -> str:
        return self.server.url

    def repo_id(self, name: str) -> str:
        return f"{self.namespace}/{name}"


def point_libraries_at(monkeypatch: pytest.MonkeyPatch, url: str, token: str, cache_root: Path) -> None:
    """Point the Hugging Face libraries at ``url`` for one test.

    The environment variables cover libraries imported later in the test. The libraries copy some of
    them into module constants when they are imported, so those copies are patched too where the
    module is already loaded (pytest undoes all of it after the test).
    """
    hub_cache = cache_root / "hub"
    environment = {
        "HF_ENDPOINT": url,
        "HF_TOKEN": token,
        "HF_HUB_DISABLE_XET": "1",  # the test double speaks the LFS protocol, not Xet
        "HF_HUB_OFFLINE": "0",  # a suite may default to offline; these tests talk to the local server
        "HF_DATASETS_OFFLINE": "0",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_CACHE": str(hub_cache),
        "HF_DATASETS_CACHE": str(cache_root / "datasets"),
        "HF_MODULES_CACHE": str(cache_root / "modules"),
        "HF_TOKEN_PATH": str(cache_root / "no-token-file"),  # a developer's saved login must not leak in
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)

    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        monkeypatch.setattr(constants, "ENDPOINT", url)
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")
        monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub_cache))
        monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(cache_root / "no-token-file"))
    # huggingface_hub's module-level helpers (file_exists, list_repo_files ...) are bound to one
    # HfApi made at import time, which copied the endpoint then.
    hf_api = sys.modules.get("huggingface_hub.hf_api")
    if hf_api is not None and hasattr(hf_api, "api"):
        monkeypatch.setattr(hf_api.api, "endpoint", url)
    datasets_config = sys.modules.get("datasets.config")
    if datasets_config is not None:
        monkeypatch.setattr(datasets_config, "HF_ENDPOINT", url)
        monkeypatch.setattr(datasets_config, "HUB_DATASETS_URL", url + "/datasets/{repo_id}/resolve/{revision}/{path}")
        monkeypatch.setattr(datasets_config, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(datasets_config, "HF_DATASETS_OFFLINE", False)
        monkeypatch.setattr(datasets_config, "HF_DATASETS_CACHE", cache_root / "datasets")
    # Remote code (custom_generate) is copied into the modules cache; keep it inside the test's folder.
    for module_name in ("transformers.utils.hub", "transformers.dynamic_module_utils"):
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, "HF_MODULES_CACHE"):
            monkeypatch.setattr(module, "HF_MODULES_CACHE", str(cache_root / "modules"))
    # A `transformers_modules` package imported earlier in this process still points at the old
    # modules cache, and remote code with relative imports would not resolve from the new one.
    for name in [n for n in sys.modules if n == "transformers_modules" or n.startswith("transformers_modules.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(cache_root / "modules"))


def forget_remote_code_modules() -> None:
    """Drop every ``transformers_modules`` package imported from this test's modules cache.

    Run before monkeypatch's undo (which then puts back the ones imported earlier): otherwise a
    ``transformers_modules`` first imported here keeps pointing at this test's deleted folder, and every
    later ``custom_generate`` load in the process fails with ``No module named 'transformers_modules.x'``.
    """
    for name in [n for n in sys.modules if n == "transformers_modules" or n.startswith("transformers_modules.")]:
        del sys.modules[name]


_server: LocalHub | None = None


def shared_server() -> LocalHub:
    """The one test server of this process, started on first use and closed when the process exits.

    Kept outside pytest's fixture graph so that importing ``local_hub`` alone is enough to use it."""
    global _server
    if _server is None:
        _server = LocalHub()
        atexit.register(_server.close)
    return _server


@pytest.fixture
def local_hub(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHubSession]:
    """A local Hub test double for this test (see :class:`LocalHubSession`); a test double, not the Hub."""
    server = shared_server()
    cache_root = tmp_path_factory.mktemp("local-hub-cache")
    point_libraries_at(monkeypatch, server.url, DUMMY_TOKEN, cache_root)
    namespace = f"test{next(_namespaces)}-{uuid.uuid4().hex[:8]}"
    server.state.faults.clear()
    yield LocalHubSession(server=server, namespace=namespace, token=DUMMY_TOKEN, cache_dir=cache_root)
    server.state.faults.clear()
    forget_remote_code_modules()
