"""A data transform used by the host tests."""

from dataclasses import dataclass

from hfplug.errors import DatasetError


@dataclass
class TakeConfig:
    k: int = 2

    def __post_init__(self):
        if self.k <= 0:
            raise ValueError(f"k must be positive, got {self.k}")


def take_first(dataset, config: TakeConfig, context):
    if config.k > len(dataset):
        raise DatasetError(f"take: k={config.k} is larger than the dataset ({len(dataset)} rows).")
    return dataset.select(range(config.k))
