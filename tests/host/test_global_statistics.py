"""GlobalStatistics in one process: the logged numbers are over every observation of the window, as if they had
come in one batch. (Across processes: the FLOW and TALR two-process tests.)"""

from __future__ import annotations

import pytest
import torch

from hfplug.distributed import GlobalStatistics


def test_a_mean_over_micro_batches_of_different_sizes_is_the_mean_of_all_values():
    statistics = GlobalStatistics()
    statistics.add_mean("w", torch.tensor([1.0]))
    statistics.add_mean("w", torch.tensor([0.0, 0.0, 0.0]))
    assert statistics.pop() == {"w": pytest.approx(0.25)}  # the mean of the two means would be 0.5


def test_minimum_and_maximum_over_the_window():
    statistics = GlobalStatistics()
    statistics.add_min("low", torch.tensor([0.5, 0.2]))
    statistics.add_max("high", torch.tensor([0.5, 0.2]))
    statistics.add_min("low", torch.tensor([0.3, 0.9]))
    statistics.add_max("high", torch.tensor([0.3, 0.9]))
    assert statistics.pop() == {"low": pytest.approx(0.2), "high": pytest.approx(0.9)}


def test_empty_observations_count_for_nothing_and_a_name_without_any_is_left_out():
    statistics = GlobalStatistics()
    empty = torch.tensor([])
    statistics.add_mean("mean", empty)
    statistics.add_min("low", empty)
    statistics.add_max("high", empty)
    statistics.add_mean("fraction", torch.tensor([True, False, False, False]))
    statistics.add_mean("fraction", torch.tensor([], dtype=torch.bool))
    assert statistics.pop() == {"fraction": pytest.approx(0.25)}


def test_pop_starts_a_new_window():
    statistics = GlobalStatistics()
    assert not statistics
    statistics.add_mean("w", torch.tensor([4.0]))
    assert statistics
    assert statistics.pop() == {"w": 4.0}
    assert not statistics
    assert statistics.pop() == {}
    statistics.add_mean("w", torch.tensor([2.0]))
    assert statistics.pop() == {"w": 2.0}
