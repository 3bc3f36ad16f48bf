"""Run one registered data transform outside training (``hfplug data NAME ...``)."""

from __future__ import annotations

import dataclasses
import json
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

    The output folder must not exist yet, so an earlier result is never overwritten. Next to the data,
    ``hfplug_run.json`` records the transform, its settings, the source dataset and the seed, so that
    ``hfplug push`` gives the dataset a card saying how it was made.
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
    record = transform_run_info(step, dataset_spec, seed=seed, rows_in=len(dataset), rows_out=len(result))
    (output / "hfplug_run.json").write_text(json.dumps(record, indent=2, default=str))
    return result


def transform_run_info(step: Any, dataset_spec: str, *, seed: int, rows_in: int, rows_out: int) -> dict[str, Any]:
    """The provenance record of one transform run (read by the Hub card writer)."""
    from hfplug import __version__

    component = step.component
    settings = dataclasses.asdict(step.config) if dataclasses.is_dataclass(step.config) else {}
    pins = [f"hfplug=={__version__}"]
    if component.distribution and component.distribution != "hfplug" and component.version:
        pins.append(f"{component.distribution}=={component.version}")
    return {
        "hfplug_version": __version__,
        "components": [
            {
                "kind": component.kind,
                "name": component.name,
                "distribution": component.distribution,
                "version": component.version,
                "paper": component.paper,
            }
        ],
        "datasets": [dataset_spec],
        "config": {"data": [{"name": component.name, **settings}], "seed": seed},
        "metrics": {"rows_in": rows_in, "rows_out": rows_out},
        "pip_install": "pip install " + " ".join(pins),
    }
