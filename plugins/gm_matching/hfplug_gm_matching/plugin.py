"""Registration of the ``gm_matching`` data transform (lazy references only: no torch import here)."""

from __future__ import annotations

import hfplug


@hfplug.hookimpl
def hfplug_register(registry) -> None:
    registry.data(
        "gm_matching",
        "hfplug_gm_matching.transform:gm_matching",
        config="hfplug_gm_matching.config:GMMatchingConfig",
        summary="Keep k rows whose embedding mean matches the geometric median (robust to corrupted rows); "
        "baselines: herding, random, moderate, easy, hard.",
        paper="arXiv:2504.00564",
    )
