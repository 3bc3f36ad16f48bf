import pytest

from hfplug.config import check_required_plugins, parse_train_config, read_config_file
from hfplug.errors import ConfigError, RequirementError, UnknownComponentError


def write(tmp_path, text):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


BASE = """
trainer: sft
model_name_or_path: some/model
dataset: data.jsonl
report_to: none
"""


def test_file_values_and_cli_overrides(tmp_path):
    path = write(tmp_path, BASE + "learning_rate: 1e-4\nmax_steps: 5\nlora_r: 4\n")
    setup = parse_train_config(path, ["--max_steps", "7", "--use_peft", "--output_dir", str(tmp_path)])
    config = setup.trainer_config
    assert type(config).__name__ == "SFTConfig"
    assert config.learning_rate == pytest.approx(1e-4)  # YAML reads "1e-4" as a string; we coerce it
    assert config.max_steps == 7  # the command line wins
    assert setup.model_config.use_peft is True and setup.model_config.lora_r == 4
    assert setup.run.trainer == "sft" and setup.run.dataset == "data.jsonl"


def test_every_training_arguments_field_works(tmp_path):
    path = write(
        tmp_path, BASE + "gradient_accumulation_steps: 3\nlr_scheduler_type: cosine\nseed: 7\nweight_decay: 0.1\n"
    )
    config = parse_train_config(path, []).trainer_config
    assert (config.gradient_accumulation_steps, config.seed, config.weight_decay) == (3, 7, 0.1)
    assert config.lr_scheduler_type.value == "cosine"


def test_unknown_field_in_file_is_named_with_a_suggestion(tmp_path):
    path = write(tmp_path, BASE + "learning_rat: 0.1\n")
    with pytest.raises(ConfigError, match=r"learning_rat: unknown field .* Did you mean 'learning_rate'"):
        parse_train_config(path, [])


def test_unknown_cli_flag_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"--max_stpes.*Did you mean 'max_steps'"):
        parse_train_config(write(tmp_path, BASE), ["--max_stpes", "3"])


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("max_steps: many", "max_steps"),
        ("learning_rate: fast", "learning_rate"),
        ("use_peft: 3", "use_peft"),
        ("lr_scheduler_type: bogus", "lr_scheduler_type"),
        ("reward_funcs: 5", "reward_funcs"),
    ],
)
def test_wrong_type_names_the_field(tmp_path, line, field):
    with pytest.raises(ConfigError, match=rf"^{field}"):
        parse_train_config(write(tmp_path, BASE + line + "\n"), [])


def test_wrong_type_on_the_command_line_names_the_flag(tmp_path):
    with pytest.raises(ConfigError, match=r"--learning_rate.*invalid float value: 'abc'"):
        parse_train_config(write(tmp_path, BASE), ["--learning_rate", "abc"])


def test_malformed_yaml_and_non_mapping(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        read_config_file(write(tmp_path, "trainer: [sft\n"))
    with pytest.raises(ConfigError, match="must be a mapping"):
        read_config_file(write(tmp_path, "- sft\n- dpo\n"))
    with pytest.raises(ConfigError, match="does not exist"):
        read_config_file(tmp_path / "missing.yaml")


def test_missing_and_unknown_trainer(tmp_path):
    with pytest.raises(ConfigError, match="trainer: missing"):
        parse_train_config(write(tmp_path, "dataset: x\n"), [])
    with pytest.raises(UnknownComponentError, match="Did you mean 'sft'"):
        parse_train_config(write(tmp_path, BASE.replace("trainer: sft", "trainer: sf")), [])


def test_cli_trainer_overrides_the_file(tmp_path):
    setup = parse_train_config(write(tmp_path, BASE), ["--trainer", "dpo"])
    assert type(setup.trainer_config).__name__ == "DPOConfig"


def test_invalid_combination_is_reported_as_config_error(tmp_path):
    with pytest.raises(ConfigError, match="SFTConfig"):
        parse_train_config(write(tmp_path, BASE + "fp16: true\nbf16: true\n"), [])


def test_required_plugins_checked_first(tmp_path):
    check_required_plugins(["hfplug>=0.1", "pluggy"])
    with pytest.raises(RequirementError, match=r"hfplug-not-a-real-plugin>=1 \(not installed\)"):
        check_required_plugins(["hfplug-not-a-real-plugin>=1"])
    with pytest.raises(RequirementError, match=r"installed: hfplug=="):
        check_required_plugins(["hfplug>=99"])
    with pytest.raises(ConfigError, match="not a valid requirement"):
        check_required_plugins(["hfplug >>> 1"])
    # Checked before the (possibly unknown) trainer is even looked up.
    path = write(tmp_path, "trainer: no_such_trainer\nrequired_plugins: ['hfplug-talr-nope>=0.1']\n")
    with pytest.raises(RequirementError):
        parse_train_config(path, [])


def test_reward_names_are_resolved_before_heavy_work(tmp_path):
    path = write(tmp_path, BASE.replace("trainer: sft", "trainer: grpo") + "reward_funcs: [unit_test]\n")
    with pytest.raises(UnknownComponentError, match="reward named 'unit_test'"):
        parse_train_config(path, [])
    with pytest.raises(ConfigError, match="needs at least one reward"):
        parse_train_config(write(tmp_path, BASE.replace("trainer: sft", "trainer: grpo")), [])


class DataPlugin:
    import hfplug

    @hfplug.hookimpl
    def hfplug_register(self, registry):
        registry.data(
            "take",
            "tests.host.data_transforms:take_first",
            config="tests.host.data_transforms:TakeConfig",
            summary="Keep the first k rows.",
        )


def test_data_steps_are_validated(tmp_path, isolated_plugins):
    isolated_plugins.register(DataPlugin(), name="data-plugin")
    ok = parse_train_config(write(tmp_path, BASE + "data:\n  - {name: take, k: 3}\n"), [])
    assert ok.data_steps[0].config.k == 3
    with pytest.raises(ConfigError, match=r"data\[0\] \(take\)\.kk: unknown parameter. Did you mean 'k'"):
        parse_train_config(write(tmp_path, BASE + "data:\n  - {name: take, kk: 3}\n"), [])
    with pytest.raises(ConfigError, match=r"data\[0\] \(take\)\.k: expected int"):
        parse_train_config(write(tmp_path, BASE + "data:\n  - {name: take, k: lots}\n"), [])
    with pytest.raises(UnknownComponentError, match="No data transform named 'tak'"):
        parse_train_config(write(tmp_path, BASE + "data:\n  - {name: tak}\n"), [])
    with pytest.raises(ConfigError, match=r"data\[0\]: expected a mapping"):
        parse_train_config(write(tmp_path, BASE + "data: [take]\n"), [])


def test_config_files_do_not_warn_about_gradient_checkpointing(tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*gradient_checkpointing.*deprecated")
        config = parse_train_config(write(tmp_path, BASE), []).trainer_config
    assert config.activation_checkpointing is True  # trl's default, under its transformers v5 name
    off = parse_train_config(write(tmp_path, BASE + "activation_checkpointing: false\n"), []).trainer_config
    assert off.activation_checkpointing is False
