"""``executor: ray`` from a config: ``reward_options`` reaches ``unit_tests.with_options`` (no cluster needed)."""

import pytest

from hfplug.config import parse_train_config
from hfplug.errors import ConfigError

GRPO = """
trainer: grpo
model_name_or_path: some/model
dataset: data.jsonl
report_to: none
reward_funcs: [unit_tests]
"""


def parse(tmp_path, extra):
    path = tmp_path / "run.yaml"
    path.write_text(GRPO + extra)
    return parse_train_config(path, ["--output_dir", str(tmp_path)])


def test_the_config_chooses_the_executor_and_keeps_the_other_defaults(tmp_path):
    (reward,) = parse(
        tmp_path, "reward_options:\n  unit_tests: {executor: ray, address: 'ray://head:10001'}\n"
    ).reward_functions
    assert (reward.executor, reward.address) == ("ray", "ray://head:10001")
    assert reward.__name__ == "unit_tests" and reward.strict_types is True
    (default,) = parse(tmp_path, "").reward_functions
    assert default.executor is None


def test_an_unknown_executor_is_a_config_error_naming_it(tmp_path):
    with pytest.raises(ConfigError, match=r"reward_options.unit_tests: .*sparkle"):
        parse(tmp_path, "reward_options:\n  unit_tests: {executor: sparkle}\n")
