"""Bad input gets a clear error before any heavy work, and never a silently smaller subset."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from datasets import Dataset
from hfplug_gm_matching import geometric_median, select
from hfplug_gm_matching.config import GMMatchingConfig
from hfplug_gm_matching.transform import gm_matching

from hfplug.cli import build_cli
from hfplug.errors import ConfigError, DatasetError

POINTS = np.random.default_rng(0).standard_normal((20, 4))


@pytest.mark.parametrize("k", [0, -3, 21, 2.5, True])
def test_k_outside_one_to_n_is_refused(k):
    with pytest.raises(DatasetError, match="between 1 and the number of rows"):
        select(POINTS, k)


@pytest.mark.parametrize(("settings", "message"), [
    ({}, "exactly one of k"),
    ({"k": 3, "fraction": 0.5}, "exactly one of k"),
    ({"k": 0}, "positive"),
    ({"fraction": 1.5}, r"in \(0, 1\]"),
    ({"fraction": 0.2, "selector": "gm_matchin"}, "Did you mean 'gm_matching'"),
    ({"fraction": 0.2, "metric": "manhattan"}, "unknown metric"),
    ({"fraction": 0.2, "batches": 0}, "batches"),
    ({"fraction": 0.2, "class_budget": "fair"}, "class_budget"),
])  # fmt: skip
def test_malformed_configs_fail_when_built(settings, message):
    with pytest.raises(ConfigError, match=message):
        GMMatchingConfig(**settings)


def test_unknown_selector_in_python():
    with pytest.raises(ConfigError, match="unknown selector 'median'"):
        select(POINTS, 3, selector="median")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 1e300])
def test_nan_and_inf_embeddings_name_the_row(value):
    points = POINTS.copy()
    points[7, 2] = value
    with pytest.raises(DatasetError, match="row 7 has a NaN or infinite value"):
        select(points, 3)
    with pytest.raises(DatasetError, match="row 7"):
        geometric_median(points)


def test_ragged_rows_are_refused_in_python_and_in_a_dataset():
    with pytest.raises(DatasetError, match="row 0 has 3 values but row 2 has 2"):
        select([[1, 2, 3], [4, 5, 6], [7, 8]], 1)
    ragged = Dataset.from_dict({"embedding": [[1.0, 2.0], [3.0, 4.0], [5.0]]})
    with pytest.raises(DatasetError, match="ragged: row 0 has 2 values but row 2 has 1"):
        gm_matching(ragged, GMMatchingConfig(k=1))


def test_a_class_smaller_than_its_budget_is_an_error_not_a_smaller_subset():
    labels = ["a"] * 18 + ["b"] * 2
    with pytest.raises(DatasetError, match="class 'b' has 2 rows but its equal share of k=10 over 2 classes is 5"):
        select(POINTS, 10, labels=labels)
    assert len(select(POINTS, 10, labels=labels, class_budget="proportional")) == 10


def test_missing_labels_and_missing_columns():
    with pytest.raises(DatasetError, match="row 1 has no label"):
        select(POINTS[:3], 2, labels=[0, None, 1])
    data = Dataset.from_dict({"embedding": POINTS.tolist(), "label": [0] * 20})
    with pytest.raises(DatasetError, match="label_column 'y' is not in the dataset"):
        gm_matching(data, GMMatchingConfig(k=2, label_column="y"))
    with pytest.raises(DatasetError, match="needs an embedding column or text"):
        gm_matching(data.remove_columns("embedding"), GMMatchingConfig(k=2))
    with pytest.raises(DatasetError, match="k=30 is more than the dataset's 20 rows"):
        gm_matching(data, GMMatchingConfig(k=30))
    with pytest.raises(DatasetError, match="keeps no row"):
        gm_matching(data, GMMatchingConfig(fraction=0.01))


def test_zero_rows_under_cosine_and_empty_inputs():
    points = POINTS.copy()
    points[4] = 0
    with pytest.raises(DatasetError, match="row 4 is an all-zero embedding"):
        select(points, 3)
    assert len(select(points, 3, metric="euclidean")) == 3
    with pytest.raises(DatasetError, match="empty"):
        select(np.zeros((0, 4)), 1)
    with pytest.raises(DatasetError, match="2-D"):
        select(np.zeros(5), 1)


def test_cli_prints_one_clean_line_and_leaves_the_output_alone(tmp_path):
    source = tmp_path / "data.jsonl"
    Dataset.from_dict({"embedding": POINTS.tolist()}).to_json(str(source))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        build_cli(), ["data", "gm_matching", "k=50", "--dataset", str(source), "--output", str(out)]
    )
    assert result.exit_code == 1
    assert "k=50 is more than the dataset's 20 rows" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    done = CliRunner().invoke(
        build_cli(), ["data", "gm_matching", "k=5", "--dataset", str(source), "--output", str(out)]
    )
    assert done.exit_code == 0, done.output
    before = sorted(p.name for p in out.iterdir())
    again = CliRunner().invoke(
        build_cli(), ["data", "gm_matching", "k=6", "--dataset", str(source), "--output", str(out)]
    )
    assert again.exit_code == 1 and "already exists" in again.output
    assert sorted(p.name for p in out.iterdir()) == before


def test_k_equal_to_n_keeps_every_row():
    assert sorted(select(POINTS, 20).tolist()) == list(range(20))


def test_an_unknown_choice_with_no_close_name_lists_the_choices_and_nothing_else():
    with pytest.raises(ConfigError) as error:
        select(POINTS, 3, init="zzz")
    assert str(error.value) == "gm_matching: unknown init 'zzz'; choose one of center, random."
