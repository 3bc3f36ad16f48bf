"""``hfplug plugins --check``: import every registered reference and say which ones are broken.

Registration only records strings, so a typo in ``"pkg.trainer:RhoTrainr"``, a missing module or a
syntax error in a plugin's trainer file goes unnoticed until the component is used. This check
imports each reference (and config reference), checks the object has the shape its kind needs,
and reports every failure with the plugin, the reference and the cause. It imports torch and the
plugins' code, so it is slow (seconds), unlike ``hfplug plugins``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hfplug.errors import HfplugError
from hfplug.registry import Component


@dataclass(frozen=True)
class Problem:
    """One thing that does not work: the plugin, the component (``None`` for the plugin as a whole)
    and a message that names both and the cause."""

    plugin: str
    component: str | None
    message: str

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, str | None]:
        return {"plugin": self.plugin, "component": self.component, "message": self.message}


def _shape_problem(component: Component, obj: Any) -> str | None:
    """Why a loaded object cannot be the component its kind promises, or ``None`` if it can."""
    kind = component.kind
    if kind in ("trainer", "model") and not isinstance(obj, type):
        return f"{component.ref} is a {type(obj).__name__}, not a class"
    if kind in ("data", "reward") and not callable(obj):
        return f"{component.ref} is a {type(obj).__name__}, not a callable"
    if kind == "generation" and not (Path(obj) / "custom_generate" / "generate.py").is_file():
        return f"{obj} has no custom_generate/generate.py"
    if kind == "metric" and not (Path(obj) / f"{Path(obj).name}.py").is_file():
        return f"{obj} has no {Path(obj).name}.py (an evaluate module folder holds <folder name>.py)"
    if kind == "asset":
        from hfplug.assets import Asset

        if not isinstance(obj, Asset):
            return f"{component.ref} is a {type(obj).__name__}, not an hfplug.assets.Asset"
    return None


def check_component(component: Component) -> str | None:
    """Import ``component`` and its config; a message naming the component, its plugin, the reference and
    the cause when something is wrong, else ``None``."""
    try:
        obj = component.load()
        config = component.load_config()
        component.load_model_loader()
    except HfplugError as exc:  # ComponentImportError already names the component and its plugin
        return str(exc)
    problem = _shape_problem(component, obj)
    if problem is None and config is not None and not (isinstance(config, type) and dataclasses.is_dataclass(config)):
        problem = f"its config {component.config} is not a dataclass"
    if problem is None and component.kind == "trainer" and config is None:
        problem = "it registered no config dataclass (registry.trainer(..., config=...))"
    if problem is None:
        return None
    return f"{component.kind} {component.name!r} ({component.origin()}) is not usable: {problem}."


def check_plugins(manager: Any, plugins: list[str] | None = None) -> tuple[list[Problem], int]:
    """Every problem of the loaded plugins (only ``plugins`` when given): load and registration errors,
    refused components, and references that do not import. Returns ``(problems, components checked)``."""
    problems: list[Problem] = []
    checked = 0
    for name, info in manager.plugins.items():
        if plugins is not None and name not in plugins:
            continue
        if info.error and not info.refused:
            problems.append(Problem(name, None, info.error))
        problems += [Problem(name, None, message) for message in info.refused]
        for component in info.components:
            checked += 1
            message = check_component(component)
            if message is not None:
                problems.append(Problem(name, f"{component.kind}:{component.name}", message))
    return problems, checked
