"""Config files and command-line overrides -> the trainer's own config dataclass.

A config file is YAML: a few host keys (``trainer``, ``model_name_or_path``, ``dataset``,
``data``, ``reward_funcs``, ``reward_options``, ``required_plugins``) plus any field of the trainer's config
dataclass (every ``TrainingArguments`` field included) and of trl's ``ModelConfig``
(``dtype``, ``use_peft``, ``lora_r`` ...). Command-line flags ``--field value`` override the
file, with ``HfArgumentParser`` semantics. Everything is checked before anything heavy runs:
the trainer name, plugin requirements, unknown fields and value types, each error naming the
field.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from hfplug.errors import ConfigError, PluginLoadError, RequirementError
from hfplug.registry import Component
from hfplug.typecheck import coerce_value


@dataclass
class RunArguments:
    """The host's own keys: which trainer, which data."""

    trainer: str | None = field(default=None, metadata={"help": "Registered trainer name, e.g. 'sft' or 'talr'."})
    dataset: str | None = field(
        default=None,
        metadata={
            "help": "Training data: asset:NAME, a .json/.jsonl/.csv/.parquet file, a saved dataset folder, "
            "or a Hub dataset id."
        },
    )
    dataset_config: str | None = field(default=None, metadata={"help": "Dataset configuration name, if any."})
    dataset_train_split: str = field(default="train", metadata={"help": "Split used for training."})
    dataset_test_split: str | None = field(default=None, metadata={"help": "Split used for evaluation, if any."})
    eval_fraction: float | None = field(
        default=None, metadata={"help": "Hold out this fraction of the training split for evaluation."}
    )
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Use only the first N training rows (after shuffling with `seed`)."}
    )
    reward_funcs: list[str] | None = field(
        default=None, metadata={"help": "Registered reward names for RL trainers, e.g. [unit_tests]."}
    )
    required_plugins: list[str] | None = field(
        default=None, metadata={"help": "PEP 508 requirements checked first, e.g. ['hfplug-talr>=0.1']."}
    )


# `data` is a list of mappings and `reward_options` a mapping of mappings, which argparse cannot express; they are
# read from the file only.
FILE_ONLY_KEYS = ("data", "reward_options")


@dataclass
class DataStep:
    """One entry of the config's ``data:`` list, resolved and validated."""

    name: str
    component: Component
    config: Any
    transform: Any = None
    """The imported transform callable (set by :func:`parse_train_config`; loaded on use otherwise)."""

    def load(self) -> Any:
        """The transform callable, imported once."""
        if self.transform is None:
            self.transform = self.component.load()
        return self.transform


@dataclass
class TrainSetup:
    """Everything ``hfplug train`` needs, parsed and checked: every component is already imported,
    so nothing can fail on a bad reference after a model has been loaded."""

    run: RunArguments
    trainer_component: Component
    trainer_config: Any
    model_config: Any
    data_steps: list[DataStep]
    raw: dict[str, Any]
    trainer_class: Any = None
    model_loader: Any = None
    """The trainer's own ``(path, **kwargs) -> (model, tokenizer)`` loader, or None for a causal LM."""
    reward_functions: list[Any] = field(default_factory=list)
    reward_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The config's ``reward_options``, checked: reward name -> keyword options for its ``with_options``."""


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Load a YAML config into a dict; a missing or malformed file is a :class:`ConfigError`."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file {path} does not exist.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {path} must be a mapping of field: value, not a {type(data).__name__}.")
    bad_keys = [key for key in data if not isinstance(key, str)]
    if bad_keys:
        raise ConfigError(f"Config file {path}: keys must be strings, got {bad_keys!r}.")
    return data


