"""The plugin manager: entry points in, a filled registry and a record of failures out.

One manager per process (:func:`get_manager`). Loading is lazy and happens once; a plugin that
fails to import or register is recorded with its error and skipped, unless ``HFPLUG_STRICT=1``.
``HFPLUG_LOAD_PLUGINS=a,b`` loads only the named plugins, ``HFPLUG_DISABLE_PLUGINS=a,b`` blocks
some; names are entry-point names or distribution names.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from hfplug import hookspecs
from hfplug.errors import HfplugError, PluginLoadError
from hfplug.registry import BUILTIN_PREFIX, Component, PluginFailure, PluginRegistrar, Registry, describe_exception

ENTRY_POINT_GROUP = "hfplug"
# (plugin name, module): built-ins are ordinary plugins of the `hfplug` distribution.
DEFAULT_PLUGINS: tuple[tuple[str, str], ...] = (
    (f"{BUILTIN_PREFIX}trl-trainers", "hfplug.default_plugins.trl_trainers"),
    (f"{BUILTIN_PREFIX}offline-assets", "hfplug.default_plugins.offline_assets"),
    (f"{BUILTIN_PREFIX}rewards", "hfplug.default_plugins.builtin_rewards"),
)


@dataclass
class PluginInfo:
    """What ``hfplug plugins`` shows about one plugin."""

    name: str
    distribution: str | None
    version: str | None
    builtin: bool = False
    error: str | None = None
    components: list[Component] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """Components refused because their (kind, name) was taken; the plugin's other components work."""

    def as_dict(self) -> dict[str, Any]:
        by_kind: dict[str, list[str]] = {}
        for component in self.components:
            by_kind.setdefault(component.kind, []).append(component.name)
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "builtin": self.builtin,
            "components": {kind: sorted(names) for kind, names in by_kind.items()},
            "error": self.error,
            "refused": list(self.refused),
        }


def _env_list(name: str) -> set[str] | None:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def strict_mode() -> bool:
    """Whether ``HFPLUG_STRICT`` asks for plugin errors to be fatal."""
    return os.environ.get("HFPLUG_STRICT", "").strip().lower() in {"1", "true", "yes", "on"}


def _why_raised(raise_errors: bool) -> str:
    return "" if raise_errors else " (HFPLUG_STRICT is set)"


