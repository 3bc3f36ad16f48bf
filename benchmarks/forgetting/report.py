"""The benchmark's output from the saved runs: results.json (every point with its intervals), results.md and
trade_off.png (target gain against general loss, one curve per method)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from benchmarks.forgetting.evaluation import absolute_scores, compare_with_base, count_items
from benchmarks.forgetting.grid import METHODS, rate_label
from benchmarks.forgetting.matched import REFERENCE, curve_draws, matched_comparison
from benchmarks.forgetting.same_rate import same_rate_comparison
from benchmarks.forgetting.sizes import Sizes

# (key in compare_with_base, column title, digits)
COLUMNS: list[tuple[str, str, int]] = [
    ("target_gain", "target gain (gsm_symbolic NLL drop)", 3),
    ("gsm8k_gain", "GSM8K NLL drop", 3),
    ("general_ppl_increase_pct", "general-text PPL change %", 1),
    ("choice_accuracy_change", "MC accuracy change", 3),
    ("choice_log_prob_change", "MC log p(correct) change", 3),
]


def load_runs(out: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    runs_dir = out / "runs"
    base = json.loads((runs_dir / "base.json").read_text())
    runs = [json.loads(p.read_text()) for p in sorted(runs_dir.glob("*@*.json"))]
    return base, sorted(runs, key=lambda r: (r["method"], r["learning_rate"]))


def cell(estimate: dict[str, float], digits: int) -> str:
    return f"{estimate['value']:+.{digits}f} [{estimate['low']:+.{digits}f}, {estimate['high']:+.{digits}f}]"


def matched_cell(estimate: dict[str, float]) -> str:
    """A matched-gain difference; "not reached" when the method's own curve does not reach the reference's gain
    (an interval over the few resamples that did would look like a result)."""
    return cell(estimate, 4) if math.isfinite(estimate["value"]) else "not reached"


def write_report(out: Path, sizes: Sizes) -> dict[str, Any]:
    """Summarise every saved run against the base model; write results.json, results.md, trade_off.png."""
    base, runs = load_runs(out)
    points, curves = [], {}
    for run in runs:
        comparison = compare_with_base(run["scores"], base["scores"])
        points.append(
            {
                "method": run["method"],
                "learning_rate": run["learning_rate"],
                **{k: v for k, v in run.items() if k.endswith("seconds")},
                **comparison,
            }
        )
        curves.setdefault(run["method"], []).append((run["learning_rate"], curve_draws(run["scores"], base["scores"])))
    matched = matched_comparison(curves)
    summary = {
        "sizes": sizes.as_dict(),
        "items": count_items(base["scores"]),
        "base": absolute_scores(base["scores"]),
        "base_seconds": {k: v for k, v in base.items() if k.endswith("seconds")},
        "points": points,
        "matched_target_gain": matched,
        "matched_target_gain_against_baseline": against_own_baselines(curves),
        # Only methods on full fine-tuning's rate scale: a LoRA rate is another knob, equal to an SFT rate by chance.
        "same_rate_against_sft": same_rate_comparison(
            {m: c for m, c in curves.items() if m in METHODS and METHODS[m].lr_scale == METHODS[REFERENCE].lr_scale}
        ),
    }
    (out / "results.json").write_text(json.dumps(summary, indent=2))
    (out / "results.md").write_text(markdown(summary))
    if points:
        plot(points, out / "trade_off.png")
    return summary


def against_own_baselines(curves: dict[str, list[tuple[float, dict[str, Any]]]]) -> list[dict[str, Any]]:
    """Each combination (FLOW + LoRA) at matched gain against the method it adds to (LoRA), not only SFT."""
    rows = []
    for baseline in dict.fromkeys(METHODS[m].baseline for m in curves if m in METHODS):
        if baseline == REFERENCE or baseline not in curves:
            continue
        added = {m: curve for m, curve in curves.items() if m in METHODS and METHODS[m].baseline == baseline}
        rows += matched_comparison({baseline: curves[baseline], **added}, reference=baseline)
    return rows


def matched_table(rows: list[dict[str, Any]], intro: str) -> list[str]:
    """Markdown lines of a matched-gain table: ``intro``, then one row per (method, reference point)."""
    lines = [
        "",
        intro,
        "",
        "| method | reference | reference's lr | target gain | reference's general NLL rise there | "
        "method minus reference | reached |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['method']} | {row['reference']} | {rate_label(row['reference_learning_rate'])} | "
            f"{row['target_gain']:+.3f} | {row['reference_general_loss']:+.4f} | "
            f"{matched_cell(row['general_loss_difference'])} | {100 * row['reached_share']:.0f}% |"
        )
    return lines


def markdown(summary: dict[str, Any]) -> str:
    items = summary["items"]
    lines = [
        f"Items: {items['target']} target (held-out gsm_symbolic + GSM8K solutions), {items['general']} general "
        "(text windows + multiple choice). Every change is against the base model, with a paired 95% bootstrap "
        "interval; NLL in nats/token.",
        "",
        "| method | lr | " + " | ".join(title for _, title, _ in COLUMNS) + " | train s | eval s |",
        "|---|---|" + "---|" * (len(COLUMNS) + 2),
    ]
    for point in summary["points"]:
        cells = [cell(point[key], digits) if key in point else "-" for key, _, digits in COLUMNS]
        lines.append(
            f"| {point['method']} | {rate_label(point['learning_rate'])} | "
            + " | ".join(cells)
            + f" | {point['train_seconds']:.0f} | {point['eval_seconds']:.0f} |"
        )
    if summary["matched_target_gain"]:
        lines += matched_table(
            summary["matched_target_gain"],
            "At matched target gain (every curve, SFT's too, walked in rate order and read at each SFT point's gain,"
            " the least general loss where it passes that gain twice; < 0 = forgets less than SFT):",
        )
    if summary.get("matched_target_gain_against_baseline"):
        lines += matched_table(
            summary["matched_target_gain_against_baseline"],
            "A combination against the method it adds to, read the same way (< 0 = the addition forgets less):",
        )
    if summary.get("same_rate_against_sft"):
        lines += same_rate_table(summary["same_rate_against_sft"])
    return "\n".join(lines) + "\n"


def same_rate_table(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown lines of the same-rate table: each method minus SFT trained at the same learning rate."""
    lines = [
        "",
        "Against SFT at the same learning rate (paired: method minus SFT; target gain > 0 = learns more, general NLL"
        " rise < 0 = forgets less):",
        "",
        "| method | lr | target gain minus SFT's | general NLL rise minus SFT's |",
        "|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['method']} | {rate_label(row['learning_rate'])} | {cell(row['target_gain_difference'], 3)} | "
            f"{cell(row['general_loss_difference'], 4)} |"
        )
    return lines