def check_required_plugins(requirements: list[str] | None) -> None:
    """Check PEP 508 requirements against installed distributions (before anything heavy)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    from hfplug.registry import PROJECT_DISTRIBUTIONS, how_to_install

    problems, unsatisfied = [], []
    for text in requirements or []:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            raise ConfigError(f"required_plugins: {text!r} is not a valid requirement: {exc}") from exc
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{text} (not installed)")
            unsatisfied.append(requirement)
            continue
        if requirement.specifier and not requirement.specifier.contains(installed, prereleases=True):
            problems.append(f"{text} (installed: {requirement.name}=={installed})")
            unsatisfied.append(requirement)
    if problems:
        # This project's own distributions are not on PyPI yet: `pip install hfplug-talr` would find nothing.
        ours = [canonicalize_name(r.name) for r in unsatisfied if canonicalize_name(r.name) in PROJECT_DISTRIBUTIONS]
        others = [str(r) for r in unsatisfied if canonicalize_name(r.name) not in PROJECT_DISTRIBUTIONS]
        message = "This config requires plugins that are not satisfied: " + "; ".join(problems) + "."
        message += "".join(f" {how_to_install(name)}" for name in dict.fromkeys(ours))
        if others:
            them = "the others" if ours else "them"
            message += f" Install {them} with: pip install " + " ".join(repr(r) for r in others)
        raise RequirementError(message)


def check_required_plugins_loaded(requirements: list[str] | None, manager: Any) -> None:
    """A required plugin that is installed but failed to import or register is the cause of whatever
    goes wrong next ("no trainer named ..."): report it, with the plugin's own error, first."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    wanted = {canonicalize_name(Requirement(text).name): text for text in requirements or []}
    for info in manager.plugins.values():
        if info.distribution is None or canonicalize_name(info.distribution) not in wanted:
            continue
        if info.error and not info.refused:
            raise PluginLoadError(
                f"required_plugins: {wanted[canonicalize_name(info.distribution)]} is installed but failed to load: "
                f"{info.error}. Fix or reinstall it (`hfplug plugins --check` shows every problem)."
            )


def _field_types(dataclass_type: type) -> dict[str, Any]:
    hints = typing.get_type_hints(dataclass_type)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(dataclass_type) if f.init}


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    return (" Did you mean " + " or ".join(repr(c) for c in close) + "?") if close else ""


def _explicit_cli_values(parser: Any, cli_args: list[str], known: list[str]) -> dict[str, Any]:
    """Parse ``--field value`` flags, returning only the fields actually given."""
    sentinel = object()

    def fail(message: str) -> typing.NoReturn:  # argparse would print usage and exit the process
        raise ConfigError(f"Command line: {message}.")

    parser.error = fail
    parser.set_defaults(**{action.dest: sentinel for action in parser._actions if action.dest != "help"})
    for action in parser._actions:
        action.required = False
    namespace, remaining = parser.parse_known_args(cli_args)
    if remaining:
        unknown = [arg for arg in remaining if arg.startswith("--")] or remaining
        hints = "".join(_suggest(arg.lstrip("-").split("=")[0], known) for arg in unknown[:1])
        raise ConfigError(f"Unknown command-line argument(s): {' '.join(unknown)}.{hints}")
    return {key: value for key, value in vars(namespace).items() if value is not sentinel}


def _build(dataclass_type: type, values: dict[str, Any], where: str) -> Any:
    try:
        return dataclass_type(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where} ({dataclass_type.__name__}): {exc}") from exc


