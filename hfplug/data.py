"""Dataset transforms: the context they receive and the checks the host runs before training."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hfplug.errors import DatasetError


def cache_root() -> Path:
    """hfplug's cache folder: ``$HFPLUG_CACHE`` or ``~/.cache/hfplug``."""
    return Path(os.environ.get("HFPLUG_CACHE") or Path.home() / ".cache" / "hfplug")


@dataclass
class DataContext:
    """What a data transform may use besides the dataset and its own config.

    ``model_name_or_path`` is already resolved to a local folder (``asset:`` names prepared).
    The model and tokenizer are loaded on first use and shared by every transform of a run.
    """

    model_name_or_path: str | None = None
    seed: int = 42
    cache_dir: Path = field(default_factory=lambda: cache_root() / "data")
    output_dir: str | None = None
    model_init_kwargs: dict[str, Any] = field(default_factory=dict)
    tokenizer: Any = None
    model: Any = None

    def load_tokenizer(self) -> Any:
        """The run's tokenizer (``AutoTokenizer`` on ``model_name_or_path`` unless one was given)."""
        if self.tokenizer is None:
            self._require_model_path()
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(self.model_name_or_path)
        return self.tokenizer

    def load_model(self) -> Any:
        """The frozen base model in eval mode (loaded once, shared by every transform)."""
        if self.model is None:
            self._require_model_path()
            from transformers import AutoModelForCausalLM

            self.model = AutoModelForCausalLM.from_pretrained(self.model_name_or_path, **self.model_init_kwargs)
        self.model.eval()
        self.model.requires_grad_(False)
        return self.model

    def _require_model_path(self) -> None:
        if not self.model_name_or_path:
            raise DatasetError("This data transform needs a base model: set model_name_or_path in the config.")


def check_columns(dataset: Any, alternatives: Sequence[Sequence[str]], *, what: str) -> list[str]:
    """Check that ``dataset`` has one of the column sets in ``alternatives``; return the set found.

    Raises :class:`DatasetError` naming the missing columns and the columns the dataset has.
    """
    columns = list(getattr(dataset, "column_names", None) or [])
    if len(dataset) == 0:
        raise DatasetError(f"The dataset for {what} is empty.")
    for option in alternatives:
        if all(column in columns for column in option):
            return list(option)
    wanted = " or ".join("(" + ", ".join(option) + ")" for option in alternatives)
    raise DatasetError(f"{what} needs the column(s) {wanted}; the dataset has: {', '.join(columns) or '(none)'}.")
