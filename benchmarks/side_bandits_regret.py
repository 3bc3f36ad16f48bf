"""R_T / log T of every side-bandit policy against the lower bound C*, and simulator throughput.

1. Tuning (held out): on the ``tuning`` instance (T = --tune-horizon, --tune-seeds seeds) each policy
   tries 3 values of its one main constant (the same budget for all); the value with the lowest mean
   regret is kept. The reported instances are never used for tuning.
2. Report: on ``revealer``, ``graph_star`` and ``blind_best`` (an informative arm with a low mean reveals
   the others), every policy runs T = --horizon rounds on --seeds seeds (the same noise for every policy:
   common random numbers). R_t / log t with 95% CIs at T/100, T/10 and T, next to C*.
3. Throughput: seed-rounds per second of the vectorised simulator (20 seeds at once) against the plain
   Python loop (hfplug_side_bandits.reference) on the same instance, measured in this run.

    nice -n 10 python benchmarks/side_bandits_regret.py            # T = 1e5, 20 seeds (~30 min on 2 busy cores)
    python benchmarks/side_bandits_regret.py --horizon 5000 --seeds 4 --tune-horizon 2000 --tune-seeds 4  # smoke
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
from hfplug_side_bandits import load_results, lower_bound, named_instance, save_results, simulate
from hfplug_side_bandits.plots import plot_rates, plot_regret
from hfplug_side_bandits.reference import simulate_reference
from hfplug_side_bandits.results import mean_and_half_width

TUNING_GRID = {
    "lp_tracking": ("gamma", [0.0, 0.1, 0.3]),
    "ucb1": ("exploration", [0.5, 1.0, 2.0]),
    "ucb_n": ("exploration", [0.5, 1.0, 2.0]),
    "thompson": ("posterior_scale", [0.5, 1.0, 2.0]),
}
REPORTED = ["revealer", "graph_star", "blind_best"]


def tune(horizon: int, seeds: int) -> dict[str, dict[str, float]]:
    instance = named_instance("tuning")
    chosen = {}
    for policy, (key, values) in TUNING_GRID.items():
        scores = {}
        for value in values:
            result = simulate(
                policy, instance.means, instance.sigma, horizon, seeds, options={key: value}, progress=False
            )
            scores[value] = float(result.final_regret.mean())
        best = min(scores, key=scores.get)
        chosen[policy] = {key: best}
        print(f"tune {policy}: {key} -> {best}  (mean R_T: {', '.join(f'{v}: {s:.1f}' for v, s in scores.items())})")
    return chosen


def ratio_at(result, rounds: int) -> tuple[float, float]:
    column = int(np.searchsorted(result.rounds, rounds))
    return mean_and_half_width(result.regret[:, column] / math.log(result.rounds[column]))


def slope_over_last_decade(result) -> tuple[float, float]:
    """``(R_T - R_{T/10}) / log 10``: regret per unit of log t over the last decade, a sharper estimate of
    the asymptotic constant than ``R_T / log T`` (which carries the early rounds' regret)."""
    start = int(np.searchsorted(result.rounds, result.horizon // 10))
    span = math.log(result.rounds[-1]) - math.log(result.rounds[start])
    return mean_and_half_width((result.regret[:, -1] - result.regret[:, start]) / span)


def rows_of(name: str, results: list, bound_value: float) -> list[dict]:
    horizon = results[0].horizon
    rounds = sorted({max(horizon // 100, 2), max(horizon // 10, 2), horizon})
    rows = []
    for result in results:
        row = {"instance": name, "policy": result.policy, "C*": bound_value, "stats": result.stats}
        for t in rounds:
            row[f"R/logT@{t}"] = ratio_at(result, t)
        row["slope"] = slope_over_last_decade(result)
        row["N_i(T)/log T"] = (result.pulls[:, -1, :].mean(axis=0) / math.log(horizon)).round(2).tolist()
        rows.append(row)
    return rows


def report(name: str, options: dict, horizon: int, seeds: int, output: Path) -> list[dict]:
    instance = named_instance(name)
    bound = lower_bound(instance.means, instance.sigma)
    results = []
    for policy in TUNING_GRID:
        if policy == "ucb1" and any(math.isinf(instance.sigma[i][i]) for i in range(len(instance.means))):
            print(f"{name}: ucb1 skipped (an arm does not observe its own reward)")
            continue
        started = time.perf_counter()
        result = simulate(
            policy,
            instance.means,
            instance.sigma,
            horizon,
            seeds,
            options=options[policy],
            checkpoints=40,
            progress=False,
        )
        result.stats["seconds"] = time.perf_counter() - started
        results.append(result)
        print(f"{name} {policy}: R_T/log T = {ratio_at(result, horizon)[0]:.2f}", flush=True)
    folder = output / name
    save_results(results, folder / "results", overwrite=True)
    plot_regret(results, folder / "regret.png", title=f"{name}: {seeds} seeds, 95% CI")
    plot_rates(results, folder / "rates.png", title=f"{name}: N_i(T)/log T vs c*")
    print(f"{name}: C* = {bound.value:.3f}, c* = {np.round(bound.rates, 2).tolist()}")
    return rows_of(name, results, bound.value)


def rows_from_saved(output: Path) -> list[dict]:
    """The table rows of a finished run, from its saved results (``--from-saved``)."""
    rows = []
    for name in REPORTED:
        results = load_results(output / name / "results")
        bound = lower_bound(results[0].instance.means, results[0].instance.sigma)
        rows += rows_of(name, results, bound.value)
    return rows


def throughput(horizon: int) -> dict[str, float]:
    instance = named_instance("revealer")
    out = {}
    for policy in ("ucb_n", "lp_tracking"):
        started = time.perf_counter()
        simulate(policy, instance.means, instance.sigma, horizon, 20, progress=False)
        vectorised = 20 * horizon / (time.perf_counter() - started)
        started = time.perf_counter()
        for seed in range(2):
            simulate_reference(policy, instance.means, instance.sigma, horizon, seed)
        loop = 2 * horizon / (time.perf_counter() - started)
        out[policy] = {
            "vectorised_seed_rounds_per_s": vectorised,
            "loop_seed_rounds_per_s": loop,
            "ratio": vectorised / loop,
        }
        print(
            f"throughput {policy}: vectorised {vectorised:.0f} seed-rounds/s, loop {loop:.0f}, "
            f"ratio {vectorised / loop:.1f}x"
        )
    return out


def markdown(rows: list[dict], horizon: int) -> str:
    keys = [k for k in rows[0] if k.startswith("R/logT@")]
    header = "| instance | C* | policy | " + " | ".join(f"R_T/log T, T={k.split('@')[1]}" for k in keys)
    header += f" | (R_T - R_T/10) / log 10, T={horizon} |"
    lines = [header, "|" + "---|" * (4 + len(keys))]
    for row in rows:
        cells = " | ".join(f"{row[k][0]:.2f} ± {row[k][1]:.2f}" for k in [*keys, "slope"])
        lines.append(f"| {row['instance']} | {row['C*']:.2f} | {row['policy']} | {cells} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizon", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--tune-horizon", type=int, default=10_000)
    parser.add_argument("--tune-seeds", type=int, default=10)
    parser.add_argument("--throughput-horizon", type=int, default=10_000)
    parser.add_argument("--output", type=Path, default=Path("outputs/side_bandits_benchmark"))
    parser.add_argument("--from-saved", action="store_true", help="Rebuild the table from a finished run's results.")
    args = parser.parse_args()
    if args.from_saved:
        rows = rows_from_saved(args.output)
        print(markdown(rows, int(json.loads((args.output / "summary.json").read_text())["args"]["horizon"])))
        return
    started = time.perf_counter()
    options = tune(args.tune_horizon, args.tune_seeds)
    rows = [row for name in REPORTED for row in report(name, options, args.horizon, args.seeds, args.output)]
    speed = throughput(args.throughput_horizon)
    table = markdown(rows, args.horizon)
    print(table)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "table.md").write_text(table + "\n")
    summary = {
        "options": options,
        "rows": rows,
        "throughput": speed,
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    (args.output / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    print(f"total {time.perf_counter() - started:.0f} s; wrote {args.output}")


if __name__ == "__main__":
    main()
