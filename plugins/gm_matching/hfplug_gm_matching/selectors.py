"""``select``: GM Matching and the baseline selectors over an embedding matrix, per class and per batch.

Every selector returns row indices in rank order (the first index is the most preferred row), so a
prefix of a selection is itself a sensible smaller selection.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import numpy as np

from hfplug.errors import ConfigError, DatasetError
from hfplug_gm_matching.budgets import class_groups, split_budget
from hfplug_gm_matching.herding import herd
from hfplug_gm_matching.median import weiszfeld
from hfplug_gm_matching.spread import herd_parts
from hfplug_gm_matching.streamed import BLOCK_ROWS, StreamedRows, streams
from hfplug_gm_matching.validation import embedding_matrix

SELECTORS = ("gm_matching", "herding", "random", "moderate", "easy", "hard")
METRICS = ("cosine", "euclidean")
INITS = ("center", "random")


@dataclass(frozen=True)
class SelectOptions:
    """Everything :func:`select` takes besides the data; checked on construction."""

    selector: str = "gm_matching"
    metric: str = "cosine"
    seed: int = 0
    batches: int = 1
    class_budget: str = "equal"
    init: str = "center"
    unit_center: bool = True
    gm_eps: float = 1e-5
    gm_max_iter: int = 5000
    gm_subsample: float | None = None
    engine: str = "auto"
    device: str = "cpu"
    progress: bool = False
    block_rows: int = BLOCK_ROWS
    distributed: bool = False

    def __post_init__(self) -> None:
        _check_choice("selector", self.selector, SELECTORS)
        _check_choice("metric", self.metric, METRICS)
        _check_choice("init", self.init, INITS)
        if self.batches < 1:
            raise ConfigError(f"gm_matching: batches must be >= 1, got {self.batches!r}.")
        if self.block_rows < 1:
            raise ConfigError(f"gm_matching: block_rows must be >= 1, got {self.block_rows!r}.")


def select(
    embeddings: Any,
    k: int,
    selector: str = "gm_matching",
    labels: Any = None,
    metric: str = "cosine",
    seed: int = 0,
    **options: Any,
) -> np.ndarray:
    """Pick ``k`` rows of ``embeddings`` (``(n, d)``) with ``selector``; return their indices in rank order.

    Selectors: ``gm_matching`` (herding towards the geometric median [paper]), ``herding`` (towards the
    mean), ``random``, ``moderate`` (distances to the mean closest to their median), ``easy`` (closest to
    the mean), ``hard`` (farthest). With ``labels``, each class gets its own center and budget
    (``class_budget``: ``equal`` [code] or ``proportional``; budgets sum to exactly ``k``). ``metric``
    ``cosine`` L2-normalises rows and center [code]; ``euclidean`` uses them as they are.

    Further options (see :class:`SelectOptions`): ``batches`` (B random partitions, each herded
    separately towards the class center: the paper's scalable variant), ``init`` (theta_0 = ``center``
    [paper] or a ``random`` row [code]), ``unit_center`` (cosine: scale the center to unit norm [code]),
    ``gm_eps``, ``gm_max_iter``, ``gm_subsample`` (gamma),
    ``engine`` (``auto``/``dense``/``int8``/``torch``), ``device`` (``cpu``/``cuda``), ``progress``,
    ``block_rows`` (rows read, normalised and summed at a time), ``distributed`` (with ``batches`` > 1 inside an
    initialised torch.distributed process group: each process herds its share of the batches; every process must
    call ``select`` and gets the whole ranking, the same as one process's).
    Deterministic for a given ``seed``.

    ``embeddings``: an array, tensor or list of rows. An ``np.memmap`` (``np.load(path, mmap_mode="r")``) or an
    array narrower than float32 (int8, float16 ...) is never copied to float32 as a whole: it is read a block of
    ``block_rows`` rows at a time (:mod:`.streamed`), and the picks are those of its float32 copy.
    """
    return select_with(embeddings, k, labels, SelectOptions(selector=selector, metric=metric, seed=seed, **options))


def select_with(embeddings: Any, k: int, labels: Any, settings: SelectOptions) -> np.ndarray:
    """:func:`select` with its settings in one :class:`SelectOptions`."""
    cosine = settings.metric == "cosine"
    if streams(embeddings):
        points = StreamedRows.checked(embeddings, unit=cosine, block_rows=settings.block_rows)
    else:
        points = embedding_matrix(embeddings)
    n = points.shape[0]
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 0 < k <= n:
        raise DatasetError(f"k={k!r} must be a whole number between 1 and the number of rows ({n}).")
    if cosine and not isinstance(points, StreamedRows):
        points = normalized_rows(points)
    if labels is None:
        names, groups = ["all"], [np.arange(n)]
    else:
        names, groups = class_groups(labels, n)
    budgets = split_budget(int(k), [len(g) for g in groups], settings.class_budget, names=names)
    rng = np.random.default_rng(settings.seed)
    ranked = [_select_group(points, rows, budget, settings, rng) for rows, budget in zip(groups, budgets, strict=True)]
    return interleave(ranked)


def normalized_rows(points: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (a new float32 array); a zero row is an error under the cosine metric."""
    norms = row_norms(points)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise DatasetError(
            f"row {int(zero[0])} is an all-zero embedding ({zero.size} in all); the cosine metric has no direction "
            "for it. Drop those rows or use metric: euclidean."
        )
    return (points / norms[:, None].astype(np.float32)).astype(np.float32, copy=False)


def interleave(ranked: list[np.ndarray]) -> np.ndarray:
    """Merge per-group rankings so every prefix holds each group in proportion to its budget.

    Position p of a group of budget b gets the key (p + 0.5) / b; ties go to the earlier group.
    """
    if len(ranked) == 1:
        return ranked[0]
    keys = np.concatenate([(np.arange(len(r)) + 0.5) / len(r) for r in ranked])
    group = np.concatenate([np.full(len(r), g) for g, r in enumerate(ranked)])
    order = np.lexsort((group, keys))
    return np.concatenate(ranked)[order]


def center_of(points: np.ndarray, settings: SelectOptions, seed: int) -> np.ndarray:
    """The target moment: the geometric median for ``gm_matching``, else the mean; under cosine, scaled to unit
    norm [code] unless ``unit_center`` is off (then herding matches the center of the unit rows itself)."""
    if settings.selector == "gm_matching":
        center = weiszfeld(
            points,
            eps=settings.gm_eps,
            max_iter=settings.gm_max_iter,
            subsample=settings.gm_subsample,
            seed=seed,
            device=settings.device,
            block_rows=settings.block_rows,
            distributed=settings.distributed,
        ).median
    else:
        center = column_mean(points, settings.block_rows)
    if settings.metric == "cosine" and settings.unit_center:
        norm = np.linalg.norm(center)
        center = center / norm if norm > 0 else center
    return center.astype(np.float32)


def _select_group(
    points: np.ndarray, rows: np.ndarray, budget: int, settings: SelectOptions, rng: np.random.Generator
) -> np.ndarray:
    """``budget`` of ``rows`` (global indices), ranked, for one class."""
    seed = int(rng.integers(2**31))  # drawn for every selector, so each class's stream is the same whatever the rest
    if settings.selector == "random":
        return rows[np.random.default_rng(seed).permutation(len(rows))[:budget]]
    group = points if len(rows) == len(points) else rows_of(points, rows)  # one class: no 1.5 GB copy at 1M x 384
    center = center_of(group, settings, seed)
    if settings.selector in ("herding", "gm_matching"):
        return rows[_herd_in_batches(group, center, budget, settings, seed)]
    distances = distances_to(group, center)
    if settings.selector == "easy":
        score = distances
    elif settings.selector == "hard":
        score = -distances
    else:  # moderate: distances closest to the median distance (Moderate-DS)
        score = np.abs(distances - np.median(distances))
    return rows[np.argsort(score, kind="stable")[:budget]]


def rows_of(points: np.ndarray | StreamedRows, rows: np.ndarray) -> np.ndarray | StreamedRows:
    """The rows ``rows`` of ``points``: a float32 copy in memory, a view of streamed rows."""
    return points.subset(rows) if isinstance(points, StreamedRows) else points[rows]


def column_mean(points: np.ndarray | StreamedRows, block_rows: int = BLOCK_ROWS) -> np.ndarray:
    """float64 mean of the rows, summed a block at a time (no (n, d) float64 temporary)."""
    total = np.zeros(points.shape[1], dtype=np.float64)
    for start in range(0, len(points), block_rows):
        total += points[start : start + block_rows].astype(np.float64).sum(axis=0)
    return total / len(points)


def row_norms(points: np.ndarray, block_rows: int = BLOCK_ROWS) -> np.ndarray:
    """float32 L2 norm of each row, a block at a time (``np.linalg.norm`` squares the whole matrix first)."""
    return np.concatenate(
        [np.linalg.norm(points[start : start + block_rows], axis=1) for start in range(0, len(points), block_rows)]
    )


def distances_to(points: np.ndarray, center: np.ndarray, block_rows: int = BLOCK_ROWS) -> np.ndarray:
    """float64 ||points_i - center||, a block of rows at a time (no (n, d) float64 temporary)."""
    center64 = center.astype(np.float64)
    return np.concatenate(
        [
            np.linalg.norm(points[start : start + block_rows].astype(np.float64) - center64, axis=1)
            for start in range(0, len(points), block_rows)
        ]
    )


def _herd_in_batches(
    group: np.ndarray, center: np.ndarray, budget: int, settings: SelectOptions, seed: int
) -> np.ndarray:
    """Herding over the whole group, or over ``batches`` random parts with proportional budgets."""
    rng = np.random.default_rng(seed + 1)
    parts = [np.arange(len(group))]
    if settings.batches > 1:
        parts = [np.sort(p) for p in np.array_split(rng.permutation(len(group)), settings.batches) if len(p)]
    budgets = split_budget(budget, [len(p) for p in parts], "proportional")
    # Drawn in batch order for every batch that picks, whichever process herds it: the same starts everywhere.
    random_start = settings.init == "random"
    starts = [int(rng.integers(len(p))) if random_start and b else None for p, b in zip(parts, budgets, strict=True)]

    def herd_part(i: int) -> np.ndarray:
        if budgets[i] == 0:
            return parts[i][:0]
        members = group if len(parts) == 1 else rows_of(group, parts[i])  # one batch: no copy of the group
        order = herd(
            members,
            center,
            budgets[i],
            theta0=None if starts[i] is None else members[starts[i]],
            engine=settings.engine,
            device=settings.device,
            progress=settings.progress,
            description=settings.selector,
        )
        return parts[i][order]

    ranked = herd_parts(len(parts), herd_part, enabled=settings.distributed)
    return interleave([order for order in ranked if len(order)])


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        close = difflib.get_close_matches(str(value), choices, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"gm_matching: unknown {name} {value!r}; choose one of {', '.join(choices)}.{hint}")
