"""The benchmark's output: a Markdown table with bootstrap CIs and a plot of pass@1 against generated tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.murphy_compute.evaluation import bootstrap_ci, paired_difference_ci


def _cell(values: list[float]) -> str:
    mean, low, high = bootstrap_ci(values)
    return f"{100 * mean:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


def markdown_table(results: dict[str, Any]) -> str:
    base = results["base"]
    final = {m: results[m]["curve"][-1]["scores"] for m in ("grpo", "murphy")}
    metrics = [(s, m) for s, scores in base.items() for m in scores]
    header = "| method | generated tokens | steps | " + " | ".join(f"{s} {m} (%)" for s, m in metrics) + " |"
    lines = [header, "|" + "---|" * (len(metrics) + 3)]
    lines.append("| base | 0 | 0 | " + " | ".join(_cell(base[s][m]) for s, m in metrics) + " |")
    for method in ("grpo", "murphy"):
        run = results[method]
        cells = " | ".join(_cell(final[method][s][m]) for s, m in metrics)
        lines.append(f"| {method} | {run['generated_tokens']} | {run['steps']} | {cells} |")
    diffs = []
    for s, m in metrics:
        mean, low, high = paired_difference_ci(final["grpo"][s][m], final["murphy"][s][m])
        diffs.append(f"{100 * mean:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]")
    lines.append("| murphy - grpo (paired) | | | " + " | ".join(diffs) + " |")
    return "\n".join(lines) + "\n\n95% percentile bootstrap over problems (2000 resamples).\n"


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(results["base"])
    figure, axes = plt.subplots(1, len(sets), figsize=(5 * len(sets), 3.6), squeeze=False)
    for axis, name in zip(axes[0], sets, strict=True):
        base = results["base"][name]["pass@1"]
        for method, style in (("grpo", "o-"), ("murphy", "s-")):
            points = [(0, base)] + [
                (p["generated_tokens"], p["scores"][name]["pass@1"]) for p in results[method]["curve"]
            ]
            xs = [x for x, _ in points]
            cis = [bootstrap_ci(v) for _, v in points]
            axis.plot(xs, [100 * c[0] for c in cis], style, label=method)
            axis.fill_between(xs, [100 * c[1] for c in cis], [100 * c[2] for c in cis], alpha=0.15)
        axis.set_xlabel("generated tokens (training)")
        axis.set_ylabel(f"{name} pass@1 (%)")
        axis.set_title(f"{name} ({len(base)} problems)")
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=90)


def write_report(results: dict[str, Any], out: Path) -> str:
    table = markdown_table(results)
    (out / "results.md").write_text(table)
    plot(results, out / "pass_at_1_vs_tokens.png")
    return table
