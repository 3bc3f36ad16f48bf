"""The ``gm_matching`` data transform as the host calls it: ``gm_matching(dataset, config, context)``."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np

from hfplug.data import DataContext
from hfplug.errors import DatasetError
from hfplug_gm_matching.budgets import class_groups, split_budget
from hfplug_gm_matching.config import GMMatchingConfig
from hfplug_gm_matching.embed import column_matrix, embed_dataset, text_columns
from hfplug_gm_matching.selectors import select_with

logger = logging.getLogger(__name__)
RANK_COLUMN = "selection_rank"


def gm_matching(dataset: Any, config: GMMatchingConfig | None, context: DataContext | None = None) -> Any:
    """The ``k`` selected rows of ``dataset`` in rank order, with a ``selection_rank`` column (0 = first pick).

    Every check that needs no embeddings (empty dataset, k against n, the label column, class budgets,
    the embedding or text column) runs before any encoder is loaded. Embeddings come from
    ``config.embedding_column`` when the dataset has it, else from encoding the text (cached under
    ``context.cache_dir``). The same data, config and seed give the same rows in the same order.
    """
    config = config or GMMatchingConfig(fraction=0.1)
    context = context or DataContext()
    n = len(dataset)
    if n == 0:
        raise DatasetError("gm_matching: the dataset is empty.")
    k = config.rows_to_keep(n)
    # Under a launch every process runs this transform (the embedding pass waits for all of them), so the
    # median's blocks and the batches can be shared out; outside a process group this changes nothing.
    settings = replace(config.select_options(seed=context.seed), distributed=True)
    labels = _labels(dataset, config)
    if labels is not None:
        names, groups = class_groups(labels, n)
        split_budget(k, [len(g) for g in groups], config.class_budget, names=names)
    if config.embedding_column in dataset.column_names:
        embeddings = column_matrix(dataset, config.embedding_column)
    else:
        text_columns(dataset, config.text_column)
        embeddings = embed_dataset(
            dataset,
            encoder=config.encoder,
            text_column=config.text_column,
            batch_size=config.encoder_batch_size,
            max_length=config.max_length,
            device=settings.device,
            cache_dir=context.cache_dir if config.use_cache else None,
            progress=config.progress,
        )
    indices = select_with(embeddings, k, labels, settings)
    if RANK_COLUMN in dataset.column_names:
        logger.info("gm_matching: replacing the dataset's existing %s column", RANK_COLUMN)
        dataset = dataset.remove_columns(RANK_COLUMN)
    selected = dataset.select(indices.tolist())
    return selected.add_column(RANK_COLUMN, np.arange(len(indices), dtype=np.int64).tolist()).flatten_indices()


def _labels(dataset: Any, config: GMMatchingConfig) -> list[Any] | None:
    if config.label_column is None:
        return None
    if config.label_column not in dataset.column_names:
        raise DatasetError(
            f"gm_matching: label_column {config.label_column!r} is not in the dataset "
            f"({', '.join(dataset.column_names)})."
        )
    return dataset[config.label_column]
