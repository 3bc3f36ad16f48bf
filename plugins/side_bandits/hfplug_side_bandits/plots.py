"""The two figures: regret against T (log axis) with the ``C* log T`` line, and ``N_i(T) / log T`` against ``c*_i``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hfplug.errors import HfplugError
from hfplug_side_bandits.results import Results, mean_and_half_width


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise HfplugError("plots need matplotlib: pip install 'hfplug-side-bandits[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_regret(results: Sequence[Results], path: str | Path, title: str = "") -> Path:
    """Mean regret (95% CI band over seeds) against t on a log axis, with ``C* log t`` when defined."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    for result in results:
        bands = [mean_and_half_width(result.regret[:, c]) for c in range(len(result.rounds))]
        mean = np.array([b[0] for b in bands])
        half = np.array([b[1] for b in bands])
        axis.plot(result.rounds, mean, label=result.policy)
        axis.fill_between(result.rounds, mean - half, mean + half, alpha=0.2)
    bound = results[0].bound
    if bound is not None:
        rounds = results[0].rounds
        axis.plot(
            rounds, bound.value * np.log(np.maximum(rounds, 1)), "k--", label=f"C* log t (C* = {bound.value:.2f})"
        )
    axis.set_xscale("log")
    axis.set_xlabel("round t")
    axis.set_ylabel("pseudo-regret R_t")
    axis.set_title(title or f"{len(results[0].seeds)} seeds, 95% CI")
    axis.legend()
    figure.tight_layout()
    return _save(figure, path, plt)


def plot_rates(results: Sequence[Results], path: str | Path, title: str = "") -> Path:
    """``N_i(T) / log T`` per suboptimal arm (mean and 95% CI over seeds) for each policy, next to ``c*_i``."""
    plt = _pyplot()
    bound = results[0].bound
    k = results[0].instance.n_arms
    best = int(np.argmax(results[0].instance.means))
    arms = [i for i in range(k) if i != best]
    width = 0.8 / (len(results) + 1)
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    for n, result in enumerate(results):
        final = result.pulls[:, -1, :] / np.log(result.horizon)
        bars = [mean_and_half_width(final[:, i]) for i in arms]
        positions = np.arange(len(arms)) + n * width
        axis.bar(positions, [b[0] for b in bars], width, yerr=[b[1] for b in bars], label=result.policy)
    if bound is not None:
        positions = np.arange(len(arms)) + len(results) * width
        axis.bar(positions, bound.rates[arms], width, color="k", label="c* (lower bound LP)")
    axis.set_xticks(np.arange(len(arms)) + width * len(results) / 2, [f"arm {i}" for i in arms])
    axis.set_ylabel(f"N_i(T) / log T, T = {results[0].horizon}")
    axis.set_title(title or "pulls of suboptimal arms per log T")
    axis.legend()
    figure.tight_layout()
    return _save(figure, path, plt)


def _save(figure, path: str | Path, plt) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
