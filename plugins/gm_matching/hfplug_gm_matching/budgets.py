"""How many rows each class (or batch) gets: budgets that always sum to exactly k."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hfplug.errors import ConfigError, DatasetError

CLASS_BUDGETS = ("equal", "proportional")


def split_budget(k: int, sizes: Sequence[int], mode: str = "equal", *, names: Sequence[Any] | None = None) -> list[int]:
    """Budgets for groups of ``sizes`` rows that sum to exactly ``k``.

    ``equal`` [code]: ``k // groups`` each; the ``k % groups`` leftover rows go one each to the largest
    groups (ties: the earlier group), where the official code silently selects fewer than ``k``.
    ``proportional`` [ours]: ``k * size / total`` rounded by largest remainder (ties: the earlier group);
    never more than a group holds.

    Raises :class:`DatasetError` when a group is smaller than its equal share, naming the group.
    """
    if mode not in CLASS_BUDGETS:
        raise ConfigError(f"class_budget must be one of {CLASS_BUDGETS}, got {mode!r}.")
    total = int(sum(sizes))
    if not 0 < k <= total:
        raise DatasetError(f"k={k} must be between 1 and the number of rows ({total}).")
    count = len(sizes)
    order = sorted(range(count), key=lambda g: (-sizes[g], g))
    if mode == "equal":
        budgets = [k // count] * count
        for group in order[: k % count]:
            budgets[group] += 1
    else:
        # In integers: remainders equal in exact arithmetic can differ in their last bit as floats (k = 32 over
        # sizes 2, 2, 33, 59: 2/3 and 19 + 2/3), which broke the documented tie rule.
        budgets = [k * int(size) // total for size in sizes]
        remainders = [k * int(size) % total for size in sizes]
        by_remainder = sorted(range(count), key=lambda g: (-remainders[g], g))
        for group in by_remainder[: k - sum(budgets)]:
            budgets[group] += 1
    for group, (budget, size) in enumerate(zip(budgets, sizes, strict=True)):
        if budget > size:
            name = names[group] if names is not None else group
            raise DatasetError(
                f"class {name!r} has {size} rows but its equal share of k={k} over {count} classes is {budget}; "
                "lower k, or set class_budget: proportional (budgets follow class sizes)."
            )
    return budgets


def class_groups(labels: Any, n: int) -> tuple[list[Any], list[np.ndarray]]:
    """The distinct labels (sorted) and, for each, the row indices holding it (ascending).

    Raises :class:`DatasetError` for a label count that differs from ``n`` or a missing (None/NaN) label.
    """
    values = np.asarray(labels)
    if values.ndim != 1 or len(values) != n:
        raise DatasetError(f"labels must be one value per row: got {values.size} labels for {n} rows.")
    if values.dtype.kind == "f":
        missing = np.flatnonzero(np.isnan(values)).tolist()
    elif values.dtype.kind == "O":
        missing = [i for i, v in enumerate(values) if v is None or (isinstance(v, float) and v != v)]
    else:
        missing = []
    if missing:
        raise DatasetError(
            f"labels: row {missing[0]} has no label ({len(missing)} rows in all); drop or label them first."
        )
    try:
        names, inverse = np.unique(values, return_inverse=True)
    except TypeError as error:
        raise DatasetError(f"labels must be one comparable type (all ints or all strings): {error}") from error
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(np.bincount(inverse, minlength=len(names)))[:-1]
    return [_plain(name) for name in names], list(np.split(order, bounds))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
