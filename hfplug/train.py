"""``hfplug train``: from a parsed config to a trained, saved (and optionally pushed) model."""

from __future__ import annotations

import contextlib
import json
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hfplug.config import TrainSetup
from hfplug.data import DataContext, check_columns
from hfplug.errors import ConfigError, DatasetError, HfplugError

RUN_INFO_FILE = "hfplug_run.json"


@dataclass
class TrainResult:
    """What a finished run produced."""

    output_dir: str
    metrics: dict[str, Any]
    pushed_to: str | None = None


def prepare_datasets(setup: TrainSetup, context: DataContext) -> tuple[Any, Any]:
    """Load the train (and eval) split, apply the config's data transforms, check columns."""
    from hfplug.datasets_io import load_split

    run = setup.run
    if not run.dataset:
        raise ConfigError("dataset: missing. Name the training data (asset:NAME, a file, or a Hub dataset id).")
    train = load_split(run.dataset, config=run.dataset_config, split=run.dataset_train_split)
    evaluation = (
        load_split(run.dataset, config=run.dataset_config, split=run.dataset_test_split)
        if run.dataset_test_split
        else None
    )
    if run.max_train_samples is not None:
        if run.max_train_samples <= 0:
            raise ConfigError(f"max_train_samples: must be positive, got {run.max_train_samples}.")
        train = train.shuffle(seed=context.seed).select(range(min(run.max_train_samples, len(train))))
    if run.eval_fraction is not None:
        if not 0.0 < run.eval_fraction < 1.0:
            raise ConfigError(f"eval_fraction: must be in (0, 1), got {run.eval_fraction}.")
        parts = train.train_test_split(test_size=run.eval_fraction, seed=context.seed)
        train, evaluation = parts["train"], parts["test"]
    if len(train) == 0:
        raise DatasetError(f"dataset {run.dataset!r}: the training split is empty.")
    for step in setup.data_steps:
        train = _apply(step, train, context)
        if train is None or not hasattr(train, "column_names"):
            raise HfplugError(f"data transform {step.name!r} returned {type(train).__name__}, not a Dataset.")
        if len(train) == 0:
            raise DatasetError(f"data transform {step.name!r} left the training set empty.")
    columns = setup.trainer_component.extras.get("columns")
    if columns:
        check_columns(train, columns, what=f"trainer {setup.trainer_component.name!r}")
    return train, evaluation


def _apply(step: Any, dataset: Any, context: DataContext) -> Any:
    """Run one data transform; an error that is not hfplug's own is reported with the transform's name
    and plugin (its traceback stays available with --debug)."""
    try:
        return step.load()(dataset, step.config, context)
    except HfplugError:
        raise
    except Exception as exc:
        raise DatasetError(
            f"data transform {step.name!r} ({step.component.origin()}) failed: {type(exc).__name__}: {exc} "
            "(run with --debug or HFPLUG_DEBUG=1 for the traceback)"
        ) from exc


def load_model_and_tokenizer(model_path: str | None, setup: TrainSetup) -> tuple[Any, Any]:
    """The trainable model and its tokenizer, honouring ``dtype`` and ``model_init_kwargs``.

    A causal LM by default; a trainer registered with ``model_loader="pkg.mod:function"`` (a
    ``(path, **kwargs) -> (model, tokenizer)`` callable) loads other kinds, e.g. masked diffusion LMs,
    and may get ``None`` for a path when the config names no model (see ``PluginRegistrar.trainer``).
    """
    from hfplug.models import load_causal_lm

    model_config = setup.model_config
    kwargs = dict(getattr(setup.trainer_config, "model_init_kwargs", None) or {})
    if model_config.dtype not in (None, "auto"):
        kwargs.setdefault("dtype", model_config.dtype)
    if model_config.attn_implementation:
        kwargs.setdefault("attn_implementation", model_config.attn_implementation)
    if model_config.model_revision and model_config.model_revision != "main":
        kwargs.setdefault("revision", model_config.model_revision)
    return (setup.model_loader or load_causal_lm)(model_path, **kwargs)


def build_trainer(setup: TrainSetup, model: Any, tokenizer: Any, train: Any, evaluation: Any) -> Any:
    """Instantiate the registered trainer class with the keyword arguments it accepts.

    The class, the reward functions and the keywords the config asks for (``peft_config``,
    ``reward_funcs``) were resolved and checked by ``parse_train_config`` before any model loaded.
    """
    from hfplug.distributed import warn_if_fsdp_not_applied
    from hfplug.trainer_arguments import init_keywords

    trainer_class = setup.trainer_class
    kwargs: dict[str, Any] = {"model": model, "args": setup.trainer_config, "train_dataset": train}
    if tokenizer is not None:  # models from a trainer's own model_loader may have none
        kwargs["processing_class"] = tokenizer
    if evaluation is not None:
        kwargs["eval_dataset"] = evaluation
    if setup.model_config.use_peft:
        from trl import get_peft_config

        kwargs["peft_config"] = get_peft_config(setup.model_config)
    if setup.run.reward_funcs:
        kwargs["reward_funcs"] = setup.reward_functions
    accepted = init_keywords(trainer_class)
    unexpected = [k for k in kwargs if not accepted.accepts(k)]
    if unexpected:
        raise HfplugError(f"trainer {setup.trainer_component.name!r} does not accept: {', '.join(unexpected)}.")
    trainer = trainer_class(**kwargs)
    trainer.add_callback(_non_finite_loss_guard())
    warn_if_fsdp_not_applied(getattr(trainer, "accelerator", None), trainer.args)
    return trainer


