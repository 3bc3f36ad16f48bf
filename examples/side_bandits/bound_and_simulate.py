"""The lower bound of a side-information bandit, a short simulation of every policy, and the plots.

python examples/side_bandits/bound_and_simulate.py            # ~1 minute on 2 CPU cores
"""

from __future__ import annotations

import math

from hfplug_side_bandits import POLICIES, lower_bound, save_results, simulate
from hfplug_side_bandits.plots import plot_rates, plot_regret

INF = math.inf
# Arm 0 is best; arm 3 has a low mean but reveals every arm with std 0.5 (precision 4 per pull).
MEANS = [1.0, 0.8, 0.7, 0.0]
SIGMA = [[1, INF, INF, INF], [INF, 1, INF, INF], [INF, INF, 1, INF], [0.5, 0.5, 0.5, 0.5]]

bound = lower_bound(MEANS, SIGMA)
print(f"C* = {bound.value:.3f}; rates c* = {[round(float(r), 2) for r in bound.rates]}")

results = [simulate(policy, MEANS, SIGMA, horizon=5_000, seeds=8, progress=False) for policy in POLICIES]
for result in results:
    summary = result.summary()
    print(
        f"{result.policy:12s} R_T / log T = {summary['regret_over_log']:.2f} +- {summary['regret_over_log_ci95']:.2f}"
    )

folder = save_results(results, "outputs/side_bandits/example", overwrite=True)  # `hfplug push` it to the Hub
plot_regret(results, folder.parent / "example_regret.png")
plot_rates(results, folder.parent / "example_rates.png")
print(f"saved {folder} and the plots beside it")
