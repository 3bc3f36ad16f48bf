"""hfplug-mmd-prior: autoencoders with programmable MMD priors, and the Latent Predictability Score.

::

    import hfplug_mmd_prior as mp
    mp.mmd2(x, y, estimator="biased")                       # multi-scale RBF, median bandwidth
    mp.latent_predictability_score(z, regressor="mlp", seed=0)
    mp.covariance_ratio(z)
    model = mp.MMDAutoencoder(latent_dim=12)                # or hfplug.load("model", "mmd_ae")
    prior = mp.build_prior({"name": "uniform"}, dim=12)

Names are imported on first use, so ``import hfplug_mmd_prior`` (and plugin discovery) stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "mmd2": "hfplug_mmd_prior.mmd",
    "median_bandwidth": "hfplug_mmd_prior.mmd",
    "rbf_kernel": "hfplug_mmd_prior.mmd",
    "latent_predictability_score": "hfplug_mmd_prior.predictability",
    "predictability_report": "hfplug_mmd_prior.predictability",
    "covariance_ratio": "hfplug_mmd_prior.statistics",
    "nmse_db": "hfplug_mmd_prior.statistics",
    "MMDAutoencoder": "hfplug_mmd_prior.model",
    "build_prior": "hfplug_mmd_prior.priors",
    "EmpiricalPrior": "hfplug_mmd_prior.priors",
    "FactorizedPrior": "hfplug_mmd_prior.priors",
    "MMDAEConfig": "hfplug_mmd_prior.config",
    "MMDAETrainer": "hfplug_mmd_prior.trainer",
    "encode_dataset": "hfplug_mmd_prior.encoding",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'hfplug_mmd_prior' has no attribute {name!r}")
