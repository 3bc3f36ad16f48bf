"""Model cards that record provenance: which plugin (and version) made this, from what, and how to redo it.

The card is ``README.md``: YAML front matter that the Hub indexes (tags ``hfplug`` and
``hfplug-<name>``, ``base_model``, ``datasets``, ``library_name``, and an ``hfplug`` block with the
machine-readable provenance) followed by Markdown for people. Its inputs are the run record
``hfplug_run.json`` that ``hfplug train`` writes next to the weights, or, when there is none, what
can be read from the folder itself (``config.json``, ``adapter_config.json``, ...).

An existing README is updated, not replaced: its own metadata and text are kept, the tags are
merged, and the provenance section between two HTML comment markers is rewritten, so writing the
card twice gives the same file.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import yaml

from hfplug.hub_origin import HubOrigin, base_model_origin, hub_origin, is_hub_id

RUN_INFO_FILE = "hfplug_run.json"
CARD_FILE = "README.md"
SECTION_START = "<!-- hfplug:provenance:start -->"
SECTION_END = "<!-- hfplug:provenance:end -->"
# Config keys whose values must never reach a public card (transformers redacts *_token itself; a
# plugin config or a hand-written run record might not).
_SECRET_KEY = re.compile(r"^(.*_)?(secret|password|api_key|apikey)$|^((hub|hf|access|auth|api)_)?token$", re.I)
_LIBRARY_OF_KIND = {"transformers": "transformers", "peft": "peft", "mixin": "pytorch", "custom_generate": None}


def _is_secret(key: Any, value: Any) -> bool:
    # "<HUB_TOKEN>" is how transformers already redacts; "pad_token"/"eos_token" are not secrets.
    return (
        isinstance(key, str)
        and _SECRET_KEY.match(key) is not None
        and isinstance(value, str)
        and bool(value)
        and not (value.startswith("<") and value.endswith(">"))
    )


def redact_secrets(value: Any) -> Any:
    """``value`` with every non-empty string under a token/secret/password key replaced by ``<redacted>``."""
    if isinstance(value, dict):
        return {key: "<redacted>" if _is_secret(key, item) else redact_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_secrets(item) for item in value]
    return value


def read_run_info(folder: str | Path) -> dict[str, Any] | None:
    """The run record ``hfplug_run.json`` in ``folder`` with secrets redacted, or ``None`` when there is none."""
    path = Path(folder) / RUN_INFO_FILE
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        from hfplug.errors import HfplugError

        raise HfplugError(f"{path} is not valid JSON ({error}); fix or delete it before pushing") from error
    return redact_secrets(info) if isinstance(info, dict) else None


def generation_run_info(folder: str | Path) -> dict[str, Any] | None:
    """Provenance of a ``custom_generate`` folder that an installed plugin registered as a generation
    strategy (``hfplug.generation_path(name)``), or ``None`` when no plugin provides this folder."""
    import hfplug

    target = Path(folder).resolve()
    for name in hfplug.names("generation"):
        component = hfplug.get("generation", name)
        try:
            path = Path(component.load()).resolve()
        except Exception:  # a broken plugin's strategy cannot be this folder; keep looking
            continue
        if path == target:
            entry = {
                "kind": "generation",
                "name": name,
                "distribution": component.distribution,
                "version": component.version,
                "paper": component.paper,
            }
            return {"hfplug_version": hfplug.__version__, "components": [entry], "summary": component.summary}
    return None


def split_card(text: str) -> tuple[dict[str, Any], str]:
    """``(metadata, body)`` of a README; a README without front matter has empty metadata."""
    if not text.startswith("---"):
        return {}, text
    match = re.match(r"^---[ \t]*\r?\n(.*?)^---[ \t]*\r?\n?", text, flags=re.DOTALL | re.MULTILINE)
    if match is None:
        return {}, text
    metadata = yaml.safe_load(match.group(1)) or {}
    if not isinstance(metadata, dict):
        raise ValueError("README front matter is not a YAML mapping")
    return metadata, text[match.end() :]


def _drop_local_base_models(metadata: dict[str, Any]) -> None:
    """PEFT's and trl's own cards (written when the model is saved) put the local folder the model was
    loaded from in ``base_model``; the Hub wants repo ids there, and a local path leaks the machine's
    layout. Keep only Hub ids (the local path stays in the ``hfplug`` block as ``base_model_resolved``)."""
    value = metadata.get("base_model")
    if value is None:
        return
    kept = [item for item in (value if isinstance(value, list) else [value]) if is_hub_id(item)]
    if not kept:
        del metadata["base_model"]
    else:
        metadata["base_model"] = kept if isinstance(value, list) else kept[0]


def _fix_library_card_text(body: str, hub_base: Any, written_base: Any, repo_id: str | None) -> str:
    """trl's card says "a fine-tuned version of [None](https://huggingface.co/None)" when the base model
    was a local folder, and its quick start loads ``model="None"`` when the trainer did not push."""
    if isinstance(hub_base, str):
        named = f"[{hub_base}](https://huggingface.co/{hub_base})"
    else:
        named = f"`{written_base}`" if written_base else "a local model"
    body = body.replace("[None](https://huggingface.co/None)", named)
    if repo_id:
        body = body.replace('model="None"', f'model="{repo_id}"')
    return body


def _detected_facts(folder: Path, kind: str) -> dict[str, Any]:
    """What the folder says about itself when there is no run record."""
    facts: dict[str, Any] = {}
    config_path = folder / ("adapter_config.json" if kind == "peft" else "config.json")
    if config_path.is_file():
        config = json.loads(config_path.read_text())
        base = config.get("base_model_name_or_path") if kind == "peft" else config.get("_name_or_path")
        if base:
            facts["base_model"] = base
        if kind == "peft" and config.get("peft_type"):
            facts["method"] = str(config["peft_type"])
        if kind == "transformers" and config.get("architectures"):
            facts["architecture"] = config["architectures"][0]
    return facts


def _plugin_tags(run_info: dict[str, Any]) -> list[str]:
    """``hfplug``, ``hfplug-<name>`` of the trainer or generation strategy, and every plugin distribution."""
    trainer = run_info.get("trainer") or {}
    components = run_info.get("components") or []
    main = [trainer, *(c for c in components if c.get("kind") == "generation")]
    names = [entry.get("name") for entry in main]
    names += [entry.get("distribution") for entry in [trainer, *components] if entry.get("distribution") != "hfplug"]
    tags = ["hfplug"]
    for name in names:
        if name:
            tag = (name if name.startswith("hfplug-") else f"hfplug-{name}").replace("_", "-")
            if tag not in tags:
                tags.append(tag)
    return tags


def _provenance_metadata(
    run_info: dict[str, Any], kind: str, facts: dict[str, Any], origin: HubOrigin | None
) -> dict[str, Any]:
    block: dict[str, Any] = {"version": run_info.get("hfplug_version") or _host_version(), "kind": kind}
    for key in ("trainer", "components", "base_model", "datasets", "metrics", "distributed", "pip_install"):
        if run_info.get(key):
            block[key] = run_info[key]
    if "base_model" not in block and facts.get("base_model"):
        block["base_model"] = facts["base_model"]
    if origin is not None:
        block["base_model_hub"] = origin.as_dict()
    return block


def _base_model_tags(tags: list[str], origin: HubOrigin | None) -> list[str]:
    """PEFT tags an adapter ``base_model:adapter:<what it was loaded from>``; a local folder there becomes
    the Hub repo it came from, or the tag goes when that is unknown."""
    fixed: list[str] = []
    for tag in tags:
        parts = tag.split(":", 2) if isinstance(tag, str) else []
        if len(parts) == 3 and parts[0] == "base_model" and not is_hub_id(parts[2]):
            if origin is None:
                continue
            tag = f"base_model:{parts[1]}:{origin.repo_id}"
        if tag not in fixed:
            fixed.append(tag)
    return fixed


def launch_description(record: dict[str, Any] | None) -> str | None:
    """How many processes trained the model and how they shared it (the run record's ``distributed`` entry, from
    :func:`hfplug.distributed.launch_record`): "1 process", "2 processes, FSDP2 (nccl)", "4 processes, MULTI_GPU
    (nccl)"; ``None`` when the record says nothing."""
    if not record or not record.get("world_size"):
        return None
    processes = int(record["world_size"])
    text = f"{processes} process" + ("es" if processes != 1 else "")
    kind = record.get("distributed_type")
    if kind in (None, "NO"):
        return text
    if kind == "FSDP" and record.get("fsdp_version"):
        kind = f"FSDP{record['fsdp_version']}"
    backend = record.get("backend")
    return f"{text}, {kind}" + (f" ({backend})" if backend else "")


