"""The contract between hfplug and its plugins.

A plugin is a module (or any object) with functions marked ``@hfplug.hookimpl`` whose names
match the hooks below. Plugins are found through the ``hfplug`` entry-point group, so a pip
install is all a user does. Both hooks run once per process, when the plugin manager is first
used: under ``accelerate launch`` or ``torchrun`` that is once in every worker process, so a
hook must be idempotent and free of side effects beyond the calls it makes on its argument.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from hfplug.registry import PluginRegistrar

hookspec = pluggy.HookspecMarker("hfplug")


@hookspec
def hfplug_register(registry: PluginRegistrar) -> None:
    """Register this plugin's components by name.

    When it runs: once per process, the first time anything asks the registry for a name
    (``hfplug.get``, ``hfplug plugins``, ``hfplug train`` ...), in plugin load order.

    What it may do: call ``registry.trainer(...)``, ``registry.generation(...)``,
    ``registry.data(...)``, ``registry.reward(...)``, ``registry.model(...)``,
    ``registry.metric(...)`` and ``registry.asset(...)`` with a name, a lazy reference
    ``"package.module:Object"`` (for ``generation``: ``"package:folder"``, a folder inside the
    package that holds ``custom_generate/generate.py``; for ``metric``: ``"package:folder"``, an
    ``evaluate`` module folder), a one-line ``summary`` and, where there is one, the ``paper`` id
    (``"arXiv:2509.20758"``).

    What it must not do: import torch, transformers or its own heavy modules; the references
    are resolved only when a component is used, which keeps ``hfplug plugins`` fast. If it
    raises, none of this plugin's components are registered, the error is recorded against the
    plugin and shown by ``hfplug plugins``, and the other plugins carry on (``HFPLUG_STRICT=1``
    makes the error fatal); a user who asks for one of its names is told why it is missing.
    Registering a (kind, name) that is already held (built-ins always hold theirs; between
    plugins, the first loaded) refuses that one component, with a message naming both sides; the
    plugin's other components register. ``hfplug plugins --check`` imports every reference.

    Returns nothing.
    """


@hookspec
def hfplug_commands(cli: click.Group) -> None:
    """Add subcommands to the ``hfplug`` command line.

    When it runs: once, when the ``hfplug`` command line is built, after every plugin has
    registered its components.

    What it may do: add click commands or groups to ``cli`` (``@cli.command()`` or
    ``cli.add_command(...)``). Import heavy libraries inside the command body, not at module
    level, so ``hfplug --help`` stays fast. A command whose name is already taken is an error
    recorded against the plugin, like a failed registration.

    Returns nothing.
    """
