"""Markdown tables and the likelihood plot from ``results.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def ci(estimate: dict[str, float], digits: int = 3) -> str:
    return f"{estimate['value']:.{digits}f} [{estimate['low']:.{digits}f}, {estimate['high']:.{digits}f}]"


def toy_table(toy: dict[str, Any]) -> list[str]:
    lines = [
        "### Toy: tiny Llama, chosen and rejected share every token but the number",
        "",
        "Change of the mean per-token log-likelihood on the training pairs, end minus start (mean over seeds, "
        "95% bootstrap CI over seeds); 'runs with a drop': runs whose chosen log-likelihood went more than 0.01 "
        "below its start at some probe.",
        "",
        "| learning rate | method | chosen change | rejected change | lowest chosen change | runs with a drop |",
        "|---|---|---|---|---|---|",
    ]
    for lr, by_method in toy["summary"].items():
        for name, s in by_method.items():
            lines.append(
                f"| {lr} | {name} | {ci(s['chosen_change'])} | {ci(s['rejected_change'])} | "
                f"{ci(s['lowest_chosen_change'])} | {s['runs_with_chosen_drop']}/{s['runs']} |"
            )
    lines.append(f"\nToy wall time: {toy['seconds']:.0f} s.")
    return lines


def smollm2_tables(run: dict[str, Any]) -> list[str]:
    splits = run["splits"]
    lines = [
        "### SmolLM2-135M-Instruct, TruthfulQA-MC1 pairs",
        "",
        f"Questions: {splits['train']} train ({run['training_pairs']} pairs), {splits['val']} validation "
        f"(tuning), {splits['test']} test. Tuning grid (same for both): learning rates "
        f"{sorted({r['learning_rate'] for r in run['runs'].values()})}.",
        "",
        "| run | steps | train s | val preference acc. | val likelihood pair acc. | val MC1 acc. | "
        "val chosen log-lik. change |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, r in run["runs"].items():
        chosen = " (selected)" if key in run["selected"].values() else ""
        lines.append(
            f"| {key}{chosen} | {r['steps']} | {r['train_seconds']:.0f} | {ci(r['val']['preference_accuracy'])} | "
            f"{ci(r['val']['likelihood_pair_accuracy'])} | {ci(r['val']['mc1_accuracy'])} | "
            f"{ci(r['val']['chosen_loglik_change'])} |"
        )
    lines += [
        "",
        "Test questions (95% bootstrap CI over questions):",
        "",
        "| model | preference accuracy | likelihood pair accuracy | MC1 accuracy | "
        "chosen log-lik. change (nats/token) |",
        "|---|---|---|---|---|",
    ]
    for name, m in run["test"].items():
        label = f"{name} ({run['selected'][name]})" if name in run["selected"] else name
        lines.append(
            f"| {label} | {ci(m['preference_accuracy'])} | {ci(m['likelihood_pair_accuracy'])} | "
            f"{ci(m['mc1_accuracy'])} | {ci(m['chosen_loglik_change'])} |"
        )
    d = run["test_difference_infopo_minus_dpo"]
    lines.append(
        f"| InfoPO - DPO (paired) | {ci(d['preference_accuracy'])} | {ci(d['likelihood_pair_accuracy'])} | "
        f"{ci(d['mc1_accuracy'])} | {ci(d['chosen_loglik_change'])} |"
    )
    lines.append(f"\nSmolLM2 wall time: {run['seconds']:.0f} s.")
    return lines


def timing_table(timing: dict[str, Any]) -> list[str]:
    lines = [
        "### Step time, InfoPO / DPO, alternating on identical batches in this run",
        "",
        "| model | batch (pairs) | timed steps | DPO s/step | InfoPO s/step | ratio (median of paired ratios) | "
        "95% CI | InfoPO's post-forward work / DPO step |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, t in timing.items():
        lines.append(
            f"| {name} | {t['batch_pairs']} | {t['steps']} | {t['dpo_seconds']:.3f} | {t['infopo_seconds']:.3f} | "
            f"**{t['ratio']:.3f}** | {ci(t['ratio_ci']) if 'ratio_ci' in t else ''} | "
            f"{t.get('post_forward_fraction_of_dpo_step', float('nan')):.2%} |"
        )
    return lines


def write_tables(results: dict[str, Any], path: Path) -> None:
    lines = ["# InfoPO benchmark results", ""]
    if "toy" in results:
        lines += [*toy_table(results["toy"]), ""]
    if "smollm2" in results:
        lines += [*smollm2_tables(results["smollm2"]), ""]
    if "timing" in results:
        lines += [*timing_table(results["timing"]), ""]
    path.write_text("\n".join(lines))


SMOLLM2_BETA = 0.1  # benchmarks.infopo.smollm2.BETA (not imported: the report must not load torch)
COLORS = {"dpo": "tab:red", "infopo": "tab:blue", "infopo-shifted": "tab:cyan", "infopo-ukl": "tab:green"}


def write_plot(results: dict[str, Any], path: Path) -> None:
    """One panel per toy learning rate (chosen log-likelihood change on the training pairs, mean and range over
    seeds), and one for SmolLM2: the chosen log-ratio of each training batch (``rewards/chosen / beta``) in every
    run of the tuning grid (solid: the run tuning selected)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    toy_rates = sorted(results["toy"]["curves"], key=float) if "toy" in results else []
    panels = [("toy", lr) for lr in toy_rates] + ([("smollm2", None)] if "smollm2" in results else [])
    if not panels:
        return
    figure, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.6), squeeze=False)
    for axis, (panel, lr) in zip(axes[0], panels, strict=True):
        if panel == "toy":
            _toy_panel(axis, results["toy"]["curves"][lr], lr)
        else:
            _smollm2_panel(axis, results["smollm2"])
        axis.axhline(0, color="grey", linewidth=0.8)
        axis.set_xlabel("optimizer step")
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=80)


def _toy_panel(axis: Any, curves: dict[str, list], lr: str) -> None:
    for name, runs in curves.items():
        steps = [p["step"] for p in runs[0]]
        changes = [[p["chosen"] - run[0]["chosen"] for p in run] for run in runs]
        columns = list(zip(*changes, strict=True))
        axis.plot(steps, [sum(c) / len(c) for c in columns], color=COLORS.get(name), label=name)
        axis.fill_between(
            steps, [min(c) for c in columns], [max(c) for c in columns], color=COLORS.get(name), alpha=0.15
        )
    axis.set_title(f"toy (tiny Llama), lr {lr}, {len(runs)} seeds", fontsize=9)
    axis.set_ylabel("chosen log-lik. change (nats/token)")


def _smollm2_panel(axis: Any, run: dict[str, Any]) -> None:
    selected = set(run["selected"].values())
    for key, result in run["runs"].items():
        history = result["history"]
        axis.plot(
            [e["step"] for e in history], [e["rewards/chosen"] / SMOLLM2_BETA for e in history],
            color=COLORS.get(result["method"]), linestyle="-" if key in selected else "--", marker="o", markersize=3,
            label=f"{result['method']} lr {result['learning_rate']:g}" + (" (selected)" if key in selected else ""),
        )  # fmt: skip
    axis.set_title("SmolLM2-135M, TruthfulQA-MC1, each training batch", fontsize=9)
    axis.set_ylabel("chosen log pi - log pi_ref (nats/seq)")
