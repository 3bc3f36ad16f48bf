"""Policies by name: ``lp_tracking`` (ours), ``ucb1``, ``ucb_n``, ``thompson``."""

from __future__ import annotations

import difflib
from typing import Any

from hfplug.errors import ConfigError
from hfplug_side_bandits.policies.base import Policy
from hfplug_side_bandits.policies.lp_tracking import LPTracking, LPTrackingConfig
from hfplug_side_bandits.policies.thompson import Thompson, ThompsonConfig
from hfplug_side_bandits.policies.ucb import UCB1, UCBN, UCBConfig

POLICIES: dict[str, type[Policy]] = {cls.name: cls for cls in (LPTracking, UCB1, UCBN, Thompson)}

__all__ = [
    "POLICIES",
    "UCB1",
    "UCBN",
    "LPTracking",
    "LPTrackingConfig",
    "Policy",
    "Thompson",
    "ThompsonConfig",
    "UCBConfig",
    "make_policy",
]


def make_policy(policy: str | Policy, options: dict[str, Any] | None = None) -> Policy:
    """A policy object from a name (with ``options`` for its config) or an existing policy object."""
    if isinstance(policy, Policy):
        if options:
            raise ConfigError("options are for a policy given by name; this policy object already has its config.")
        return policy
    if not isinstance(policy, str) or policy not in POLICIES:
        close = difflib.get_close_matches(str(policy), list(POLICIES), n=2, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ConfigError(f"unknown policy {policy!r}.{hint} Policies: {', '.join(POLICIES)}.")
    return POLICIES[policy](**(options or {}))
