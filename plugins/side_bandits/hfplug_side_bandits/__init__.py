"""Gaussian bandits with general side information (arXiv:2505.10698): the LP lower bound, an LP-tracking
policy, UCB1 / UCB-N / Thompson baselines and a vectorised simulator.

    from hfplug_side_bandits import lower_bound, simulate
    bound = lower_bound(means, sigma)          # bound.value = C*, bound.rates = c*
    results = simulate("lp_tracking", means, sigma, horizon=10_000, seeds=20)
"""

from hfplug_side_bandits.bound import Bound, lower_bound
from hfplug_side_bandits.instance import Instance, make_instance
from hfplug_side_bandits.instances import INSTANCES, named_instance
from hfplug_side_bandits.policies import POLICIES, LPTracking, LPTrackingConfig, Policy, make_policy
from hfplug_side_bandits.results import Results, load_results, push_results, results_dataset, save_results
from hfplug_side_bandits.simulator import simulate

__version__ = "0.1.0"

__all__ = [
    "INSTANCES",
    "POLICIES",
    "Bound",
    "Instance",
    "LPTracking",
    "LPTrackingConfig",
    "Policy",
    "Results",
    "__version__",
    "load_results",
    "lower_bound",
    "make_instance",
    "make_policy",
    "named_instance",
    "push_results",
    "results_dataset",
    "save_results",
    "simulate",
]
