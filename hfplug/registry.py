"""Kinds -> names -> lazy references to components.

A reference is a string ``"package.module:Object"`` (``"package:folder"`` for generation
strategies and metrics) resolved only when the component is used, so that discovering plugins never imports
torch. The registry itself knows nothing about entry points; the manager fills it.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.resources
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from hfplug.errors import ComponentImportError, DuplicateComponentError, HfplugError, UnknownComponentError

# Plugin names of hfplug's own default plugins start with this (see hfplug.manager.DEFAULT_PLUGINS).
BUILTIN_PREFIX = "builtin-"
KINDS: tuple[str, ...] = ("trainer", "generation", "data", "reward", "model", "metric", "asset")
# Kinds whose reference names a folder inside a package rather than a Python object.
FOLDER_KINDS: frozenset[str] = frozenset({"generation", "metric"})

# Names that a user may reasonably type and the distribution that provides them, so that an
# unknown name can say what to pip install. Only distributions of this project belong here.
KNOWN_PROVIDERS: dict[tuple[str, str], str] = {
    ("trainer", "talr"): "hfplug-talr",
    ("trainer", "flow"): "hfplug-flow",
    ("data", "flow_weights"): "hfplug-flow",
    ("data", "context_free"): "hfplug-context-free",
    ("trainer", "murphy"): "hfplug-murphy",
    ("trainer", "infopo"): "hfplug-infopo",
    ("data", "gm_matching"): "hfplug-gm-matching",
    ("generation", "hispec"): "hfplug-hispec",
    ("generation", "self_spec"): "hfplug-hispec",
    ("trainer", "early_exit"): "hfplug-hispec",
    ("generation", "joint_sampler"): "hfplug-diffusion-sampler",
    ("trainer", "joint_sampler"): "hfplug-diffusion-sampler",
    ("model", "mmd_ae"): "hfplug-mmd-prior",
    ("trainer", "mmd_ae"): "hfplug-mmd-prior",
    ("metric", "lps"): "hfplug-mmd-prior",
    ("model", "side_bandits"): "hfplug-side-bandits",
    ("reward", "unit_tests"): "hfplug-code-exec",
    ("reward", "unit_tests_all"): "hfplug-code-exec",
}

# This project's distributions: hfplug and one per folder in plugins/ (none is on PyPI yet).
PROJECT_DISTRIBUTIONS: frozenset[str] = frozenset({"hfplug", *KNOWN_PROVIDERS.values()})

# How each kind is called in messages, singular and plural ("Installed data transforms: ...").
KIND_NOUNS: dict[str, tuple[str, str]] = {
    "trainer": ("trainer", "trainers"),
    "generation": ("generation strategy", "generation strategies"),
    "data": ("data transform", "data transforms"),
    "reward": ("reward", "rewards"),
    "model": ("model", "models"),
    "metric": ("metric", "metrics"),
    "asset": ("asset", "assets"),
}


def how_to_install(distribution: str) -> str:
    """Where to get one of this project's distributions (``hfplug`` or ``hfplug-NAME``) while none is on PyPI:
    an editable install from a checkout of the repository, or the wheel ``make dist`` builds into ``dist/``."""
    folder = "." if distribution == "hfplug" else "plugins/" + distribution.removeprefix("hfplug-").replace("-", "_")
    wheel = distribution.replace("-", "_")
    return (
        f"{distribution} is not on PyPI yet: install it from a checkout of the hfplug repository with "
        f"`pip install -e {folder}`, or from the wheels that `make dist` builds there with "
        f"`pip install dist/{wheel}-*.whl`."
    )


@dataclass(frozen=True)
class Component:
    """One registered component: what it is, where it lives, and who provides it."""

    kind: str
    name: str
    ref: str
    summary: str
    paper: str | None = None
    config: str | None = None
    distribution: str | None = None
    version: str | None = None
    plugin: str | None = None
    extras: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def load(self) -> Any:
        """Import and return the object (for ``generation`` and ``metric``, the folder path as ``str``).

        Raises :class:`~hfplug.errors.ComponentImportError` naming this component, its plugin, the
        reference and the cause when the reference cannot be imported.
        """
        resolve = resolve_folder if self.kind in FOLDER_KINDS else resolve_object
        return self._resolve(resolve, self.ref, f"{self.kind} {self.name!r}")

    def load_config(self) -> type | None:
        """Import and return the config dataclass, or ``None`` if the component has none."""
        if not self.config:
            return None
        return self._resolve(resolve_object, self.config, f"the config of {self.kind} {self.name!r}")

    def load_model_loader(self) -> Any:
        """A trainer's own ``model_loader`` (an extra, ``"pkg.mod:function"``), imported, or ``None``.

        Raises :class:`~hfplug.errors.ComponentImportError` naming this component when it cannot be imported.
        """
        ref = self.extras.get("model_loader")
        if not ref:
            return None
        return self._resolve(resolve_object, ref, f"the model_loader of {self.kind} {self.name!r}")

    def _resolve(self, resolve: Any, ref: str, what: str) -> Any:
        """``resolve(ref)``, with an import failure re-raised naming ``what`` and who registered it."""
        try:
            return resolve(ref)
        except ComponentImportError as exc:
            raise ComponentImportError(f"{what} ({self.origin()}) cannot be loaded: {exc}") from exc

    def origin(self) -> str:
        """Who registered it, for messages: ``"plugin rho, hfplug-rho 0.1.0"`` or ``"hfplug (built in)"``."""
        if self.is_builtin():
            return "hfplug (built in)"
        who = f"plugin {self.plugin}" if self.plugin else "a plugin"
        distribution = " ".join(part for part in (self.distribution, self.version) if part)
        return f"{who}, {distribution}" if distribution else who

    def is_builtin(self) -> bool:
        """Whether the ``hfplug`` distribution itself registered this component (built-ins win clashes)."""
        return self.distribution == "hfplug" and (self.plugin or "").startswith(BUILTIN_PREFIX)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready description (for ``hfplug plugins --json`` and model cards)."""
        data = {
            "kind": self.kind,
            "name": self.name,
            "ref": self.ref,
            "summary": self.summary,
            "paper": self.paper,
            "config": self.config,
            "distribution": self.distribution,
            "version": self.version,
        }
        data.update(self.extras)
        return data


