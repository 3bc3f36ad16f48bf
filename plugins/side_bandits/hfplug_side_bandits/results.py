"""What a simulation returns, and how results become a ``datasets.Dataset`` that is saved and pushed.

One dataset row per (policy, seed): the checkpoint rounds, the pseudo-regret and the pulls of every arm
at each checkpoint. ``hfplug_run.json`` beside it records the instance, the bound, the options and a
summary, which :func:`hfplug.hub.push` turns into the provenance card.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from hfplug.errors import ConfigError, HfplugError
from hfplug_side_bandits.bound import Bound, lower_bound
from hfplug_side_bandits.instance import Instance, make_instance

RUN_INFO_FILE = "hfplug_run.json"
PAPER = "arXiv:2505.10698"


@dataclass(eq=False)
class Results:
    """One policy on one instance: ``regret[s, c]``, ``pulls[s, c, i]`` at round ``rounds[c]`` of seed ``seeds[s]``."""

    policy: str
    options: dict[str, Any]
    instance: Instance
    horizon: int
    seeds: list[int]
    rounds: np.ndarray
    regret: np.ndarray
    pulls: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def bound(self) -> Bound | None:
        """The instance's lower bound, or ``None`` when the best arm is not unique."""
        try:
            return lower_bound(self.instance.means, self.instance.sigma)
        except ConfigError:
            return None

    @property
    def final_regret(self) -> np.ndarray:
        """``R_T`` per seed."""
        return self.regret[:, -1]

    def regret_over_log(self) -> np.ndarray:
        """``R_t / log t`` per seed and checkpoint (NaN at ``t = 1``)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.rounds > 1, self.regret / np.log(self.rounds), np.nan)

    def pulls_over_log(self) -> np.ndarray:
        """``N_i(t) / log t`` per seed, checkpoint and arm (NaN at ``t = 1``)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.rounds[None, :, None] > 1, self.pulls / np.log(self.rounds)[None, :, None], np.nan)

    def summary(self) -> dict[str, Any]:
        """Mean and 95% confidence half-width over seeds of ``R_T`` and ``R_T / log T``."""
        per_log = self.final_regret / math.log(self.horizon) if self.horizon > 1 else self.final_regret
        regret_mean, regret_half = mean_and_half_width(self.final_regret)
        ratio_mean, ratio_half = mean_and_half_width(per_log)
        return {
            "policy": self.policy,
            "horizon": self.horizon,
            "seeds": len(self.seeds),
            "regret": regret_mean,
            "regret_ci95": regret_half,
            "regret_over_log": ratio_mean,
            "regret_over_log_ci95": ratio_half,
            "lower_bound": None if self.bound is None else self.bound.value,
        }

    def rows(self) -> list[dict[str, Any]]:
        """One dataset row per seed."""
        return [
            {
                "policy": self.policy,
                "seed": seed,
                "horizon": self.horizon,
                "rounds": self.rounds.tolist(),
                "regret": self.regret[s].tolist(),
                "pulls": self.pulls[s].tolist(),
                "options": json.dumps(self.options, sort_keys=True),
            }
            for s, seed in enumerate(self.seeds)
        ]

    def to_dataset(self) -> Any:
        """These results as a ``datasets.Dataset`` (see :func:`results_dataset`)."""
        return results_dataset([self])

    def save(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """Save as a dataset folder with its run record (see :func:`save_results`)."""
        return save_results([self], folder, overwrite=overwrite)


def mean_and_half_width(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Mean and Student-t confidence half-width (0 for a single value)."""
    from scipy.stats import t as student_t

    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float(values.mean()), 0.0
    spread = values.std(ddof=1) / math.sqrt(len(values))
    return float(values.mean()), float(student_t.ppf(0.5 + level / 2, len(values) - 1) * spread)


def results_dataset(results: Sequence[Results]) -> Any:
    """A ``datasets.Dataset`` with one row per (policy, seed): policy, seed, horizon, rounds, regret,
    pulls (checkpoint x arm), options (JSON)."""
    from datasets import Dataset

    return Dataset.from_list([row for result in results for row in result.rows()])


def run_record(results: Sequence[Results]) -> dict[str, Any]:
    """The ``hfplug_run.json`` content: provenance, instance, bound, per-policy options, stats, summary."""
    import hfplug
    from hfplug_side_bandits import __version__

    first = results[0]
    bound = first.bound
    metrics: dict[str, Any] = {}
    if bound is not None:
        metrics["C* (lower bound on R_T / log T)"] = round(bound.value, 4)
    for result in results:
        summary = result.summary()
        metrics[f"R_T / log T, {result.policy} (T={result.horizon}, {summary['seeds']} seeds, 95% CI)"] = (
            f"{summary['regret_over_log']:.3f} +- {summary['regret_over_log_ci95']:.3f}"
        )
    return {
        "hfplug_version": hfplug.__version__,
        "components": [
            {
                "kind": "model",
                "name": "side_bandits",
                "distribution": "hfplug-side-bandits",
                "version": __version__,
                "paper": PAPER,
            }
        ],
        "summary": "Regret curves and pulls per arm of bandit policies with Gaussian side observations.",
        "config": {
            **first.instance.as_dict(),
            "horizon": first.horizon,
            "seeds": first.seeds,
            "policies": {r.policy: r.options for r in results},
        },
        "bound": None if bound is None else bound.as_dict(),
        "stats": {r.policy: r.stats for r in results},
        "metrics": metrics,
    }


def save_results(results: Sequence[Results], folder: str | Path, *, overwrite: bool = False) -> Path:
    """Save results of one instance (several policies allowed) with ``Dataset.save_to_disk`` plus
    ``hfplug_run.json``; ``hfplug push FOLDER REPO`` then uploads them with a provenance card.

    The folder is written next to its destination and moved into place at the end, so a failure leaves
    an existing folder untouched; an existing non-empty folder is replaced only with ``overwrite``.
    """
    results = list(results)
    if not results:
        raise ConfigError("no results to save.")
    first = results[0]
    for result in results[1:]:
        same = np.array_equal(result.instance.means, first.instance.means) and np.array_equal(
            result.instance.sigma, first.instance.sigma
        )
        if not same or result.horizon != first.horizon or result.seeds != first.seeds:
            raise ConfigError("results saved together must share the instance, horizon and seeds.")
    target = Path(folder)
    if target.exists() and (not target.is_dir() or any(target.iterdir())) and not overwrite:
        raise HfplugError(f"{target} already exists and is not empty; choose another folder or pass overwrite=True.")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        results_dataset(results).save_to_disk(str(staging / "data"))
        for item in (staging / "data").iterdir():
            item.rename(staging / item.name)
        (staging / "data").rmdir()
        (staging / RUN_INFO_FILE).write_text(json.dumps(run_record(results), indent=2))
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


def load_results(folder: str | Path) -> list[Results]:
    """The results :func:`save_results` wrote, one :class:`Results` per policy (in saved order)."""
    from datasets import load_from_disk

    folder = Path(folder)
    record_path = folder / RUN_INFO_FILE
    if not record_path.is_file():
        raise HfplugError(f"{folder} holds no saved bandit results ({RUN_INFO_FILE} is missing).")
    record = json.loads(record_path.read_text())
    config = record["config"]
    instance = make_instance(config["means"], config["sigma"])
    dataset = load_from_disk(str(folder))
    stats = record.get("stats", {})
    loaded = []
    for policy in config["policies"]:
        rows = [row for row in dataset if row["policy"] == policy]
        rows.sort(key=lambda row: config["seeds"].index(row["seed"]))
        loaded.append(
            Results(
                policy=policy,
                options=json.loads(rows[0]["options"]),
                instance=instance,
                horizon=config["horizon"],
                seeds=[row["seed"] for row in rows],
                rounds=np.array(rows[0]["rounds"]),
                regret=np.array([row["regret"] for row in rows]),
                pulls=np.array([row["pulls"] for row in rows]),
                stats=stats.get(policy, {}),
            )
        )
    return loaded


def push_results(folder: str | Path, repo_id: str, **push_options: Any) -> str:
    """Push a saved results folder to a Hub dataset repo with its card (:func:`hfplug.hub.push`)."""
    from hfplug.hub import push

    return push(folder, repo_id, **push_options)