def _host_version() -> str:
    from hfplug import __version__

    return __version__


def _pip_install(run_info: dict[str, Any]) -> str:
    if run_info.get("pip_install"):
        return str(run_info["pip_install"])
    pins = [f"hfplug=={run_info.get('hfplug_version') or _host_version()}"]
    for entry in [run_info.get("trainer") or {}, *(run_info.get("components") or [])]:
        distribution, version = entry.get("distribution"), entry.get("version")
        if distribution and distribution != "hfplug" and version and f"{distribution}=={version}" not in pins:
            pins.append(f"{distribution}=={version}")
    return "pip install " + " ".join(pins)


def _made_by(lead: str, what: str, entry: dict[str, Any], summary: str | None) -> list[str]:
    made_by = f"`{entry.get('distribution') or 'hfplug'}` {entry.get('version') or ''}".rstrip()
    lines = [f"{lead} **{entry['name']}** {what} from {made_by}."]
    if summary:
        lines.append(summary)
    if entry.get("paper"):
        lines.append(f"Method paper: {entry['paper']}.")
    return [*lines, ""]


def _markdown_section(
    run_info: dict[str, Any], kind: str, facts: dict[str, Any], origin: HubOrigin | None, repo_hint: str
) -> str:
    trainer = run_info.get("trainer") or {}
    strategies = [c for c in run_info.get("components") or [] if c.get("kind") == "generation"]
    lines = [SECTION_START, "## Provenance (hfplug)", ""]
    if trainer.get("name"):
        lines += _made_by("Trained with the", "trainer", trainer, trainer.get("summary"))
    elif kind == "custom_generate" and strategies:
        lines += _made_by("The", "decoding strategy", strategies[0], run_info.get("summary"))
    elif facts.get("method"):
        lines += [f"A {facts['method']} adapter.", ""]
    rows = [
        ("what", kind),
        ("base model", str(origin) if origin else run_info.get("base_model") or facts.get("base_model")),
        ("base model (as configured)", run_info.get("base_model") if origin else None),
        ("base model (resolved)", run_info.get("base_model_resolved")),
        ("architecture", facts.get("architecture")),
        ("datasets", ", ".join(run_info.get("datasets") or []) or None),
        ("trained on", launch_description(run_info.get("distributed"))),
        ("hfplug", run_info.get("hfplug_version") or _host_version()),
    ]
    for entry in run_info.get("components") or []:
        described = f"{entry.get('distribution') or 'hfplug'} {entry.get('version') or ''}".strip()
        rows.append((f"{entry.get('kind', 'component')} `{entry.get('name')}`", described))
    lines += ["| | |", "|---|---|"] + [f"| {key} | {value} |" for key, value in rows if value]
    configured = str(run_info.get("base_model") or "")
    if origin is not None and configured.startswith("asset:"):
        lines += [
            "",
            f"Trained on `{configured}`, hfplug's offline copy of {origin.repo_id}: a copy converted from a quantised"
            " file (`hfplug assets list` says) has slightly different weights from the Hub's.",
        ]
    metrics = run_info.get("metrics") or {}
    if metrics:
        lines += ["", "### Metrics", "", "| metric | value |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in sorted(metrics.items())]
    lines += ["", "### Reproduce", "", "```bash", _pip_install(run_info), "```"]
    if run_info.get("config"):
        config_yaml = yaml.safe_dump(run_info["config"], sort_keys=True, default_flow_style=False)
        lines += ["", "Training config (also in `hfplug_run.json`):", "", "```yaml", config_yaml.rstrip(), "```"]
    lines += ["", _usage(kind, repo_hint), SECTION_END]
    return "\n".join(lines) + "\n"


_USAGE = {
    "transformers": (
        "from transformers import AutoModelForCausalLM\nmodel = AutoModelForCausalLM.from_pretrained({repo!r})"
    ),
    "peft": "from peft import AutoPeftModelForCausalLM\nmodel = AutoPeftModelForCausalLM.from_pretrained({repo!r})",
    "dataset": "from datasets import load_dataset\ndataset = load_dataset({repo!r})",
    "mixin": "model = TheModelClass.from_pretrained({repo!r})  # the PyTorchModelHubMixin class that saved it",
    "custom_generate": (
        "model.generate(**inputs, custom_generate={repo!r}, trust_remote_code=True,\n"
        '               revision="<the commit sha you reviewed>")'
    ),
}


def _usage(kind: str, repo: str) -> str:
    intro = ""
    if kind == "custom_generate":
        intro = (
            "A decoding strategy in the transformers `custom_generate` format: it needs only transformers, not"
            " hfplug. It runs code from this repo, so read it and pin the revision you read.\n\n"
        )
    return f"### Use\n\n{intro}```python\n{_USAGE[kind].format(repo=repo)}\n```"


def render_model_card(
    folder: str | Path,
    run_info: dict[str, Any] | None = None,
    *,
    kind: str | None = None,
    repo_id: str | None = None,
) -> str:
    """The README text for ``folder``: its existing README with hfplug's metadata merged in and the
    provenance section rewritten (see the module docstring)."""
    from hfplug.hub import detect_kind

    folder = Path(folder)
    kind = kind or detect_kind(folder)
    if run_info is None:
        run_info = read_run_info(folder) or (generation_run_info(folder) if kind == "custom_generate" else None) or {}
    run_info = redact_secrets(run_info)
    existing = (folder / CARD_FILE).read_text() if (folder / CARD_FILE).is_file() else ""
    try:
        metadata, body = split_card(existing)
    except (yaml.YAMLError, ValueError) as error:
        from hfplug.errors import HfplugError

        raise HfplugError(f"{folder / CARD_FILE} has front matter that is not a valid YAML mapping: {error}") from error
    facts = _detected_facts(folder, kind)

    tags = list(metadata.get("tags") or [])
    for tag in (["custom_generate"] if kind == "custom_generate" else []) + _plugin_tags(run_info):
        if tag not in tags:
            tags.append(tag)
    metadata["tags"] = tags
    library = _LIBRARY_OF_KIND.get(kind)
    if library and "library_name" not in metadata:
        metadata["library_name"] = library
    origin = base_model_origin(run_info, facts.get("base_model"))
    metadata["tags"] = _base_model_tags(metadata["tags"], origin)
    _drop_local_base_models(metadata)
    if origin is not None and "base_model" not in metadata:
        metadata["base_model"] = origin.repo_id
    body = _fix_library_card_text(body, metadata.get("base_model"), run_info.get("base_model"), repo_id)
    datasets = [o.repo_id for o in map(hub_origin, run_info.get("datasets") or []) if o is not None]
    if datasets and kind != "dataset":
        metadata["datasets"] = sorted(set(metadata.get("datasets") or []) | set(datasets))
    metadata["hfplug"] = _provenance_metadata(run_info, kind, facts, origin)

    section = _markdown_section(run_info, kind, facts, origin, repo_id or "REPO_ID")
    if SECTION_START in body and SECTION_END in body:
        before, rest = body.split(SECTION_START, 1)
        body = before + section + rest.split(SECTION_END, 1)[1].lstrip("\n")
    else:
        title = f"# {repo_id.split('/')[-1] if repo_id else folder.name}\n\n" if not body.strip() else ""
        body = title + body.rstrip("\n") + ("\n\n" if body.strip() else "") + section
    front = yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return f"---\n{front}---\n\n{body.lstrip()}"


def write_model_card(folder: str | Path, run_info: dict[str, Any] | None = None, *, repo_id: str | None = None) -> Path:
    """Write (or update) ``folder/README.md`` with hfplug's provenance card and return its path.

    ``run_info`` defaults to the folder's ``hfplug_run.json``; without either, the card records what
    the folder itself shows. The file is replaced atomically, so a crash never leaves half a card.
    """
    return write_card_text(folder, render_model_card(folder, run_info, repo_id=repo_id))


def write_card_text(folder: str | Path, text: str) -> Path:
    """Replace ``folder/README.md`` with ``text`` in one rename, so a crash never leaves half a card."""
    target = Path(folder) / CARD_FILE
    temporary = target.with_name(f".{CARD_FILE}.{uuid.uuid4().hex}.tmp")
    temporary.write_text(text)
    os.replace(temporary, target)
    return target
