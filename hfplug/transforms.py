"""Run one registered data transform outside training (``hfplug data NAME ...``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hfplug.errors import HfplugError


def apply_transform(
    name: str,
    dataset_spec: str,
    params: dict[str, Any],
    *,
    output: str | Path,
    model_path: str | None = None,
    split: str = "train",
    seed: int = 42,
) -> Any:
    """Load ``dataset_spec``, apply the data transform ``name`` with ``params``, save to ``output``.

    The output folder must not exist yet, so an earlier result is never overwritten.
    """
    from hfplug.assets import resolve_model_path
    from hfplug.config import build_data_step
    from hfplug.data import DataContext
    from hfplug.datasets_io import load_split
    from hfplug.manager import get_manager

    output = Path(output)
    if output.exists():
        raise HfplugError(f"--output {output} already exists; choose a new folder (nothing was changed).")
    step = build_data_step(0, {"name": name, **params}, get_manager().registry)
    dataset = load_split(dataset_spec, split=split)
    context = DataContext(model_name_or_path=resolve_model_path(model_path) if model_path else None, seed=seed)
    result = step.component.load()(dataset, step.config, context)
    result.save_to_disk(str(output))
    return result
