"""Push what hfplug trained to the Hugging Face Hub, with a provenance card, and load it back.

Everything goes through huggingface_hub's own API (``create_repo``, ``create_branch``,
``upload_folder``, ``snapshot_download``); nothing here speaks git. ::

    from hfplug.hub import push, resolve_model_path
    push("out/talr-run", "me/smollm2-talr")                # model, adapter, mixin model, dataset, custom_generate
    path = resolve_model_path("hub:me/smollm2-talr@3f2a9c1")  # a local snapshot, pinned to a revision

A push never changes the folder it uploads until it has succeeded: the card and any converted files
are staged in a temporary folder (symlinks to the originals), and ``README.md`` is written into the
output folder only once the commit has landed (never into a ``custom_generate`` folder, unless asked).
The Hub applies a commit all at once, so a push that fails midway leaves the repo as it was, and
running it again uploads the whole folder.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hfplug.assets import ASSET_PREFIX
from hfplug.errors import HubError
from hfplug.hub_origin import HUB_PREFIX, HubOrigin, base_model_origin, is_hub_id
from hfplug.model_card import (
    CARD_FILE,
    RUN_INFO_FILE,
    read_run_info,
    render_model_card,
    write_card_text,
    write_model_card,
)

__all__ = [
    "KINDS",
    "HubError",
    "commit_sha",
    "detect_kind",
    "pull",
    "push",
    "resolve_model_path",
    "write_model_card",
]

KINDS = ("transformers", "peft", "mixin", "dataset", "custom_generate")
# Trainer output that is local state, not the result: checkpoints and TensorBoard logs.
TRAINER_STATE_PATTERNS = ("checkpoint-*", "runs")
_DATA_SUFFIXES = (".parquet", ".jsonl", ".json", ".csv", ".arrow", ".txt")
# Files a push writes itself: each push replaces them, or deletes them when it has none (the card is always
# written), so a repo never keeps an earlier run's provenance next to new weights.
OWNED_FILES = (CARD_FILE, RUN_INFO_FILE)


def detect_kind(folder: str | Path) -> str:
    """What ``folder`` holds: ``"transformers"``, ``"peft"``, ``"mixin"``, ``"dataset"`` or ``"custom_generate"``.

    Checked in that order of specificity: a ``custom_generate/generate.py``; a PEFT ``adapter_config.json``;
    a ``datasets`` ``save_to_disk`` folder; a transformers ``config.json`` (it names a ``model_type`` or
    ``architectures``); other ``config.json`` / ``*.safetensors`` (a PyTorchModelHubMixin model); data files only.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise HubError(f"{folder} is not a folder")
    if (folder / "custom_generate" / "generate.py").is_file():
        return "custom_generate"
    if (folder / "adapter_config.json").is_file():
        return "peft"
    if _is_saved_dataset(folder):
        return "dataset"
    config_path = folder / "config.json"
    if config_path.is_file():
        try:
            config = json.loads(config_path.read_text())
        except json.JSONDecodeError as error:
            raise HubError(f"{config_path} is not valid JSON: {error}") from error
        if isinstance(config, dict) and ("model_type" in config or "architectures" in config):
            return "transformers"
        return "mixin"
    if any(folder.glob("*.safetensors")):
        return "mixin"
    if any(p.is_file() and p.suffix in _DATA_SUFFIXES and p.name != RUN_INFO_FILE for p in folder.rglob("*")):
        return "dataset"
    raise HubError(
        f"cannot tell what {folder} holds: expected a transformers model (config.json), a PEFT adapter "
        "(adapter_config.json), a PyTorchModelHubMixin model (*.safetensors), a dataset (save_to_disk folder "
        "or data files) or a custom_generate folder (custom_generate/generate.py)"
    )


def _is_saved_dataset(folder: Path) -> bool:
    """A folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``."""
    return (folder / "dataset_dict.json").is_file() or (folder / "state.json").is_file()


def _check_repo_id(repo_id: str) -> None:
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    if not isinstance(repo_id, str) or not repo_id or repo_id.count("/") > 1 or repo_id.endswith("/"):
        raise HubError(f"repo id {repo_id!r} must have the form 'namespace/name' or 'name' (for example 'me/my-model')")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise HubError(f"invalid repo id {repo_id!r}: {error}") from error


def _resolve_token(token: str | None) -> str:
    from huggingface_hub import get_token

    resolved = token or get_token()
    if not resolved:
        raise HubError("no Hugging Face token: set HF_TOKEN, run `hf auth login`, or pass token=...")
    return resolved


def _excluded(relative: Path, include_checkpoints: bool) -> bool:
    first = relative.parts[0]
    if first in (".git", "__pycache__", ".cache") or relative.suffix == ".pyc" or relative.name.startswith(".~"):
        return True
    return not include_checkpoints and any(fnmatch.fnmatch(first, p) for p in TRAINER_STATE_PATTERNS)