def _non_finite_loss_guard() -> Any:
    """A callback that stops a run whose loss became NaN/inf instead of saving a broken model."""
    from transformers import TrainerCallback

    class NonFiniteLossGuard(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any):
            loss = (logs or {}).get("loss")
            if isinstance(loss, float) and not math.isfinite(loss):
                raise HfplugError(
                    f"The training loss is {loss} at step {state.global_step}; stopping before anything is saved "
                    "over earlier results. Lower the learning rate or check the data for empty/garbled rows."
                )

    return NonFiniteLossGuard()


def run_info(setup: TrainSetup, model_path: str, metrics: dict[str, Any]) -> dict[str, Any]:
    """The provenance record written next to the model (read by the Hub card writer)."""
    from hfplug import __version__
    from hfplug.manager import get_manager

    registry = get_manager().registry
    trainer = setup.trainer_component
    used = [step.component for step in setup.data_steps]
    used += [registry.get("reward", name) for name in setup.run.reward_funcs or []]
    distributions = {"hfplug": __version__}
    for component in [trainer, *used]:
        if component.distribution and component.version and component.distribution.startswith("hfplug-"):
            distributions[component.distribution] = component.version
    return {
        "hfplug_version": __version__,
        "trainer": _component_record(trainer) | {"summary": trainer.summary},
        "components": [_component_record(c) for c in used],
        "base_model": setup.model_config.model_name_or_path,
        "base_model_resolved": model_path,
        "base_model_hub": _base_model_hub(setup.model_config, model_path),
        "datasets": [setup.run.dataset] if setup.run.dataset else [],
        "data": [{"name": s.name, **_jsonable(s.config)} for s in setup.data_steps],
        "config": _jsonable(setup.trainer_config),
        "model_config": _jsonable(setup.model_config),
        "metrics": metrics,
        "pip_install": "pip install " + " ".join(f"{name}=={version}" for name, version in distributions.items()),
    }


def _base_model_hub(model_config: Any, model_path: str | None) -> dict[str, Any] | None:
    """The Hub repo (and revision) the run's model is, or is a copy of: what a pushed adapter names as its base."""
    from hfplug.hub_origin import HubOrigin, base_model_origin

    origin = base_model_origin({"base_model": model_config.model_name_or_path, "base_model_resolved": model_path})
    if origin is None:
        return None
    if origin.revision is None and model_config.model_revision not in (None, "main"):
        origin = HubOrigin(origin.repo_id, model_config.model_revision)
    return origin.as_dict()


def _component_record(component: Any) -> dict[str, Any]:
    return {
        "kind": component.kind,
        "name": component.name,
        "distribution": component.distribution,
        "version": component.version,
        "paper": component.paper,
    }


def _jsonable(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if hasattr(obj, "to_dict"):
        data = obj.to_dict()
    else:
        import dataclasses

        data = dataclasses.asdict(obj)
    return json.loads(json.dumps(data, default=str))


def run_training(setup: TrainSetup) -> TrainResult:
    """Load, transform, train, save, record provenance, and push when asked."""
    from hfplug.distributed import launch_record
    from hfplug.models import locate_model

    name_or_path = setup.model_config.model_name_or_path
    # A trainer with its own model_loader decides what a missing model means (e.g. build a fresh one).
    if not name_or_path and setup.model_loader is None:
        raise ConfigError("model_name_or_path: missing. Name a model folder, a Hub id, or asset:smollm2-135m-instruct.")
    args = setup.trainer_config
    model_path = locate_model(name_or_path, field="model_name_or_path") if name_or_path else None
    context = DataContext(model_name_or_path=model_path, seed=args.seed, output_dir=args.output_dir)
    train, evaluation = prepare_datasets(setup, context)
    model, tokenizer = load_model_and_tokenizer(model_path, setup)
    context.model = None  # the frozen copy a transform may have used is no longer needed

    # We push ourselves after saving, so the card carries hfplug's provenance record.
    push, args.push_to_hub = args.push_to_hub, False
    with _libraries_reading_the_deprecated_checkpointing_name():
        trainer = build_trainer(setup, model, tokenizer, train, evaluation)
        output = trainer.train(resume_from_checkpoint=args.resume_from_checkpoint)
    metrics = dict(output.metrics)
    trainer.save_model(args.output_dir)
    pushed_to = None
    if trainer.is_world_process_zero():
        if tokenizer is not None:
            tokenizer.save_pretrained(args.output_dir)
        accelerator = getattr(trainer, "accelerator", None)  # None: a plugin trainer with its own loop
        info = run_info(setup, model_path, metrics) | {"distributed": launch_record(accelerator)}
        Path(args.output_dir, RUN_INFO_FILE).write_text(json.dumps(info, indent=2))
        if push:
            pushed_to = _push(args, info)
    return TrainResult(output_dir=args.output_dir, metrics=metrics, pushed_to=pushed_to)


@contextlib.contextmanager
def _libraries_reading_the_deprecated_checkpointing_name() -> Iterator[None]:
    """Silence one FutureWarning, and only while hfplug builds and runs the trainer: peft (0.21, wrapping the
    model for ``use_peft``) and trl (around generation) read transformers' deprecated ``is_gradient_checkpointing``
    of every model, checkpointing on or off. The user's config cannot avoid it; hfplug itself uses the new name."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
        yield


def _push(args: Any, info: dict[str, Any]) -> str:
    from hfplug import hub

    repo_id = args.hub_model_id or Path(args.output_dir).name
    return hub.push(
        args.output_dir,
        repo_id,
        private=bool(args.hub_private_repo),
        revision=args.hub_revision,
        token=args.hub_token,
    )
