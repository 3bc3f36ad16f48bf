"""The config a plugin trainer runs with: checked to be the plugin's own class, or a default one."""

from __future__ import annotations

from typing import Any

from hfplug.errors import ConfigError


def trainer_config(trainer: Any, model: Any, args: Any, config_class: type, method_name: str) -> Any:
    """``args`` when it is a ``config_class``; a default ``config_class`` named ``<model>-<method_name>`` when
    it is None (as trl's trainers do). Anything else, e.g. the parent trainer's plain config, is a
    :class:`ConfigError`: the method's own fields would be missing and silently take no effect."""
    if args is None:
        name = model if isinstance(model, str) else model.config._name_or_path
        return config_class(f"{str(name).rstrip('/').split('/')[-1] or 'model'}-{method_name}")
    if not isinstance(args, config_class):
        raise ConfigError(f"{type(trainer).__name__} needs a {config_class.__name__}, got {type(args).__name__}.")
    return args
