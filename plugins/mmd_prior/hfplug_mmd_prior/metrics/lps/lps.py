"""Latent Predictability Score (LPS) as an ``evaluate`` module (arXiv:2510.11953).

Load it offline from the folder this file is in::

    import evaluate, hfplug
    lps = evaluate.load(hfplug.load("metric", "lps"))
    lps.compute(latents=z)                       # {"lps": ..., "r2_per_dim": [...], ...}
    lps.compute(latents=z, regressor="gbm", seed=1, test_fraction=0.3, max_samples=5000)

The computation is :func:`hfplug_mmd_prior.predictability.predictability_report`, so the module
and the Python API always agree.
"""

import datasets
import evaluate
from hfplug_mmd_prior.predictability import DEFAULT_MAX_SAMPLES, DEFAULT_TEST_FRACTION, predictability_report

_DESCRIPTION = """
For every latent dimension i, a regressor learns z_i from the other dimensions on a training split and is scored
by R^2 on a held-out split; LPS is the mean R^2. 0: no dimension can be predicted from the rest (independent
factors); 1: each is a function of the others. Non-linear regressors are essential: z2 = z1^2 - 1 has zero
covariance but LPS 0.5 with an MLP or gradient boosting.
"""

_KWARGS_DESCRIPTION = """
Args:
    latents: one latent vector per example (all of the same length d >= 2).
    regressor: "mlp" (default), "gbm" (histogram gradient boosting, the LightGBM algorithm) or "linear"
        (comparison only: blind to non-linear dependence).
    seed: fixes the subsample, the split and the regressor (default 0).
    test_fraction: share of the samples held out for R^2 (default 0.3).
    max_samples: at most this many examples are used, drawn at random (default 5000; None for all).
    regressor_kwargs: scikit-learn arguments that override the defaults.
Returns:
    lps: mean held-out R^2 over dimensions; r2_per_dim: one R^2 per dimension (NaN for a constant one);
    constant_dims, n_train, n_test, regressor.
Examples:
    >>> lps = evaluate.load("path/to/lps")
    >>> lps.compute(latents=[[0.1, 0.3], [0.2, -0.1], ...], regressor="gbm")
"""

_CITATION = """
@article{mmdprior2025,
  title={Sculpting Latent Spaces With MMD: Disentanglement With Programmable Priors},
  journal={arXiv preprint arXiv:2510.11953},
  year={2025}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class LPS(evaluate.Metric):
    """The Latent Predictability Score of a set of latent vectors."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"latents": datasets.Sequence(datasets.Value("float64"))}),
            reference_urls=["https://arxiv.org/abs/2510.11953"],
        )

    def _compute(
        self,
        latents,
        regressor="mlp",
        seed=0,
        test_fraction=DEFAULT_TEST_FRACTION,
        max_samples=DEFAULT_MAX_SAMPLES,
        regressor_kwargs=None,
    ):
        report = predictability_report(
            [list(row) for row in latents],
            regressor,
            seed,
            test_fraction=test_fraction,
            max_samples=max_samples,
            regressor_kwargs=regressor_kwargs,
        )
        return report.as_dict()
