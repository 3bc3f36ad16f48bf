"""The benchmark's output: a Markdown table, a JSON file and a plot of domain gain vs general loss."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# (key, column title, higher is better)
METRICS: list[tuple[str, str, bool]] = [
    ("gsm8k_exact_match", "GSM8K EM", True),
    ("gsm8k_solution_nll", "GSM8K sol. NLL", False),
    ("shakespeare_ppl", "Shakespeare PPL", False),
    ("news_ppl", "News PPL", False),
    ("hellaswag_acc", "HellaSwag acc_norm", True),
    ("truthfulqa_mc1_acc", "TruthfulQA-MC1 acc", True),
]


def general_loss(scores: dict[str, float], base: dict[str, float]) -> float:
    """Mean relative perplexity increase (%) over the two general-text corpora."""
    keys = ("shakespeare_ppl", "news_ppl")
    return 100 * sum(scores[k] / base[k] - 1 for k in keys) / len(keys)


def domain_gain(scores: dict[str, float], base: dict[str, float]) -> float:
    """Reduction of the GSM8K reference-solution NLL (nats/token) vs the base model."""
    return base["gsm8k_solution_nll"] - scores["gsm8k_solution_nll"]


def markdown_table(results: dict[str, dict[str, Any]]) -> str:
    base = results["base"]["scores"]
    header = "| method | " + " | ".join(title for _, title, _ in METRICS) + " | domain gain | general loss | train s |"
    lines = [header, "|" + "---|" * (len(METRICS) + 4)]
    for method, result in results.items():
        if "error" in result:
            lines.append(f"| {method} | failed: {result['error']} |" + " |" * (len(METRICS) + 3))
            continue
        scores = result["scores"]
        cells = []
        for key, _, _ in METRICS:
            value = scores[key]
            cell = f"{value:.3f}"
            if method != "base":
                cell += f" ({value - base[key]:+.3f})"
            cells.append(cell)
        cells.append(f"{domain_gain(scores, base):+.3f}")
        cells.append(f"{general_loss(scores, base):+.1f}%")
        cells.append(f"{result.get('train_seconds', 0):.0f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(results: dict[str, dict[str, Any]], settings: dict[str, Any], out: Path) -> None:
    """results.json, results.md and domain_vs_general.png in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"settings": settings, "results": results}, indent=2))
    notes = (
        "Values are absolute, (change vs base) in brackets. domain gain = drop of the GSM8K reference-solution "
        "NLL (nats/token); general loss = mean relative perplexity increase on Shakespeare and Lee news text.\n"
    )
    (out / "results.md").write_text(markdown_table(results) + "\n" + notes)
    _plot(results, out / "domain_vs_general.png")


def _plot(results: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    base = results["base"]["scores"]
    figure, axes = plt.subplots(figsize=(6, 4.5))
    for method, result in results.items():
        if "error" in result:
            continue
        x, y = general_loss(result["scores"], base), domain_gain(result["scores"], base)
        axes.scatter([x], [y])
        axes.annotate(method, (x, y), textcoords="offset points", xytext=(5, 5))
    axes.axhline(0, color="grey", linewidth=0.5)
    axes.axvline(0, color="grey", linewidth=0.5)
    axes.set_xlabel("general loss: perplexity increase on general text (%)")
    axes.set_ylabel("domain gain: GSM8K solution NLL drop (nats/token)")
    axes.set_title("Forgetting: up and to the left is better")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
