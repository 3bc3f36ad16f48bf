"""Which Hub repo a model or dataset reference stands for, so that what we push names that repo instead of
a folder that exists only on the machine that trained it.

A LoRA adapter trained on ``asset:smollm2-135m-instruct`` records the asset's cache folder as its base
model; on any other machine that folder does not exist. The asset knows the Hub repo it is a copy of,
and a snapshot in the Hugging Face cache knows its repo and commit: :func:`hub_origin` reads both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hfplug.assets import ASSET_PREFIX

HUB_PREFIX = "hub:"
# huggingface_hub's cache layout: <cache>/models--<namespace>--<name>/snapshots/<commit sha>/...
_SNAPSHOT = re.compile(r"(?:^|/)(models|datasets)--([^/]+)/snapshots/([0-9a-f]{40})(?:/|$)")


@dataclass(frozen=True)
class HubOrigin:
    """A Hub repo, and the commit (or branch) when it is known."""

    repo_id: str
    revision: str | None = None

    def __str__(self) -> str:
        return f"{self.repo_id}@{self.revision}" if self.revision else self.repo_id

    def as_dict(self) -> dict[str, Any]:
        return {"repo_id": self.repo_id, "revision": self.revision}


def is_hub_id(value: Any) -> bool:
    """``namespace/name`` or ``name`` as the Hub accepts it, and not a folder that exists here."""
    if not isinstance(value, str) or not value or value.startswith((".", "/", "~")) or value.count("/") > 1:
        return False
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(value)
    except HFValidationError:
        return False
    return not Path(value).exists()


def hub_origin(value: Any) -> HubOrigin | None:
    """The Hub repo behind a model or dataset reference, or ``None`` when it has none that we can tell.

    ``asset:NAME`` and an asset's prepared folder (or data file): the repo the asset copies, when its
    definition names one. ``hub:REPO@REV``: that repo at that revision. A snapshot folder of the Hugging
    Face cache: its repo at its commit. A Hub id: itself. Any other local path: ``None``.
    """
    if not isinstance(value, str) or not value:
        return None
    if value.startswith(ASSET_PREFIX):
        return _asset_origin(_registered_asset(value))
    if value.startswith(HUB_PREFIX):
        from hfplug.hub import parse_hub_reference

        repo_id, revision = parse_hub_reference(value)
        return HubOrigin(repo_id, revision)
    path = Path(value).expanduser()
    if path.exists():
        snapshot = _SNAPSHOT.search(path.resolve().as_posix())
        if snapshot is not None:
            return HubOrigin(snapshot.group(2).replace("--", "/"), snapshot.group(3))
        from hfplug.assets import asset_at

        return _asset_origin(asset_at(path))
    return HubOrigin(value) if is_hub_id(value) else None


def _registered_asset(name: str) -> Any:
    from hfplug.assets import get_asset
    from hfplug.errors import HfplugError

    try:
        return get_asset(name)
    except HfplugError:  # not installed here: nothing to say about where it came from
        return None


def _asset_origin(asset: Any) -> HubOrigin | None:
    if asset is None or not asset.hub_id:
        return None
    return HubOrigin(asset.hub_id, asset.hub_revision)


def base_model_origin(run_info: dict[str, Any] | None, recorded_base: str | None = None) -> HubOrigin | None:
    """The Hub repo of the model a run started from: the run record's ``base_model_hub``, else what its
    ``base_model`` / ``base_model_resolved`` or ``recorded_base`` (what the weights' own config says) stand for."""
    run_info = run_info or {}
    recorded = run_info.get("base_model_hub")
    if isinstance(recorded, dict) and is_hub_id(recorded.get("repo_id")):
        return HubOrigin(recorded["repo_id"], recorded.get("revision"))
    for value in (recorded_base, run_info.get("base_model"), run_info.get("base_model_resolved")):
        origin = hub_origin(value)
        if origin is not None:
            return origin
    return None
