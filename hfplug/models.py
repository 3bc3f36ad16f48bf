"""Load a causal LM and its tokenizer from anything a config accepts as a model path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hfplug.errors import ConfigError

# Files that make a folder loadable by from_pretrained: a model, or a PEFT adapter on a base model.
_MODEL_FILES = ("config.json", "adapter_config.json")


def load_causal_lm(name_or_path: str, **model_kwargs: Any) -> tuple[Any, Any]:
    """``(model, tokenizer)`` for a folder, a Hub id, ``asset:NAME`` or ``hub:REPO[@rev]``.

    ``name_or_path="tiny"`` gives hfplug's tiny random test model instead (seconds, no files), so
    examples can offer a quick dry run. A path that is neither a model folder nor a reachable Hub
    model is a :class:`~hfplug.errors.ConfigError` before anything loads (see :func:`locate_model`).
    """
    if name_or_path == "tiny":
        from hfplug.testing import make_tiny_model, make_tiny_tokenizer

        tokenizer = make_tiny_tokenizer()
        return make_tiny_model(tokenizer), tokenizer
    from transformers import AutoModelForCausalLM, AutoTokenizer

    local = locate_model(name_or_path, revision=model_kwargs.get("revision"))
    tokenizer = AutoTokenizer.from_pretrained(local)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return AutoModelForCausalLM.from_pretrained(local, **{**_adapter_base_revision(local), **model_kwargs}), tokenizer


def _adapter_base_revision(folder: str) -> dict[str, Any]:
    """``{"revision": ...}`` when ``folder`` is a PEFT adapter that pins its base model's revision.

    ``from_pretrained`` on an adapter folder loads the base model named in ``adapter_config.json`` but, unlike
    peft's ``AutoPeftModel``, at the caller's revision, not the adapter's ``revision``; the folder is local,
    so a revision given here applies to the base model only."""
    import json

    config_path = Path(folder) / "adapter_config.json"
    if not config_path.is_file() or (Path(folder) / "config.json").is_file():
        return {}
    revision = json.loads(config_path.read_text()).get("revision")
    return {"revision": revision} if revision else {}


def locate_model(name_or_path: str, *, field: str = "model", revision: str | None = None) -> str:
    """Where the model ``name_or_path`` is: a local folder (``asset:``/``hub:`` names resolved) or a Hub id
    that is cached or exists on the Hub. Anything else is one :class:`ConfigError` naming ``field``, at once:
    a missing folder, a folder that holds no model, or a Hub id that is unknown, not cached while offline,
    or unreachable (one request, no retries, instead of from_pretrained's minute of backoff)."""
    from hfplug.assets import resolve_model_path

    local = resolve_model_path(name_or_path)
    path = Path(local).expanduser()
    if path.is_dir():
        if not any((path / name).is_file() for name in _MODEL_FILES):
            raise ConfigError(
                f"{field}: the folder {path} holds no model (no config.json or adapter_config.json); "
                "point it at a folder written by save_pretrained or `hfplug train`."
            )
        return str(path)
    if path.exists():
        raise ConfigError(f"{field}: {path} is a file; a model is a folder written by save_pretrained.")
    if not _is_hub_id(local) or _names_a_local_folder(path):
        raise ConfigError(
            f"{field}: {name_or_path!r} is not a folder that exists, nor a Hub model id (namespace/name). "
            "Check the path; offline models are asset:NAME (see `hfplug assets list`)."
        )
    _check_hub_model(local, field, revision)
    return local


def _names_a_local_folder(path: Path) -> bool:
    """``outputs/run-typo`` could be a Hub id; when ``outputs/`` exists here, it is meant as a local path."""
    return len(path.parts) > 1 and path.parent.is_dir()


def _is_hub_id(value: str) -> bool:
    if value.startswith((".", "/", "~")) or "\\" in value or value.count("/") > 1:
        return False
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(value)
    except HFValidationError:
        return False
    return True


def _check_hub_model(repo_id: str, field: str, revision: str | None) -> None:
    from huggingface_hub import constants, try_to_load_from_cache

    for name in _MODEL_FILES:
        if isinstance(try_to_load_from_cache(repo_id, name, revision=revision), str):
            return  # in the local cache: from_pretrained will find it, online or not
    if constants.HF_HUB_OFFLINE:
        raise ConfigError(
            f"{field}: {repo_id!r} is not a local folder, and as a Hub model it is not in the local cache while "
            "HF_HUB_OFFLINE=1. Check the spelling, use a local folder or asset:NAME (`hfplug assets list`), "
            "or download it once with network access."
        )
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        HfApi().model_info(repo_id, revision=revision, timeout=10)
    except GatedRepoError:
        return  # it exists; from_pretrained explains access with the user's token
    except RepositoryNotFoundError:
        raise ConfigError(
            f"{field}: there is no model {repo_id!r} on the Hub ({constants.ENDPOINT}), or it is private and "
            "no token with access is set (HF_TOKEN or `hf auth login`). Check the spelling, or use a local folder."
        ) from None
    except RevisionNotFoundError:
        raise ConfigError(f"{field}: the Hub model {repo_id!r} has no revision {revision!r}.") from None
    except Exception as exc:  # no network, DNS, proxy, TLS: the user needs the cause, not a minute of retries
        raise ConfigError(
            f"{field}: cannot reach the Hub ({constants.ENDPOINT}) to find {repo_id!r}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}. Check the id and the connection, use a local "
            "folder or asset:NAME, or set HF_HUB_OFFLINE=1 to use only cached models."
        ) from exc