class HfplugManager:
    """A pluggy manager that knows which distribution each plugin came from.

    ``entry_points=False`` builds a manager that loads nothing from the environment (tests use it
    through :func:`hfplug.testing.isolated_plugins`); ``builtins=False`` leaves out the default plugins.
    ``raise_on_register=True`` makes :meth:`register` raise :class:`~hfplug.errors.PluginLoadError`
    when the plugin it is given fails (what a plugin's own tests want), whatever ``HFPLUG_STRICT`` says.
    """

    def __init__(self, *, entry_points: bool = True, builtins: bool = True, raise_on_register: bool = False) -> None:
        self.pm = pluggy.PluginManager("hfplug")
        self.pm.add_hookspecs(hookspecs)
        self.registry = Registry()
        self.plugins: dict[str, PluginInfo] = {}
        self.raise_on_register = raise_on_register
        self._use_entry_points = entry_points
        self._use_builtins = builtins
        self._loaded = False

    # -- loading -------------------------------------------------------------------------
    def load(self) -> HfplugManager:
        """Import and register every selected plugin, once."""
        if self._loaded:
            return self
        self._loaded = True
        if self._use_builtins:
            for plugin_name, module_name in DEFAULT_PLUGINS:
                self._load_one(plugin_name, "hfplug", _import_module(module_name), builtin=True)
        if self._use_entry_points:
            for entry_point in self._selected_entry_points():
                dist = entry_point.dist
                distribution = dist.metadata["Name"] if dist is not None else None
                version = dist.version if dist is not None else None
                self._load_one(entry_point.name, distribution, entry_point.load, version=version)
        return self

    def _selected_entry_points(self) -> Iterable[metadata.EntryPoint]:
        only = _env_list("HFPLUG_LOAD_PLUGINS")
        blocked = _env_list("HFPLUG_DISABLE_PLUGINS") or set()
        seen: set[str] = set()
        for entry_point in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            names = {entry_point.name}
            if entry_point.dist is not None:
                names.add(entry_point.dist.metadata["Name"])
            if entry_point.name in seen:  # the same distribution seen twice on sys.path
                continue
            if only is not None and not names & only:
                continue
            if names & blocked:
                continue
            seen.add(entry_point.name)
            yield entry_point

    def _load_one(
        self,
        name: str,
        distribution: str | None,
        loader: Any,
        *,
        version: str | None = None,
        builtin: bool = False,
    ) -> None:
        if builtin:
            from hfplug import __version__

            version = __version__
        elif version is None and distribution is not None:
            version = _distribution_version(distribution)
        info = PluginInfo(name=name, distribution=distribution, version=version, builtin=builtin)
        self.plugins[name] = info
        try:
            plugin = loader()
        except Exception as exc:
            self._fail(info, exc, "failed to import")
            return
        self._register(plugin, name, info, raise_errors=False)

    def register(
        self, plugin: Any, *, name: str, info: PluginInfo | None = None, raise_errors: bool | None = None
    ) -> PluginInfo:
        """Register one plugin object (a module or any object with hookimpls) and its components.

        A plugin whose hook raises registers nothing; a component whose (kind, name) is already taken is
        refused alone (built-ins and earlier plugins win) and the plugin's other components register.
        Either is recorded on the returned :class:`PluginInfo`; it raises :class:`PluginLoadError`
        instead when ``raise_errors`` (default: the manager's ``raise_on_register``) or ``HFPLUG_STRICT``.
        """
        info = info or PluginInfo(name=name, distribution=None, version=None)
        self.plugins[name] = info
        return self._register(
            plugin, name, info, raise_errors=self.raise_on_register if raise_errors is None else raise_errors
        )

    def _register(self, plugin: Any, name: str, info: PluginInfo, *, raise_errors: bool) -> PluginInfo:
        if self.pm.is_registered(plugin) or self.pm.has_plugin(name):
            return info  # idempotent: loading the same plugin twice changes nothing
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            self._fail(info, exc, "is not a valid plugin", raise_errors=raise_errors)
            return info
        registrar = PluginRegistrar(name, info.distribution, info.version)
        hook = self.pm.subset_hook_caller("hfplug_register", remove_plugins=self._others(name))
        try:
            hook(registry=registrar)
        except Exception as exc:
            # What ran before the crash cannot be trusted to be complete: register none of it.
            self.pm.unregister(name=name)
            tried = frozenset((c.kind, c.name) for c in registrar.components)
            self._fail(info, exc, "failed to register", raise_errors=raise_errors, names=tried)
            return info
        for component in registrar.components:
            try:
                self.registry.add(component)
            except HfplugError as exc:  # a clash or a bad name costs that component only
                info.refused.append(str(exc))
            else:
                info.components.append(component)
        if info.refused:
            info.error = f"{info.name} ({info.distribution or 'no distribution'}): " + " ".join(info.refused)
            if raise_errors or strict_mode():
                self.unregister(name)
                raise PluginLoadError(info.error + _why_raised(raise_errors))
        return info

    def unregister(self, name: str) -> None:
        """Remove a plugin and everything it registered (used by test fixtures)."""
        self.registry.remove_plugin(name)
        if self.pm.has_plugin(name):
            self.pm.unregister(name=name)
        self.plugins.pop(name, None)

    def _others(self, name: str) -> list[Any]:
        return [p for n, p in self.pm.list_name_plugin() if n != name]

    def _fail(
        self,
        info: PluginInfo,
        exc: BaseException,
        what: str,
        *,
        raise_errors: bool = False,
        names: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        info.error = f"{info.name} ({info.distribution or 'no distribution'}) {what}: {describe_exception(exc)}"
        self.registry.record_failure(PluginFailure(info.name, info.distribution, info.error, names))
        if raise_errors or strict_mode():
            raise PluginLoadError(info.error + _why_raised(raise_errors)) from exc

    # -- commands --------------------------------------------------------------------------
    def add_commands(self, cli: Any) -> None:
        """Let every loaded plugin add its subcommands; a failing plugin is recorded, not fatal."""
        self.load()
        for name in [name for name, _ in self.pm.list_name_plugin()]:
            hook = self.pm.subset_hook_caller("hfplug_commands", remove_plugins=self._others(name))
            before = dict(cli.commands)
            try:
                hook(cli=cli)
                clashes = [c for c in before if cli.commands.get(c) is not before[c]]
                if clashes:
                    raise PluginLoadError(f"command(s) {', '.join(clashes)} already exist")
            except Exception as exc:
                cli.commands.clear()
                cli.commands.update(before)
                info = self.plugins.get(name) or PluginInfo(name=name, distribution=None, version=None)
                self._fail(info, exc, "failed to add commands")

    # -- queries ---------------------------------------------------------------------------
    def errors(self) -> dict[str, str]:
        """Plugin name -> recorded load error."""
        return {name: info.error for name, info in self.plugins.items() if info.error}

    def check(self, *plugins: str) -> list[str]:
        """Import every registered reference and config of the loaded plugins (or only of ``plugins``);
        one line per problem (plugin, component, reference, cause), an empty list when all is well.
        What ``hfplug plugins --check`` runs; in a plugin's tests: ``assert isolated_plugins.check("x") == []``."""
        from hfplug.checks import check_plugins

        problems, _ = check_plugins(self, list(plugins) or None)
        return [str(problem) for problem in problems]


def _import_module(module_name: str) -> Any:
    import importlib

    return lambda: importlib.import_module(module_name)


def _distribution_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


_MANAGER: HfplugManager | None = None


def get_manager() -> HfplugManager:
    """The process-wide manager, loaded on first use."""
    global _MANAGER
    if _MANAGER is None:
        _MANAGER = HfplugManager()
    return _MANAGER.load()


def set_manager(manager: HfplugManager | None) -> HfplugManager | None:
    """Replace the process-wide manager (for tests); returns the previous one."""
    global _MANAGER
    previous, _MANAGER = _MANAGER, manager
    return previous
