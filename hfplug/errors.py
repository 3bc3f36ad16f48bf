"""Errors that hfplug raises. Each names the thing that was wrong and what would fix it."""

from __future__ import annotations


class HfplugError(Exception):
    """Base class for every error hfplug raises on purpose."""


class UnknownComponentError(HfplugError, LookupError):
    """A name that no installed plugin registered for that kind."""


class DuplicateComponentError(HfplugError):
    """Two distributions registered the same (kind, name)."""


class PluginLoadError(HfplugError):
    """A plugin failed to import or to register (raised only in strict mode)."""


class ComponentImportError(HfplugError, ImportError):
    """A registered reference (``"package.module:Object"``) that cannot be imported: a typo in the
    reference, a missing module or dependency, or an error raised while importing the module.
    The message names the component, the plugin that registered it, the reference and the cause."""


class ConfigError(HfplugError, ValueError):
    """A config file or command-line override that cannot be used; the message names the field."""


class RequirementError(HfplugError):
    """A config's ``required_plugins`` are not satisfied by what is installed."""


class DatasetError(HfplugError, ValueError):
    """A dataset that cannot be used as asked: missing columns, empty, wrong types."""


class AssetError(HfplugError):
    """An offline asset that is unknown, not installed or fails its integrity check."""


class HubError(HfplugError):
    """A push or pull that could not be done; the message names the folder, the repo and the step."""
