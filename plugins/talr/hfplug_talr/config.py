"""``TALRConfig``: trl's ``SFTConfig`` plus the TALR weighting knobs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from trl import SFTConfig

from hfplug.errors import ConfigError
from hfplug.trainers.machine_defaults import MachineDefaults

TAU_FROM_CHOICES = ("sequence", "token")
NORMALIZE_CHOICES = ("none", "simplex")
TAU_SCOPE_CHOICES = ("micro_batch", "step")


@dataclass
class TALRConfig(MachineDefaults, SFTConfig):
    """Configuration for :class:`~hfplug_talr.trainer.TALRTrainer`.

    Every field of ``SFTConfig`` works as usual. The TALR fields below choose how the per-token
    weights ``w = max(exp(-nll / tau) * scale, w_min)`` are built; the paper leaves most of them
    unspecified, so each default is marked [paper] or [ours] in the plugin README.
    """

    tau: float | None = field(
        default=None,
        metadata={
            "help": "Temperature of the weights. None (default): the median loss of the batch, recomputed every "
            "step [paper]. A number fixes it; tau=1 with normalize='none' is DFT (weight = detached token "
            "probability); a very large tau gives plain mean cross-entropy."
        },
    )
    tau_from: str = field(
        default="sequence",
        metadata={
            "help": "What the median that sets tau is taken over: 'sequence' (per-sequence mean response-token "
            "losses, as in the public reimplementation) or 'token' (individual token losses). Only valid "
            "(non-prompt, non-padding) tokens count."
        },
    )
    w_min: float = field(
        default=0.01,
        metadata={
            "help": "Floor on every weight, so no token is ignored entirely. With normalize='simplex' it is in "
            "units of the uniform weight (the weights sum to 1 and each is >= w_min / n_tokens)."
        },
    )
    normalize: str = field(
        default="none",
        metadata={
            "help": "'none' (default): w = max(p^(1/tau), w_min), loss = sum(w * nll) / n_valid_tokens. "
            "'simplex': w = softmax(-nll / tau) over the batch's valid tokens, floored and renormalised so the "
            "weights still sum to 1, loss = sum(w * nll)."
        },
    )
    tau_scope: str = field(
        default="micro_batch",
        metadata={
            "help": "Which tokens 'the batch' means for the median (and the simplex normalisation). "
            "'micro_batch' (default): the tokens of one forward pass; free, but with gradient accumulation a "
            "dynamic tau differs from the one a single large batch would give. 'step': all micro-batches of one "
            "optimizer step on this process; exact equivalence with a large batch, at the cost of one extra "
            "no-grad forward per micro-batch when gradient_accumulation_steps > 1."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_talr_fields(self)


def check_talr_fields(config: TALRConfig) -> None:
    """Raise :class:`ConfigError` naming the first TALR field whose value cannot be used."""
    if config.tau is not None and not (math.isfinite(config.tau) and config.tau > 0):
        raise ConfigError(f"TALRConfig.tau must be a positive finite number or None (dynamic), got {config.tau!r}.")
    if config.tau_from not in TAU_FROM_CHOICES:
        raise ConfigError(f"TALRConfig.tau_from must be one of {TAU_FROM_CHOICES}, got {config.tau_from!r}.")
    if config.normalize not in NORMALIZE_CHOICES:
        raise ConfigError(f"TALRConfig.normalize must be one of {NORMALIZE_CHOICES}, got {config.normalize!r}.")
    if config.tau_scope not in TAU_SCOPE_CHOICES:
        raise ConfigError(f"TALRConfig.tau_scope must be one of {TAU_SCOPE_CHOICES}, got {config.tau_scope!r}.")
    if not (0.0 <= config.w_min <= 1.0):
        raise ConfigError(f"TALRConfig.w_min must be in [0, 1], got {config.w_min!r}.")
    if config.loss_type != "nll":
        raise ConfigError(
            f"TALRConfig.loss_type={config.loss_type!r}: TALR replaces the SFT loss, so loss_type must stay 'nll' "
            "(DFT is the special case tau=1, normalize='none', w_min=0)."
        )
    if config.label_smoothing_factor > 0:
        raise ConfigError("TALRConfig.label_smoothing_factor must be 0: TALR weights the plain token cross-entropy.")
    if config.tau_from == "sequence" and config.tau is None and (config.packing or config.padding_free):
        raise ConfigError(
            "TALRConfig.tau_from='sequence' needs one sequence per row, but packing/padding_free puts several "
            "sequences in one row; set tau_from='token' or turn packing and padding_free off."
        )