def plot(points: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 5))
    for method in dict.fromkeys(p["method"] for p in points):
        mine = sorted((p for p in points if p["method"] == method), key=lambda p: p["learning_rate"])
        x = [p["general_ppl_increase_pct"]["value"] for p in mine]
        y = [p["target_gain"]["value"] for p in mine]
        xerr = [
            [v - p["general_ppl_increase_pct"]["low"] for v, p in zip(x, mine, strict=True)],
            [p["general_ppl_increase_pct"]["high"] - v for v, p in zip(x, mine, strict=True)],
        ]
        yerr = [
            [v - p["target_gain"]["low"] for v, p in zip(y, mine, strict=True)],
            [p["target_gain"]["high"] - v for v, p in zip(y, mine, strict=True)],
        ]
        line = axes.errorbar(x, y, xerr=xerr, yerr=yerr, marker="o", capsize=2, label=method)
        for xi, yi, p in zip(x, y, mine, strict=True):
            axes.annotate(
                rate_label(p["learning_rate"]),
                (xi, yi),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=7,
                color=line[0].get_color(),
            )
    axes.axhline(0, color="grey", linewidth=0.5)
    axes.axvline(0, color="grey", linewidth=0.5)
    axes.set_xlabel("general loss: perplexity change on general text vs base (%)")
    axes.set_ylabel("target gain: held-out gsm_symbolic NLL drop (nats/token)")
    axes.set_title("Forgetting trade-off (95% bootstrap intervals): up and left is better")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
