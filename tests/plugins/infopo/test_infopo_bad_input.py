"""Bad input fails before training with an error naming the problem (the issue's list and a few more)."""

from __future__ import annotations

import pytest
from datasets import Dataset
from hfplug_infopo.trainer import InfoPOTrainer

from hfplug.errors import ConfigError, DatasetError


def build(tiny_model, tiny_tokenizer, args, dataset, **kwargs):
    return InfoPOTrainer(tiny_model, args=args, train_dataset=dataset, processing_class=tiny_tokenizer, **kwargs)


def test_rows_without_chosen_or_rejected_columns_are_named(tiny_model, tiny_tokenizer, infopo_args):
    wrong = Dataset.from_dict({"prompt": ["a"], "completion": ["b"]})
    with pytest.raises(DatasetError, match=r"\(chosen, rejected\).*prompt, completion"):
        build(tiny_model, tiny_tokenizer, infopo_args(), wrong)


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_a_row_with_a_missing_response_is_named(tiny_model, tiny_tokenizer, infopo_args, rows_of, empty):
    rows = rows_of(4)
    rows["rejected"][2] = empty
    with pytest.raises(DatasetError, match=r"1 row\(s\) have no 'rejected' response.*\[2\]"):
        build(tiny_model, tiny_tokenizer, infopo_args(), Dataset.from_dict(rows))


def test_identical_chosen_and_rejected_are_refused(tiny_model, tiny_tokenizer, infopo_args, rows_of):
    rows = rows_of(6)
    rows["rejected"][1] = rows["chosen"][1]
    rows["rejected"][4] = rows["chosen"][4]
    with pytest.raises(DatasetError, match=r"2 row\(s\) have identical chosen and rejected.*\[1, 4\]"):
        build(tiny_model, tiny_tokenizer, infopo_args(), Dataset.from_dict(rows))


def test_identical_conversational_pairs_are_refused(tiny_model, tiny_tokenizer, infopo_args):
    answer = [{"role": "assistant", "content": "5"}]
    rows = {"prompt": [[{"role": "user", "content": "2+3?"}]], "chosen": [answer], "rejected": [answer]}
    with pytest.raises(DatasetError, match="identical chosen and rejected"):
        build(tiny_model, tiny_tokenizer, infopo_args(), Dataset.from_dict(rows))


def test_bad_evaluation_rows_are_named_too(tiny_model, tiny_tokenizer, infopo_args, preference_dataset, rows_of):
    rows = rows_of(2)
    rows["chosen"][0] = rows["rejected"][0]
    with pytest.raises(DatasetError, match=r"InfoPO evaluation.*identical"):
        build(tiny_model, tiny_tokenizer, infopo_args(), preference_dataset, eval_dataset=Dataset.from_dict(rows))


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"infopo_variant": "nce"}, "infopo_variant must be one of"),
        ({"beta": 0.0}, "beta must be a positive"),
        ({"beta": -0.1}, "beta must be a positive"),
        ({"beta": float("inf")}, "beta must be a positive"),
        ({"loss_type": ["ipo"]}, "loss_type"),
        ({"ld_alpha": 0.5}, "ld_alpha"),
        ({"f_divergence_type": "js_divergence"}, "f_divergence_type"),
        ({"use_weighting": True}, "use_weighting"),
        ({"label_smoothing": 0.1}, "label_smoothing"),
    ],
)
def test_bad_config_values_are_named(infopo_args, fields, named):
    with pytest.raises(ConfigError, match=named):
        infopo_args(**fields)


def test_a_plain_dpo_config_is_refused(tiny_model, tiny_tokenizer, preference_dataset, tmp_path):
    from trl import DPOConfig

    with pytest.raises(ConfigError, match="InfoPOConfig"):
        build(tiny_model, tiny_tokenizer, DPOConfig(output_dir=str(tmp_path), use_cpu=True), preference_dataset)