def parse_train_config(config_path: str | Path | None, cli_args: list[str] | None = None) -> TrainSetup:
    """Read a config file and overrides, resolve every named component, and build the configs.

    Order matters: cheap checks (YAML, required plugins, names) come before importing the trainer.
    """
    from hfplug.manager import get_manager

    raw = read_config_file(config_path) if config_path else {}
    cli_args = list(cli_args or [])
    required = _peek_list(raw, "required_plugins")
    check_required_plugins(required)
    check_required_plugins_loaded(required, get_manager())

    trainer_name = _peek_cli(cli_args, "trainer") or raw.get("trainer")
    if not trainer_name:
        raise ConfigError("trainer: missing. Name a registered trainer, e.g. `trainer: sft` (see `hfplug plugins`).")
    registry = get_manager().registry
    trainer_component = registry.get("trainer", str(trainer_name))
    data_specs = raw.get("data") or []
    if not isinstance(data_specs, list):
        raise ConfigError("data: expected a list of {name: ..., <param>: ...} mappings.")
    for index, spec in enumerate(data_specs):
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise ConfigError(f"data[{index}]: expected a mapping with a 'name' key, got {spec!r}.")
        registry.get("data", spec["name"])
    for reward in _peek_list(raw, "reward_funcs") or []:
        registry.get("reward", str(reward))
    reward_options = read_reward_options(raw)

    from transformers import HfArgumentParser
    from trl import ModelConfig

    config_class = trainer_component.load_config()
    if config_class is None:
        raise ConfigError(f"trainer {trainer_component.name!r} registered no config dataclass.")
    dataclass_types = [RunArguments, config_class, ModelConfig]
    types_by_field: dict[str, Any] = {}
    for dataclass_type in dataclass_types:
        for name, tp in _field_types(dataclass_type).items():
            types_by_field.setdefault(name, tp)
    known = sorted(types_by_field) + list(FILE_ONLY_KEYS)

    file_values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in FILE_ONLY_KEYS:
            continue
        if key not in types_by_field:
            raise ConfigError(
                f"{key}: unknown field for trainer {trainer_component.name!r} "
                f"({config_class.__name__}, ModelConfig or host keys).{_suggest(key, known)}"
            )
        file_values[key] = coerce_value(key, value, types_by_field[key])

    parser = HfArgumentParser(dataclass_types)
    cli_values = _explicit_cli_values(parser, cli_args, known)
    merged = {**file_values, **cli_values}
    _default_precision_for_this_machine(merged, types_by_field)
    _default_pin_memory_for_this_machine(merged, types_by_field)
    _default_checkpointing_under_its_new_name(merged, config_class)

    built = []
    for dataclass_type in dataclass_types:
        names = _field_types(dataclass_type)
        values = {k: v for k, v in merged.items() if k in names}
        built.append(_build(dataclass_type, values, "config"))
    run, trainer_config, model_config = built

    steps = [build_data_step(index, spec, registry) for index, spec in enumerate(data_specs)]
    if trainer_component.extras.get("needs_rewards") and not run.reward_funcs:
        raise ConfigError(f"reward_funcs: trainer {trainer_component.name!r} needs at least one reward function.")
    unlisted = sorted(set(reward_options) - set(run.reward_funcs or []))
    if unlisted:
        raise ConfigError(
            f"reward_options: {', '.join(unlisted)} not in reward_funcs ({run.reward_funcs or []}); "
            "options apply only to the rewards the run uses."
        )
    setup = TrainSetup(
        run=run,
        trainer_component=trainer_component,
        trainer_config=trainer_config,
        model_config=model_config,
        data_steps=steps,
        raw=raw,
        reward_options=reward_options,
    )
    resolve_components(setup, registry)
    return setup


def resolve_components(setup: TrainSetup, registry: Any) -> None:
    """Import the trainer class, every data transform and reward, and check that the trainer takes
    what the config asks of it (``peft_config``, ``reward_funcs``), before any tokenizer or weights load."""
    from hfplug.trainer_arguments import require_keyword

    setup.trainer_class = setup.trainer_component.load()
    setup.model_loader = setup.trainer_component.load_model_loader()
    for step in setup.data_steps:
        step.load()
    setup.reward_functions = [
        with_reward_options(name, registry.get("reward", name).load(), setup.reward_options.get(name))
        for name in setup.run.reward_funcs or []
    ]
    name = setup.trainer_component.name
    if setup.model_config.use_peft:
        require_keyword(setup.trainer_class, "peft_config", f"use_peft: trainer {name!r} does not take a peft_config")
    if setup.run.reward_funcs:
        require_keyword(
            setup.trainer_class, "reward_funcs", f"reward_funcs: trainer {name!r} takes no reward functions"
        )