def _link_tree(source: Path, staging: Path, include_checkpoints: bool) -> None:
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        written_by_us = relative.as_posix() in (CARD_FILE, RUN_INFO_FILE)
        if path.is_dir() or written_by_us or _excluded(relative, include_checkpoints):
            continue
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(path.resolve(), target)


def _stage_dataset(source: Path, staging: Path) -> None:
    """A ``save_to_disk`` folder becomes one parquet file per split, which ``load_dataset(repo)`` reads."""
    from datasets import DatasetDict, load_from_disk

    loaded = load_from_disk(str(source))
    splits = loaded if isinstance(loaded, DatasetDict) else DatasetDict({"train": loaded})
    (staging / "data").mkdir()
    for split, dataset in splits.items():
        dataset.to_parquet(str(staging / "data" / f"{split}-00000-of-00001.parquet"))


def _portable_base_model(folder: Path, staging: Path, kind: str, run_info: dict | None) -> HubOrigin | None:
    """The Hub repo the pushed weights build on. An adapter whose ``base_model_name_or_path`` is a local
    folder (an asset's cache, a Hub snapshot) is staged naming that repo instead, and its revision when
    known, so that it loads on any machine; the folder itself keeps its local path, which loads here."""
    if kind != "peft":
        return base_model_origin(run_info)
    config_path = folder / "adapter_config.json"
    config = json.loads(config_path.read_text())
    recorded = config.get("base_model_name_or_path")
    origin = base_model_origin(run_info, recorded)
    if is_hub_id(recorded):
        return origin
    if origin is None:
        warnings.warn(
            f"{config_path}: the adapter's base model ({recorded!r}) is not a Hub repo and hfplug cannot tell which "
            "one it came from, so the pushed adapter will not load on other machines. Set base_model_name_or_path "
            "in adapter_config.json to the Hub id of its base model.",
            stacklevel=4,
        )
        return None
    config["base_model_name_or_path"] = origin.repo_id
    if origin.revision and not config.get("revision"):
        config["revision"] = origin.revision
    (staging / "adapter_config.json").unlink()
    (staging / "adapter_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return origin


@contextmanager
def _staged(folder: Path, kind: str, repo_id: str, include_checkpoints: bool) -> Iterator[tuple[Path, str]]:
    """A temporary folder that looks like the repo should after the push (card included); yields it and the card."""
    with tempfile.TemporaryDirectory(prefix="hfplug-push-") as temporary:
        staging = Path(temporary)
        if kind == "dataset" and _is_saved_dataset(folder):
            _stage_dataset(folder, staging)
        else:
            _link_tree(folder, staging, include_checkpoints)
        run_info = read_run_info(folder)
        origin = _portable_base_model(folder, staging, kind, run_info)
        if run_info is not None:  # uploaded with secrets redacted, like the card
            if origin is not None and "base_model_hub" not in run_info:
                run_info["base_model_hub"] = origin.as_dict()
            (staging / RUN_INFO_FILE).write_text(json.dumps(run_info, indent=2))
        card = render_model_card(folder, run_info, kind=kind, repo_id=repo_id)
        (staging / CARD_FILE).write_text(card)
        yield staging, card


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    message = f"{type(error).__name__}: {text[0] if text else ''}"
    cause = error.__cause__ or error.__context__
    if cause is not None and cause is not error and not isinstance(error, HubError):
        message += f" (caused by {type(cause).__name__}: {str(cause).strip().splitlines()[0] if str(cause) else ''})"
    return message


def push(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    token: str | None = None,
    create_pr: bool = False,
    delete_existing: bool = False,
    include_checkpoints: bool = False,
    update_local_card: bool | None = None,
) -> str:
    """Upload ``folder`` to the Hub repo ``repo_id`` in one commit, with a provenance card; returns the
    commit URL (the pull request URL when ``create_pr``).

    ``folder`` is a transformers model, PEFT adapter, PyTorchModelHubMixin model, ``datasets`` folder or
    ``custom_generate`` folder (see :func:`detect_kind`); a trainer output folder is fine: ``checkpoint-*``
    and ``runs/`` are left out unless ``include_checkpoints``. Datasets go to a dataset repo. Files
    already in the repo stay unless ``delete_existing`` (then the commit removes what the folder lacks),
    except the provenance files a push owns (``README.md``, ``hfplug_run.json``): each push replaces them,
    or removes an earlier ``hfplug_run.json`` when this folder has no run record.
    ``revision`` is a branch, created from ``main`` when missing.

    ``repo_id`` is ``namespace/name``, or a bare ``name`` for the token owner's namespace.

    After a successful push the folder's ``README.md`` is set to the pushed card, except for
    ``custom_generate`` folders (often a plugin's installed package files, which must not change);
    ``update_local_card`` overrides that choice.

    Raises :class:`HubError` before any network call for a missing folder, an unknown folder layout,
    a malformed repo id or no token; and after a failed upload, naming the repo and the failed step.
    """
    folder = Path(folder)
    _check_repo_id(repo_id)
    kind = detect_kind(folder)
    token = _resolve_token(token)
    if create_pr and revision not in (None, "main"):
        raise HubError("create_pr opens a pull request against 'main'; don't combine it with revision")

    from huggingface_hub import HfApi

    api = HfApi(token=token)
    repo_type = "dataset" if kind == "dataset" else "model"
    message = commit_message or f"Upload {kind} with hfplug"
    step = "preparing the upload"
    try:
        if "/" not in repo_id:  # like transformers' push_to_hub: a bare name goes to the token's own namespace
            step = "looking up the token's user name"
            repo_id = f"{api.whoami()['name']}/{repo_id}"
        with _staged(folder, kind, repo_id, include_checkpoints) as (staging, card):
            step = "creating the repo"
            api.create_repo(repo_id, repo_type=repo_type, private=True if private else None, exist_ok=True)
            if revision not in (None, "main") and not create_pr:
                step = f"creating branch {revision!r}"
                api.create_branch(repo_id, branch=revision, repo_type=repo_type, exist_ok=True)
            step = "uploading and committing the files"
            info = api.upload_folder(
                repo_id=repo_id,
                folder_path=staging,
                repo_type=repo_type,
                revision=revision,
                commit_message=message,
                create_pr=create_pr,
                delete_patterns="*" if delete_existing else list(OWNED_FILES),
            )
    except HubError:
        raise
    except Exception as error:  # network, HTTP and storage errors all end the same way for the user
        raise HubError(
            f"push of {folder} to {repo_type} repo {repo_id!r} failed while {step}: {_describe(error)}. "
            "Nothing in the folder was changed and the repo has no partial commit; run the push again."
        ) from error
    url = str(info.pr_url or info.commit_url)
    # Keep the folder's README equal to the pushed card (a save_to_disk folder was pushed as parquet, so
    # its card describes files the folder does not have and stays on the Hub only).
    current = (folder / CARD_FILE).read_text() if (folder / CARD_FILE).is_file() else None
    if update_local_card is None:
        update_local_card = kind != "custom_generate"
    if update_local_card and not _is_saved_dataset(folder) and current != card:
        try:
            write_card_text(folder, card)
        except OSError as error:  # the push itself succeeded; a read-only folder must not hide that
            warnings.warn(f"pushed to {url}, but could not update {folder / CARD_FILE}: {error}", stacklevel=2)
    return url


def commit_sha(url: str) -> str:
    """The commit sha at the end of the commit URL that :func:`push` returns (``.../commit/<sha>``): pass it
    as ``revision=`` to load exactly what was pushed. A pull request's URL names no commit: :class:`HubError`."""
    head, _, sha = url.rstrip("/").rpartition("/commit/")
    if not head or re.fullmatch(r"[0-9a-f]{40}", sha) is None:
        raise HubError(f"{url!r} is not a commit URL (a push with create_pr=True returns the pull request's URL)")
    return sha


def parse_hub_reference(value: str) -> tuple[str, str | None]:
    """``"hub:REPO[@REVISION]"`` -> ``(REPO, REVISION)``; the repo id is validated."""
    if not value.startswith(HUB_PREFIX):
        raise HubError(f"{value!r} is not a hub: reference (expected 'hub:namespace/name[@revision]')")
    repo_id, _, revision = value[len(HUB_PREFIX) :].partition("@")
    _check_repo_id(repo_id)
    return repo_id, revision or None


def pull(repo_id: str, *, revision: str | None = None, repo_type: str = "model", token: str | None = None) -> str:
    """Download a repo snapshot (cached) and return its local folder."""
    from huggingface_hub import snapshot_download

    _check_repo_id(repo_id)
    try:
        return snapshot_download(repo_id, revision=revision, repo_type=repo_type, token=token)
    except Exception as error:
        at = f" at revision {revision!r}" if revision else ""
        raise HubError(f"could not download {repo_type} repo {repo_id!r}{at}: {_describe(error)}") from error


def resolve_model_path(value: str) -> str:
    """A path that ``from_pretrained`` / ``load_dataset`` can open, for any name a config accepts:
    ``asset:NAME`` becomes the asset's prepared folder (a model) or JSON-lines file (a dataset), preparing
    it on first use; ``hub:REPO[@rev]`` a local snapshot folder; anything else (a local path, a plain repo
    id for ``from_pretrained``) is returned unchanged."""
    if value.startswith(ASSET_PREFIX):
        from hfplug.assets import get_asset

        return get_asset(value).path()
    if not value.startswith(HUB_PREFIX):
        return value
    repo_id, revision = parse_hub_reference(value)
    return pull(repo_id, revision=revision)
