"""Settings of the ``gm_matching`` data transform, checked when the config is built (before any data is read)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hfplug.errors import ConfigError, DatasetError
from hfplug_gm_matching.budgets import CLASS_BUDGETS
from hfplug_gm_matching.embed import DEFAULT_ENCODER
from hfplug_gm_matching.herding import ENGINES
from hfplug_gm_matching.selectors import SelectOptions


@dataclass
class GMMatchingConfig:
    """Keep ``k`` rows (or a ``fraction``) of a dataset, chosen by GM Matching or a baseline selector.

    [paper] arXiv:2504.00564; [code] the official repository's defaults; [ours] where both are silent.
    """

    k: int | None = field(default=None, metadata={"help": "Rows to keep. Set exactly one of k and fraction."})
    fraction: float | None = field(
        default=None, metadata={"help": "Share of rows to keep, in (0, 1]; k = round(fraction * n). [paper]"}
    )
    selector: str = field(
        default="gm_matching",
        metadata={"help": "gm_matching [paper], or a baseline: herding (to the mean), random, moderate, easy, hard."},
    )
    metric: str = field(
        default="cosine", metadata={"help": "cosine (rows and center L2-normalised) [code] or euclidean."}
    )
    label_column: str | None = field(
        default=None,
        metadata={"help": "Select per class (own center and budget) by this column [code]; none = one group."},
    )
    class_budget: str = field(
        default="equal",
        metadata={"help": "Per-class budgets: equal [code] (k // classes, the rest to the largest) or proportional."},
    )
    embedding_column: str = field(
        default="embedding", metadata={"help": "Use this column as the embeddings when the dataset has it. [ours]"}
    )
    text_column: str | None = field(
        default=None,
        metadata={
            "help": "Text to embed when there is no embedding column; default text, prompt+completion or "
            "messages. [ours]"
        },
    )
    encoder: str = field(
        default=DEFAULT_ENCODER,
        metadata={
            "help": "Sentence encoder: asset:all-minilm-l6-v2 (offline) [ours], a model folder or Hub id, "
            "or model:NAME (a registered model with encode(texts))."
        },
    )
    encoder_batch_size: int = field(default=64, metadata={"help": "Texts per encoder call (datasets.map batch)."})
    max_length: int = field(default=256, metadata={"help": "Token limit per text (all-MiniLM-L6-v2's own: 256)."})
    seed: int | None = field(
        default=None,
        metadata={
            "help": "Seed of random choices (random selector, batches, init, subsample); default: the run's seed."
        },
    )
    batches: int = field(
        default=1, metadata={"help": "B > 1: herd B random partitions separately (the paper's scalable variant)."}
    )
    init: str = field(
        default="center", metadata={"help": "theta_0: center (the target) [paper] or random (a random row) [code]."}
    )
    unit_center: bool = field(
        default=True,
        metadata={
            "help": "cosine: scale the center to unit norm [code]. A unit center lies outside the hull of unit "
            "rows, so herding drifts to the rows most aligned with it; false matches the unit rows' center. [ours]"
        },
    )
    gm_eps: float = field(default=1e-5, metadata={"help": "Weiszfeld stops when a step moves less than this [code]."})
    gm_max_iter: int = field(default=5000, metadata={"help": "Weiszfeld iteration limit [code]."})
    gm_subsample: float | None = field(
        default=None, metadata={"help": "gamma: compute the median on this random share of rows [paper]; none = all."}
    )
    engine: str = field(
        default="auto",
        metadata={
            "help": "Herding pick: auto, dense (NumPy float32), int8 (same picks, less memory traffic; CPU) or "
            "torch (float32 on the device; what a GPU runs)."
        },
    )
    device: str = field(default="auto", metadata={"help": "auto (cuda when available), cpu or cuda."})
    use_cache: bool = field(default=True, metadata={"help": "Cache embeddings on disk by content fingerprint."})
    progress: bool = field(default=True, metadata={"help": "Show progress bars."})

    def __post_init__(self) -> None:
        if (self.k is None) == (self.fraction is None):
            raise ConfigError("gm_matching: set exactly one of k (rows to keep) and fraction (share of rows).")
        if self.k is not None and (isinstance(self.k, bool) or self.k < 1):
            raise ConfigError(f"gm_matching: k must be a positive number of rows, got {self.k!r}.")
        if self.fraction is not None and not 0 < self.fraction <= 1:
            raise ConfigError(f"gm_matching: fraction must be in (0, 1], got {self.fraction!r}.")
        if self.class_budget not in CLASS_BUDGETS:
            raise ConfigError(f"gm_matching: class_budget must be one of {CLASS_BUDGETS}, got {self.class_budget!r}.")
        if self.engine not in ENGINES:
            raise ConfigError(f"gm_matching: engine must be one of {ENGINES}, got {self.engine!r}.")
        for name in ("encoder_batch_size", "max_length", "gm_max_iter"):
            if getattr(self, name) < 1:
                raise ConfigError(f"gm_matching: {name} must be >= 1, got {getattr(self, name)!r}.")
        self.select_options(seed=0, device="cpu")  # checks selector, metric, init, batches

    def rows_to_keep(self, n: int) -> int:
        """k, or round(fraction * n); raises :class:`DatasetError` when that is 0 or more than ``n``."""
        k = self.k if self.k is not None else math.floor(self.fraction * n + 0.5)
        if k > n:
            raise DatasetError(f"gm_matching: k={k} is more than the dataset's {n} rows.")
        if k < 1:
            raise DatasetError(f"gm_matching: fraction {self.fraction} of {n} rows keeps no row; raise it or set k.")
        return k

    def select_options(self, *, seed: int, device: str | None = None) -> SelectOptions:
        """The selection settings, with the run's seed when the config has none."""
        device = device or self.device
        if device == "auto":
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        return SelectOptions(
            selector=self.selector,
            metric=self.metric,
            seed=seed if self.seed is None else self.seed,
            batches=self.batches,
            class_budget=self.class_budget,
            init=self.init,
            unit_center=self.unit_center,
            gm_eps=self.gm_eps,
            gm_max_iter=self.gm_max_iter,
            gm_subsample=self.gm_subsample,
            engine=self.engine,
            device=device,
            progress=self.progress,
        )
