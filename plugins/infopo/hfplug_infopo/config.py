"""``InfoPOConfig``: trl's ``DPOConfig`` plus the InfoPO loss knobs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from trl import DPOConfig

from hfplug.errors import ConfigError
from hfplug.trainers.machine_defaults import MachineDefaults
from hfplug_infopo.losses import VARIANTS


@dataclass
class InfoPOConfig(MachineDefaults, DPOConfig):
    """Configuration for :class:`~hfplug_infopo.trainer.InfoPOTrainer`.

    Every ``DPOConfig`` field works as usual (reference model handling, ``precompute_ref_log_probs``,
    ``max_length``, ...). InfoPO replaces DPO's loss, so the fields that only shape DPO's loss
    (``loss_type``, ``loss_weights``, ``ld_alpha``, ``f_divergence_type``, ``label_smoothing``,
    ``use_weighting``) must keep their defaults. Which defaults come from the paper is listed in the README.
    """

    infopo_variant: str = field(
        default="nwj",
        metadata={
            "help": "Per-pair loss. 'nwj' (default): -beta*r_w + exp(beta*r_l - 1), the NWJ mutual-information bound "
            "with critic beta*r. 'shifted': -(1 + beta*r_w) + exp(beta*r_l), the same bound with critic beta*r + 1. "
            "'ukl': -r_w + exp(r_l), the UKL loss of the authors' DIL code (beta unused). r = log pi - log pi_ref.",
            "choices": list(VARIANTS),
        },
    )
    beta: float = field(
        default=0.1,
        metadata={
            "help": "Temperature of the critic T = beta * r (the weight of the chosen term and the scale inside the "
            "rejected exponential). Must be > 0. Not used by infopo_variant='ukl' except in the logged rewards."
        },
    )
    infopo_length_average: bool = field(
        default=False,
        metadata={
            "help": "Use per-token mean log-probabilities (sum over the completion divided by its length) instead of "
            "sequence sums in the log-ratios r, for the policy and the reference alike. The authors' DIL code "
            "averages; DPO sums."
        },
    )

    def __post_init__(self) -> None:
        check_infopo_fields(self)
        super().__post_init__()


# DPOConfig fields that only shape DPO's own loss, with the value that leaves InfoPO's loss untouched.
DPO_ONLY_FIELDS = {
    "loss_type": (["sigmoid"], "sigmoid"),
    "loss_weights": (None, None),
    "ld_alpha": (None, None),
    "f_divergence_type": ("reverse_kl", "reverse_kl"),
    "label_smoothing": (0.0, 0.0),
    "use_weighting": (False, False),
}


def check_infopo_fields(config: InfoPOConfig) -> None:
    """Raise :class:`ConfigError` naming the first field whose value InfoPO cannot use."""
    if config.infopo_variant not in VARIANTS:
        raise ConfigError(f"InfoPOConfig.infopo_variant must be one of {VARIANTS}, got {config.infopo_variant!r}.")
    if not (isinstance(config.beta, int | float) and math.isfinite(config.beta) and config.beta > 0):
        raise ConfigError(f"InfoPOConfig.beta must be a positive finite number, got {config.beta!r}.")
    for name, allowed in DPO_ONLY_FIELDS.items():
        value = getattr(config, name)
        if value not in allowed:
            raise ConfigError(
                f"InfoPOConfig.{name}={value!r}: this DPOConfig field only changes DPO's loss, which InfoPO replaces; "
                f"leave it at {allowed[0]!r} (use infopo_variant to choose the InfoPO loss)."
            )