def _split_ref(ref: str) -> tuple[str, str]:
    module, sep, attr = ref.partition(":")
    if not sep or not module or not attr:
        raise HfplugError(f"Bad reference {ref!r}: expected 'package.module:Object'.")
    return module, attr


def describe_exception(exc: BaseException) -> str:
    """One line for an exception raised while importing a plugin's code: its type, message and,
    where the code is the plugin's own, the file and line (a ``SyntaxError`` names its own)."""
    if isinstance(exc, SyntaxError):
        return f"{type(exc).__name__}: {exc.msg} ({exc.filename}, line {exc.lineno})"
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    frames = traceback.extract_tb(exc.__traceback__)
    # The last frame outside importlib is where the plugin's module raised (none for a missing module).
    own = [f for f in frames if "importlib" not in f.filename and not f.filename.startswith("<frozen")]
    if own and not isinstance(exc, ModuleNotFoundError):
        text += f" (at {own[-1].filename}, line {own[-1].lineno})"
    return text


def _import(module_name: str, ref: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except Exception as exc:  # a typo, a missing dependency, a syntax error: all end here for the user
        if isinstance(exc, ModuleNotFoundError) and exc.name and module_name.startswith(exc.name):
            cause = f"there is no module {exc.name!r}"
        else:
            cause = f"importing {module_name} raised {describe_exception(exc)}"
        raise ComponentImportError(f"reference {ref!r}: {cause}.") from exc


def resolve_object(ref: str) -> Any:
    """Import ``"package.module:Object"`` (``Object`` may be dotted) and return the object.

    Raises :class:`~hfplug.errors.ComponentImportError` with the cause in one line: the module is
    missing, importing it raised (type, message, file and line), or the attribute is not there
    (with close matches).
    """
    module_name, attr = _split_ref(ref)
    obj: Any = _import(module_name, ref)
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            public = [name for name in dir(obj) if not name.startswith("_")]
            raise ComponentImportError(
                f"reference {ref!r}: {module_name} has no attribute {attr!r}.{_did_you_mean(part, public)}"
            ) from exc
    return obj


def resolve_folder(ref: str) -> str:
    """Return the path of ``"package:folder/inside"`` as a string, without importing the package's code
    beyond its ``__init__``."""
    package, relative = _split_ref(ref)
    _import(package, ref)
    path = importlib.resources.files(package).joinpath(relative)
    if not path.is_dir():
        raise ComponentImportError(f"reference {ref!r}: {path} is not a folder.")
    return str(path)


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that failed to import or register: its error, and the names it tried to register
    (empty when it failed before registering anything), so an unknown name can say why."""

    plugin: str
    distribution: str | None
    error: str
    names: frozenset[tuple[str, str]] = frozenset()

    def may_provide(self, kind: str, name: str) -> bool:
        """Whether this plugin is the likely provider of ``(kind, name)``: it tried to register it, its
        plugin or distribution is called that, or it is the known provider of the name."""
        if (kind, name) in self.names:
            return True
        own = {_normalise(self.plugin), _normalise(self.distribution or "")}
        wanted = _normalise(name)
        return wanted in own or f"hfplug{wanted}" in own or KNOWN_PROVIDERS.get((kind, name)) == self.distribution


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "", name.lower())


class Registry:
    """Every component known to this process, by kind and name, and the plugins that failed to load."""

    def __init__(self) -> None:
        self._components: dict[str, dict[str, Component]] = {kind: {} for kind in KINDS}
        self._failures: dict[str, PluginFailure] = {}

    def add(self, component: Component) -> None:
        """Add a component; the same component twice is a no-op, a clash with another is an error."""
        if component.kind not in KINDS:
            raise HfplugError(f"Unknown component kind {component.kind!r}; kinds are {', '.join(KINDS)}.")
        if not component.name or not isinstance(component.name, str):
            raise HfplugError(f"A {component.kind} needs a non-empty string name, got {component.name!r}.")
        existing = self._components[component.kind].get(component.name)
        if existing is not None:
            if existing == component:
                return
            raise DuplicateComponentError(_clash_message(existing, component))
        self._components[component.kind][component.name] = component

    def remove_plugin(self, plugin: str) -> None:
        """Forget every component that one plugin registered, and its recorded failure."""
        for by_name in self._components.values():
            for name in [n for n, c in by_name.items() if c.plugin == plugin]:
                del by_name[name]
        self._failures.pop(plugin, None)

    def record_failure(self, failure: PluginFailure) -> None:
        """Remember a plugin that failed, so that asking for one of its names says why it is missing."""
        self._failures[failure.plugin] = failure

    def failures(self) -> list[PluginFailure]:
        """The plugins that failed to import or register, in load order."""
        return list(self._failures.values())

    def get(self, kind: str, name: str) -> Component:
        """The component of that kind and name, or an error listing what is installed."""
        if kind not in KINDS:
            raise UnknownComponentError(
                f"Unknown component kind {kind!r}; kinds are {', '.join(KINDS)}." + _did_you_mean(kind, KINDS)
            )
        try:
            return self._components[kind][name]
        except KeyError:
            raise UnknownComponentError(self._unknown_message(kind, name)) from None

    def names(self, kind: str) -> list[str]:
        """Sorted names of one kind."""
        if kind not in KINDS:
            raise UnknownComponentError(f"Unknown component kind {kind!r}; kinds are {', '.join(KINDS)}.")
        return sorted(self._components[kind])

    def __iter__(self) -> Iterator[Component]:
        for kind in KINDS:
            yield from self._components[kind].values()

    def _unknown_message(self, kind: str, name: str) -> str:
        likely = [f for f in self._failures.values() if f.may_provide(kind, name)]
        if likely:
            # The real cause first: the name is missing because its plugin is broken, not uninstalled.
            causes = " ".join(f"{failure.error}." for failure in likely)
            return (
                f"No {KIND_NOUNS[kind][0]} named {name!r} is available: the plugin that provides it failed to load. "
                f"{causes} "
                "Fix the plugin (`hfplug plugins --check` lists every problem), or reinstall it."
            )
        installed = self.names(kind)
        message = f"No {KIND_NOUNS[kind][0]} named {name!r} is installed."
        message += _did_you_mean(name, installed)
        provider = KNOWN_PROVIDERS.get((kind, name))
        if provider:
            message += f" It is provided by {provider}. {how_to_install(provider)}"
        message += f" Installed {KIND_NOUNS[kind][1]}: {', '.join(installed) if installed else '(none)'}."
        if self._failures:
            broken = "; ".join(failure.error for failure in self._failures.values())
            message += f" Some plugins failed to load and might provide it: {broken}."
        return message


def _clash_message(kept: Component, refused: Component) -> str:
    """Both sides of a (kind, name) clash, which one is kept, and how to resolve it."""
    refused_by = refused.distribution or refused.plugin
    message = (
        f"{kept.kind} {kept.name!r} is registered by both {kept.origin()} as {kept.ref} and {refused.origin()} "
        f"as {refused.ref}; the first is kept, and {refused_by}'s {refused.kind} {refused.name!r} is not registered "
        "(its other components are). "
    )
    if kept.is_builtin():
        return message + f"Built-in names always win: rename the {refused.kind} in {refused_by}."
    return message + (
        f"Rename it in one of them, or disable one with HFPLUG_DISABLE_PLUGINS={refused.plugin} "
        f"(or HFPLUG_DISABLE_PLUGINS={kept.plugin})."
    )


def _did_you_mean(name: str, candidates: Iterator[str] | list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


class PluginRegistrar:
    """What a plugin's ``hfplug_register`` hook receives: one method per kind.

    It stamps each component with the plugin's distribution and version, and collects them so
    that a plugin whose hook fails part-way registers nothing at all.
    """

    def __init__(self, plugin: str, distribution: str | None, version: str | None) -> None:
        self.plugin = plugin
        self.distribution = distribution
        self.version = version
        self.components: list[Component] = []

    def add(
        self,
        kind: str,
        name: str,
        ref: str,
        *,
        summary: str,
        paper: str | None = None,
        config: str | None = None,
        **extras: Any,
    ) -> None:
        """Register a component of any kind (the per-kind methods below call this)."""
        if kind not in KINDS:
            raise HfplugError(f"Unknown component kind {kind!r}; kinds are {', '.join(KINDS)}.")
        _split_ref(ref)
        if config is not None:
            _split_ref(config)
        if not summary or "\n" in summary:
            raise HfplugError(f"{kind} {name!r} needs a one-line summary.")
        self.components.append(
            Component(
                kind=kind,
                name=name,
                ref=ref,
                summary=summary,
                paper=paper,
                config=config,
                distribution=self.distribution,
                version=self.version,
                plugin=self.plugin,
                extras=dict(extras),
            )
        )

    def trainer(
        self, name: str, ref: str, *, config: str, summary: str, paper: str | None = None, **extras: Any
    ) -> None:
        """A Trainer subclass and its config dataclass (a subclass of the parent trainer's config).

        ``columns`` (optional extra): a list of alternative column sets the training dataset must
        have, e.g. ``[["messages"], ["prompt", "completion"], ["text"]]``; checked before training.
        ``model_loader`` (optional extra): ``"pkg.mod:function"``, a ``(path, **kwargs) -> (model, tokenizer)``
        that ``hfplug train`` uses instead of its causal-LM loader (masked LMs, autoencoders, ...). With a
        loader, ``model_name_or_path`` may be left out: the loader then gets ``None`` and either builds
        nothing (the trainer builds a fresh model, e.g. ``mmd_ae``) or raises a ``ConfigError``. The
        tokenizer it returns may be ``None`` for models that have none.
        """
        self.add("trainer", name, ref, summary=summary, paper=paper, config=config, **extras)

    def generation(self, name: str, ref: str, *, summary: str, paper: str | None = None, **extras: Any) -> None:
        """A decoding strategy: ``ref`` is ``"package:folder"``, a folder holding ``custom_generate/generate.py``."""
        self.add("generation", name, ref, summary=summary, paper=paper, **extras)

    def data(
        self, name: str, ref: str, *, summary: str, config: str | None = None, paper: str | None = None, **extras: Any
    ) -> None:
        """A dataset transform ``transform(dataset, config, context) -> Dataset``.

        ``config`` is the dataclass its parameters are parsed into; ``context`` is a
        :class:`hfplug.data.DataContext` (model path, tokenizer loader, seed, cache folder).
        """
        self.add("data", name, ref, summary=summary, paper=paper, config=config, **extras)

    def reward(self, name: str, ref: str, *, summary: str, paper: str | None = None, **extras: Any) -> None:
        """A reward function with trl's ``reward_funcs`` signature ``f(prompts, completions, **columns)``."""
        self.add("reward", name, ref, summary=summary, paper=paper, **extras)

    def model(
        self, name: str, ref: str, *, summary: str, config: str | None = None, paper: str | None = None, **extras: Any
    ) -> None:
        """A standalone model class (``PyTorchModelHubMixin`` or ``PreTrainedModel``)."""
        self.add("model", name, ref, summary=summary, paper=paper, config=config, **extras)

    def metric(self, name: str, ref: str, *, summary: str, paper: str | None = None, **extras: Any) -> None:
        """An ``evaluate`` module: ``ref`` is ``"package:folder"``, a folder holding ``<folder name>.py``,
        so that ``evaluate.load(hfplug.load("metric", name))`` works offline."""
        self.add("metric", name, ref, summary=summary, paper=paper, **extras)

    def asset(self, name: str, ref: str, *, summary: str, **extras: Any) -> None:
        """An offline model or dataset: ``ref`` names an :class:`hfplug.assets.Asset` object."""
        self.add("asset", name, ref, summary=summary, **extras)
