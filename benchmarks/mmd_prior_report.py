"""Summaries of the MMD-prior benchmark: mean and 95 % t-interval per method, a table, a plot with the
paper's numbers beside ours."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

# arXiv:2510.11953: LPS-lgbm on CIFAR-10 (d = 64) and AE-KLD on MNIST; NMSE on CIFAR-10. Our
# "gbm" is the same algorithm as LightGBM (histogram gradient boosting), not the same library.
PAPER_LPS_CIFAR10 = {"AE-MMD": 0.038, "beta-VAE(4)": 0.846, "VAE": 0.632, "AE": 0.508}
PAPER_LPS_MNIST = {"AE-KLD": 0.97}
PAPER_NMSE_CIFAR10 = {"AE-MMD": -15.62, "AE": -15.83}
METRICS = ("lps_gbm", "lps_mlp", "covariance_ratio", "nmse_db", "constant_dims")


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95 % t-interval (0 for a single value)."""
    array = np.asarray(values, dtype=float)
    if len(array) < 2:
        return float(array.mean()), 0.0
    from scipy import stats

    half = stats.t.ppf(0.975, len(array) - 1) * array.std(ddof=1) / np.sqrt(len(array))
    return float(array.mean()), float(half)


def summarise(runs: list[dict[str, Any]], regressors: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{dataset: {method: {metric: (mean, half_width), "seeds": n, "cpu_s": total}}}``."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        grouped[(run["dataset"], run["method"])].append(run)
    summary: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for (dataset, method), group in grouped.items():
        entry: dict[str, Any] = {"seeds": len(group), "cpu_s": sum(r["cpu_s"] for r in group)}
        for metric in METRICS:
            values = [r[metric] for r in group if r.get(metric) is not None]
            if values and all(metric in r for r in group):
                entry[metric] = interval(values)
        entry["lps_seeds"] = sum(r.get("lps_gbm") is not None for r in group)
        summary[dataset][method] = entry
    return dict(summary)


def _cell(value: tuple[float, float] | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    mean, half = value
    return f"{mean:.{digits}f} ± {half:.{digits}f}" if half else f"{mean:.{digits}f}"


def write_table(summary: dict[str, Any], regressors: list[str], path: Path) -> str:
    """A Markdown table per dataset, the paper's values in the last columns; written to ``path``."""
    lines = []
    for dataset, methods in summary.items():
        lines += [
            f"**{dataset}** (mean ± 95 % t-interval over seeds)",
            "",
            "| method | LPS-gbm | LPS-mlp | covariance ratio | NMSE dB | collapsed dims | CPU min |"
            " paper LPS (CIFAR-10, lgbm) | paper LPS (MNIST) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for method, entry in methods.items():
            paper = f"{PAPER_LPS_CIFAR10.get(method, '-')} | {PAPER_LPS_MNIST.get(method, '-')}"
            undefined = entry["seeds"] - entry["lps_seeds"]
            note = f" ({undefined} of {entry['seeds']} seeds fully collapsed: no LPS)" if undefined else ""
            lines.append(
                f"| {method}{note} | {_cell(entry.get('lps_gbm'))} | {_cell(entry.get('lps_mlp'))} | "
                f"{_cell(entry.get('covariance_ratio'), 2)} | {_cell(entry.get('nmse_db'), 2)} | "
                f"{_cell(entry.get('constant_dims'), 1)} | "
                f"{entry['cpu_s'] / 60:.1f} | {paper} |"
            )
        lines.append("")
    text = "\n".join(lines)
    path.write_text(text)
    return text


def write_plot(summary: dict[str, Any], path: Path) -> Path:
    """LPS-gbm and LPS-mlp per method and dataset with intervals; the paper's LPS as crosses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(summary)
    figure, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 3.6), squeeze=False)
    for axis, dataset in zip(axes[0], datasets, strict=True):
        methods = list(summary[dataset])
        positions = np.arange(len(methods))
        for offset, (metric, label) in zip(
            (-0.18, 0.18), (("lps_gbm", "ours, gbm"), ("lps_mlp", "ours, mlp")), strict=True
        ):
            values = [summary[dataset][m].get(metric) for m in methods]
            if any(v is None for v in values):
                continue
            axis.bar(
                positions + offset,
                [v[0] for v in values],
                width=0.34,
                yerr=[v[1] for v in values],
                capsize=3,
                label=label,
            )
        for paper, marker, label in (
            (PAPER_LPS_CIFAR10, "x", "paper, CIFAR-10"),
            (PAPER_LPS_MNIST, "^", "paper, MNIST"),
        ):
            points = [(i, paper[m]) for i, m in enumerate(methods) if m in paper]
            if points:
                axis.scatter(*zip(*points, strict=True), marker=marker, color="black", zorder=3, label=label)
        axis.set_xticks(positions, methods, fontsize=8)
        axis.set_ylabel("LPS (lower = more independent)")
        axis.set_title(dataset)
        axis.axhline(0, color="grey", linewidth=0.5)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path
