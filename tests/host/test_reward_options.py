"""``reward_options:`` in a config: the config form of ``reward.with_options(...)``, checked before any model loads."""

import pytest

import hfplug
from hfplug.config import parse_train_config
from hfplug.errors import ConfigError

GRPO = """
trainer: grpo
model_name_or_path: some/model
dataset: data.jsonl
report_to: none
reward_funcs: [length_times, shorter_is_better]
"""


class RewardPlugin:
    @hfplug.hookimpl
    def hfplug_register(self, registry):
        registry.reward("length_times", "tests.host.rewards:length_times", summary="Length times a scale.")
        registry.reward("shorter_is_better", "tests.host.rewards:shorter_is_better", summary="Minus the length.")


@pytest.fixture
def rewards(isolated_plugins):
    isolated_plugins.register(RewardPlugin(), name="reward-plugin")


def parse(tmp_path, extra):
    path = tmp_path / "run.yaml"
    path.write_text(GRPO + extra)
    return parse_train_config(path, ["--output_dir", str(tmp_path)])


def test_options_reach_the_reward_the_trainer_gets(tmp_path, rewards):
    setup = parse(tmp_path, "reward_options:\n  length_times: {scale: 3}\n")
    scaled, untouched = setup.reward_functions
    assert scaled(["p"], ["abcd"]) == [12.0]
    assert untouched(["p"], ["abcd"]) == [-4.0]
    # The registered reward itself is not changed: another run without options gets the default.
    assert parse(tmp_path, "").reward_functions[0](["p"], ["abcd"]) == [4]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("reward_options: [scale]\n", "reward_options: expected a mapping of reward name"),
        ("reward_options:\n  length_times: 3\n", r"reward_options.length_times: expected a mapping"),
        ("reward_options:\n  not_used: {scale: 2}\n", "not_used not in reward_funcs"),
        ("reward_options:\n  shorter_is_better: {scale: 2}\n", "reward 'shorter_is_better' takes no options"),
        ("reward_options:\n  length_times: {colour: red}\n", r"reward_options.length_times: .*colour"),
        ("reward_options:\n  length_times: {scale: -1}\n", r"reward_options.length_times: scale must be positive"),
    ],
)
def test_bad_reward_options_name_the_problem(tmp_path, rewards, extra, message):
    with pytest.raises(ConfigError, match=message):
        parse(tmp_path, extra)
