"""LP tracking [ours, OSSB-style after Combes, Magureanu and Proutiere 2017]: explore at the rates of
the lower-bound LP solved at the estimated means, exploit once the gathered precision passes the test.

Each round, on each seed, in this order:

1. **First observation**: an arm never observed yet is observed by its most precise action.
2. **Exploitation test**: with ``i`` the estimated best arm, exploit (play ``i``) when every other arm
   ``j`` is ruled out at level ``(1 + gamma) log t``. ``"arm_precision"`` is the spec's rule
   ``Delta_j**2 / 2 * P_j >= (1 + gamma) log t``; ``"pairwise_glr"`` [ours] uses the Gaussian
   likelihood-ratio statistic ``Delta_j**2 / 2 * P_i P_j / (P_i + P_j)`` (the cost of moving both means
   to meet), which also checks the best arm's own precision ``P_i``, needed when it does not observe
   itself. ``"auto"`` (default) [ours] tests exactly the LP's constraints at the gathered precisions:
   ``P_j`` when the estimated best arm observes itself (its own precision then grows linearly), else
   ``P_i`` for arms it observes and the pairwise statistic for the others; so reaching the LP's targets
   passes the test.
3. **Forced exploration**: an arm whose precision is below ``s(t)``, a schedule growing slower than
   ``log t`` [spec], is observed by its most precise action (the least precise such arm first). This
   keeps every estimate consistent at a cost of ``o(log T)`` regret.
4. **Catch-up** [ours]: the LP assumes the estimated best arm ``i`` is the most precisely known one (it
   will be, once exploited); while another arm has more precision and ``i`` observes itself, play ``i``.
   Without this, a tiny estimated gap sends tracking to pull the runner-up thousands of times while the
   leader's own estimate, from a handful of pulls, is the real uncertainty.
5. **Tracking**: solve the LP at the estimated means (gaps floored at ``gap_floor``) and play the
   suboptimal arm ``i`` with the smallest ``N_i / c_i``; when every such arm already has
   ``N_i >= (1 + gamma) c_i log t`` (or the LP asks for none), play the estimated best arm [ours].

Warm start [ours]: the LP is solved at every tracking round, reusing the previous optimal basis while
it stays optimal (exact; see :mod:`hfplug_side_bandits.warm_start`); HiGHS runs only when it does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hfplug_side_bandits.estimates import Estimates
from hfplug_side_bandits.policies.base import Policy, require, require_positive
from hfplug_side_bandits.warm_start import RateSolver

EXPLOITATION_TESTS = ("auto", "pairwise_glr", "arm_precision")
SCHEDULES = ("sqrt_log", "log_over_loglog")


@dataclass
class LPTrackingConfig:
    """Every constant of the LP-tracking policy; all defaults are [ours] (the paper's were not readable)."""

    gamma: float = field(
        default=0.0,
        metadata={"help": "Margin: exploit at (1 + gamma) log t, track to (1 + gamma) c_i log t. >= 0."},
    )
    exploitation_test: str = field(
        default="auto",
        metadata={
            "help": "'pairwise_glr' (both arms' precisions), 'arm_precision' (the spec's rule), or 'auto': "
            "arm_precision when the estimated best arm observes itself, else pairwise_glr (the LP's own constraints)."
        },
    )
    forced_exploration_scale: float = field(
        default=1.0, metadata={"help": "epsilon in s(t) = epsilon * sqrt(log t) (precision units). >= 0."}
    )
    forced_exploration_schedule: str = field(
        default="sqrt_log", metadata={"help": "'sqrt_log': sqrt(log t); 'log_over_loglog': log t / log log t."}
    )
    best_arm_catch_up: bool = field(
        default=True,
        metadata={
            "help": "In a tracking round, play the estimated best arm first while some other arm has more "
            "precision than it (when it observes itself): the LP assumes its mean is the best known one."
        },
    )
    gap_floor: float = field(
        default=1e-3, metadata={"help": "Estimated gaps below this are raised to it before the LP (keeps it finite)."}
    )
    lp_refresh_tolerance: float = field(
        default=0.02,
        metadata={
            "help": "When the best arm does not observe itself (no basis reuse), keep the last rates until a gap "
            "moves by more than this (relative); 0 re-solves every tracking round (each solve is ~20 LPs)."
        },
    )

    def __post_init__(self) -> None:
        require(math.isfinite(self.gamma) and self.gamma >= 0, "gamma must be a finite number >= 0.")
        require(
            self.exploitation_test in EXPLOITATION_TESTS,
            f"exploitation_test must be one of {EXPLOITATION_TESTS}, got {self.exploitation_test!r}.",
        )
        require(
            self.forced_exploration_schedule in SCHEDULES,
            f"forced_exploration_schedule must be one of {SCHEDULES}, got {self.forced_exploration_schedule!r}.",
        )
        require(
            math.isfinite(self.forced_exploration_scale) and self.forced_exploration_scale >= 0,
            "forced_exploration_scale must be a finite number >= 0.",
        )
        require_positive(self.gap_floor, "gap_floor")
        require(self.lp_refresh_tolerance >= 0, "lp_refresh_tolerance must be >= 0.")


def forced_exploration_level(config: LPTrackingConfig, t: int) -> float:
    """``s(t)``: the precision below which an arm is explored whatever the LP says."""
    log_t = math.log(t)
    if config.forced_exploration_schedule == "sqrt_log":
        return config.forced_exploration_scale * math.sqrt(log_t)
    return config.forced_exploration_scale * log_t / max(1.0, math.log(max(log_t, 1.0)))


ARM, BEST_ARM, PAIR = 0, 1, 2


def auto_test_modes(precision: np.ndarray) -> np.ndarray:
    """``modes[b, j]``: which precision the "auto" test uses for arm ``j`` when ``b`` is the estimated best
    arm: ``ARM`` (``P_j``) if ``b`` observes itself, else ``BEST_ARM`` (``P_b``) if ``b`` observes ``j`` or
    some action observes ``j`` exactly, else ``PAIR`` (``P_b P_j / (P_b + P_j)``); the LP's constraints."""
    pinned = (precision > 0) | np.isinf(precision).any(axis=0)[None, :]
    modes = np.where(pinned, BEST_ARM, PAIR)
    observes_itself = (precision.diagonal() > 0) | np.isinf(precision).any(axis=0)
    modes[observes_itself] = ARM
    return modes


def floored_gaps(means: np.ndarray, best: int, floor: float) -> np.ndarray:
    """Estimated gaps of one seed, every suboptimal one at least ``floor``, the best arm's 0."""
    gaps = np.maximum(means[best] - means, floor)
    gaps[best] = 0.0
    return gaps


class LPTracking(Policy):
    """The asymptotically optimal policy: see the module docstring for the five branches."""

    name = "lp_tracking"
    config_class = LPTrackingConfig

    def start(self, instance, n_seeds: int) -> None:
        super().start(instance, n_seeds)
        self._auto_mode = auto_test_modes(instance.precision)
        self._observes_itself = (instance.precision.diagonal() > 0) | np.isinf(instance.precision).any(axis=0)
        self._solvers = [RateSolver(instance.precision, self.config.lp_refresh_tolerance) for _ in range(n_seeds)]
        self._counts = {"first_observation": 0, "exploit": 0, "forced": 0, "catch_up": 0, "track": 0, "track_best": 0}

    def select(self, t: int, estimates: Estimates, pulls: np.ndarray, draws: np.ndarray | None) -> np.ndarray:
        precision = estimates.precision
        means = estimates.means
        unobserved, first = self.unobserved(precision)
        rows = np.arange(len(means))
        best = np.argmax(means, axis=1)
        gaps = means[rows, best][:, None] - means
        effective = precision
        if self.config.exploitation_test != "arm_precision":
            pairwise = _series_precision(precision[rows, best][:, None], precision)
            if self.config.exploitation_test == "auto":
                mode = self._auto_mode[best]
                own = np.broadcast_to(precision[rows, best][:, None], precision.shape)
                pairwise = np.where(mode == ARM, precision, np.where(mode == BEST_ARM, own, pairwise))
            effective = pairwise
        with np.errstate(invalid="ignore"):  # 0 * inf where a gap is 0 and the precision infinite
            statistic = np.nan_to_num(gaps**2 / 2.0 * effective, nan=0.0)
        statistic[rows, best] = np.inf
        log_t = math.log(t)
        exploit = ~unobserved & (statistic.min(axis=1) >= (1.0 + self.config.gamma) * log_t)
        starved = precision < forced_exploration_level(self.config, t)
        forced = ~unobserved & ~exploit & starved.any(axis=1)
        neediest = np.where(starved, precision, np.inf).argmin(axis=1)
        actions = np.where(unobserved, first, np.where(exploit, best, self.explorer[neediest]))
        tracking_rounds = ~unobserved & ~exploit & ~forced
        if self.config.best_arm_catch_up:
            others = np.where(np.arange(precision.shape[1]) == best[:, None], -np.inf, precision)
            behind = self._observes_itself[best] & (precision[rows, best] < others.max(axis=1))
            catch_up = tracking_rounds & behind
            actions = np.where(catch_up, best, actions)
            tracking_rounds &= ~behind
            self._counts["catch_up"] += int(catch_up.sum())
        tracking = np.flatnonzero(tracking_rounds)
        target = (1.0 + self.config.gamma) * log_t
        for seed in tracking:
            gaps_seed = floored_gaps(means[seed], int(best[seed]), self.config.gap_floor)
            rates = self._solvers[seed].rates(gaps_seed, int(best[seed]))
            actions[seed] = tracked_arm(rates, pulls[seed], int(best[seed]), target)
        self._counts["track_best"] += int((actions[tracking] == best[tracking]).sum())
        self._counts["first_observation"] += int(unobserved.sum())
        self._counts["exploit"] += int(exploit.sum())
        self._counts["forced"] += int(forced.sum())
        self._counts["track"] += len(tracking)
        return actions

    def stats(self) -> dict[str, Any]:
        return {
            **self._counts,
            "lp_full_solves": sum(solver.full_solves for solver in self._solvers),
            "lp_basis_reused": sum(solver.reused for solver in self._solvers),
        }


def tracked_arm(rates: np.ndarray, pulls: np.ndarray, best: int, target: float) -> int:
    """The suboptimal arm furthest behind its rate (smallest ``N_i / c_i``), or ``best`` when all have
    reached ``target * c_i`` or none has a positive rate."""
    with np.errstate(divide="ignore"):
        ratio = np.where(rates > 0, pulls / np.where(rates > 0, rates, 1.0), np.inf)
    ratio[best] = np.inf
    arm = int(np.argmin(ratio))
    return best if ratio[arm] >= target else arm


def _series_precision(best: np.ndarray, other: np.ndarray) -> np.ndarray:
    """``P_b P_j / (P_b + P_j)``, with an infinite precision leaving the other one."""
    with np.errstate(invalid="ignore", divide="ignore"):
        combined = best * other / (best + other)
    combined = np.where(np.isinf(best), other, combined)
    combined = np.where(np.isinf(other), np.broadcast_to(best, combined.shape), combined)
    return np.nan_to_num(combined, nan=0.0)