def read_reward_options(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The config's ``reward_options:``, a mapping of reward name -> keyword options, checked for shape.

    ``reward_options: {unit_tests: {executor: ray}}`` is the config form of
    ``unit_tests.with_options(executor="ray")`` in Python.
    """
    options = raw.get("reward_options") or {}
    if not isinstance(options, dict):
        raise ConfigError(
            f"reward_options: expected a mapping of reward name -> options, e.g. "
            f"{{unit_tests: {{executor: ray}}}}; got {options!r}."
        )
    for name, values in options.items():
        if not isinstance(values, dict) or not all(isinstance(key, str) for key in values):
            raise ConfigError(f"reward_options.{name}: expected a mapping of option: value, got {values!r}.")
    return {str(name): dict(values) for name, values in options.items()}


def with_reward_options(name: str, reward: Any, options: dict[str, Any] | None) -> Any:
    """``reward`` with the config's options applied through its ``with_options`` (rewards that take options have
    one, e.g. code_exec's ``unit_tests``); a bad option is a :class:`ConfigError` naming the reward."""
    if not options:
        return reward
    if not callable(getattr(reward, "with_options", None)):
        raise ConfigError(f"reward_options.{name}: reward {name!r} takes no options (it has no with_options).")
    try:
        return reward.with_options(**options)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"reward_options.{name}: {exc}") from exc


def _default_precision_for_this_machine(merged: dict[str, Any], types_by_field: dict[str, Any]) -> None:
    """trl turns ``bf16`` on unless told otherwise, which TrainingArguments rejects on a machine
    without a bf16-capable GPU; there we default to fp32 instead of failing."""
    from hfplug.precision import bf16_available

    if "bf16" in merged or "fp16" in merged or "bf16" not in types_by_field:
        return
    if not bf16_available():
        merged["bf16"] = False


def _default_pin_memory_for_this_machine(merged: dict[str, Any], types_by_field: dict[str, Any]) -> None:
    """Without an accelerator, pinned memory does nothing but make every DataLoader warn: default it off there."""
    from hfplug.precision import pinned_memory_useful

    if "dataloader_pin_memory" in merged or "dataloader_pin_memory" not in types_by_field:
        return
    if not pinned_memory_useful():
        merged["dataloader_pin_memory"] = False


def _default_checkpointing_under_its_new_name(merged: dict[str, Any], config_class: type) -> None:
    """trl's configs default ``gradient_checkpointing`` to True, a name transformers v5 deprecated: every
    run would warn. Unless the config names either, pass that default as ``activation_checkpointing``."""
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    if "activation_checkpointing" in merged or "gradient_checkpointing" in merged:
        return
    if "activation_checkpointing" not in fields or "gradient_checkpointing" not in fields:
        return
    default = fields["gradient_checkpointing"].default
    if fields["activation_checkpointing"].default is None and isinstance(default, bool):
        merged["activation_checkpointing"] = default


def build_data_step(index: int, spec: dict[str, Any], registry: Any) -> DataStep:
    """Resolve and validate one `data:` entry (`{name: ..., <param>: ...}`) into a :class:`DataStep`."""
    component = registry.get("data", spec["name"])
    params = {k: v for k, v in spec.items() if k != "name"}
    config_class = component.load_config()
    where = f"data[{index}] ({component.name})"
    if config_class is None:
        if params:
            raise ConfigError(f"{where}: takes no parameters, got {', '.join(params)}.")
        return DataStep(component.name, component, None)
    types_by_field = _field_types(config_class)
    for key, value in params.items():
        if key not in types_by_field:
            raise ConfigError(f"{where}.{key}: unknown parameter.{_suggest(key, sorted(types_by_field))}")
        params[key] = coerce_value(f"{where}.{key}", value, types_by_field[key])
    return DataStep(component.name, component, _build(config_class, params, where))


def _peek_list(raw: dict[str, Any], key: str) -> list[str] | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a list of strings, got {value!r}.")
    return value


def _peek_cli(cli_args: list[str], key: str) -> str | None:
    for index, arg in enumerate(cli_args):
        if arg == f"--{key}" and index + 1 < len(cli_args):
            return cli_args[index + 1]
        if arg.startswith(f"--{key}="):
            return arg.split("=", 1)[1]
    return None
