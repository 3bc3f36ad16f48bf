"""What an outside author meets when their plugin is broken: `hfplug plugins --check` names every bad
reference, `hfplug train` fails on it in one clean message before any tokenizer or weights load, a name
whose plugin failed says why, and a clash costs one component."""

import pytest
from click.testing import CliRunner

import hfplug
from hfplug.cli import build_cli
from hfplug.errors import ComponentImportError
from hfplug.testing import write_jsonl

from .outside_plugin import PLUGIN, TRAINER

BAD_REFERENCE = PLUGIN.replace("trainer:RhoTrainer", "trainer:RhoTrainr")
MISSING_MODULE = "import hfplug_rho_missing_dependency\n" + TRAINER
SYNTAX_ERROR = TRAINER.replace("class RhoTrainer(SFTTrainer):", "class RhoTrainer(SFTTrainer)")
PLUGIN_IMPORT_ERROR = "import hfplug_rho_missing_dependency\n" + PLUGIN
HOOK_ERROR = PLUGIN + "    raise RuntimeError('rho plugin bug during registration')\n"
CLASH = PLUGIN.replace('registry.trainer("{name}"', 'registry.trainer("sft"')

BROKEN_TRAINERS = {
    "bad reference": ({"plugin": BAD_REFERENCE}, ["'hfplug_rho.trainer:RhoTrainr'", "Did you mean 'RhoTrainer'"]),
    "missing module": (
        {"trainer": MISSING_MODULE},
        ["'hfplug_rho.trainer:RhoTrainer'", "No module named 'hfplug_rho_missing_dependency'"],
    ),
    "syntax error": ({"trainer": SYNTAX_ERROR}, ["SyntaxError: expected ':'", "trainer.py, line 4"]),
}


@pytest.mark.parametrize("case", BROKEN_TRAINERS)
def test_check_names_the_plugin_the_reference_and_the_cause(outside_plugins, case):
    replace, expected = BROKEN_TRAINERS[case]
    outside_plugins.install("rho", **replace)
    outside_plugins.manager()
    plain = CliRunner().invoke(build_cli(), ["plugins"])
    assert plain.exit_code == 0 and "trainer: rho" in plain.output  # registration alone cannot see it
    result = CliRunner().invoke(build_cli(), ["plugins", "--check"])
    assert result.exit_code == 1, result.output
    [line] = [line for line in result.output.splitlines() if "trainer 'rho'" in line]
    assert "plugin rho, hfplug-rho 0.1.0" in line
    for text in expected:
        assert text in line
    assert "1 problem(s)" in result.output  # the data transform and the reward of the same plugin are fine


def test_check_passes_for_a_healthy_plugin(outside_plugins):
    outside_plugins.install("rho")
    manager = outside_plugins.manager()
    assert manager.check("rho") == []
    result = CliRunner().invoke(build_cli(), ["plugins", "--check", "--json"])
    assert result.exit_code == 0, result.output
    assert '"problems": []' in result.output


def _config(tmp_path, body: str):
    data = write_jsonl(tmp_path / "train.jsonl", [{"text": "a b c"}, {"text": "d e f"}])
    path = tmp_path / "run.yaml"
    paths = f"model_name_or_path: {tmp_path / 'model'}\ndataset: {data}\noutput_dir: {tmp_path / 'out'}\n"
    path.write_text(paths + body)
    return str(path)


TRAIN_FAILURES = {
    "trainer": ({"plugin": BAD_REFERENCE}, "trainer: rho\n", "'hfplug_rho.trainer:RhoTrainr'"),
    "trainer module": ({"trainer": SYNTAX_ERROR}, "trainer: rho\n", "SyntaxError"),
    "config": (
        {"plugin": PLUGIN.replace("config:RhoConfig", "config:RhoConfg")},
        "trainer: rho\n",
        "the config of trainer 'rho'",
    ),
    "data transform": (
        {"data": "import hfplug_rho_missing_dependency\n"},
        "trainer: sft\ndata: [{name: rho_take, k: 1}]\n",
        "data 'rho_take'",
    ),
    "reward": (
        {"plugin": PLUGIN.replace("rewards:length", "rewards:lenght")},
        "trainer: grpo\nreward_funcs: [rho_len]\n",
        "Did you mean 'length'",
    ),
}


@pytest.mark.parametrize("case", TRAIN_FAILURES)
def test_train_fails_on_a_bad_reference_before_loading_a_tokenizer_or_weights(
    outside_plugins, loading_is_forbidden, tmp_path, case
):
    replace, body, expected = TRAIN_FAILURES[case]
    outside_plugins.install("rho", **replace)
    outside_plugins.manager()
    result = CliRunner().invoke(build_cli(), ["train", "--config", _config(tmp_path, body)])
    assert result.exit_code == 1
    assert "ComponentImportError" in result.output and expected in result.output, result.output
    assert "plugin rho, hfplug-rho 0.1.0" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert loading_is_forbidden == []
    assert not (tmp_path / "out").exists()


def test_debug_shows_the_traceback(outside_plugins, loading_is_forbidden, tmp_path, monkeypatch):
    outside_plugins.install("rho", plugin=BAD_REFERENCE)
    outside_plugins.manager()
    config = _config(tmp_path, "trainer: rho\n")
    for args in (["--debug", "train", "--config", config], ["train", "--config", config, "--debug"]):
        result = CliRunner().invoke(build_cli(), args)
        assert isinstance(result.exception, ComponentImportError), result.output
    monkeypatch.setenv("HFPLUG_DEBUG", "1")
    assert isinstance(CliRunner().invoke(build_cli(), ["train", "--config", config]).exception, ComponentImportError)


def test_an_error_raised_while_importing_names_file_and_line(outside_plugins, tmp_path):
    raising = TRAINER + "raise ValueError('the plugin author made a mistake')\n"
    outside_plugins.install("rho", trainer=raising)
    outside_plugins.manager()
    result = CliRunner().invoke(build_cli(), ["train", "--config", _config(tmp_path, "trainer: rho\n")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "ValueError: the plugin author made a mistake (at " in result.output  # file and line of the raise


@pytest.mark.parametrize(
    ("plugin_source", "cause"),
    [
        (PLUGIN_IMPORT_ERROR, "failed to import: ModuleNotFoundError: No module named 'hfplug_rho_missing_dependency'"),
        (HOOK_ERROR, "failed to register: RuntimeError: rho plugin bug during registration"),
    ],
)
def test_a_name_from_a_plugin_that_failed_to_load_says_why(
    outside_plugins, loading_is_forbidden, tmp_path, plugin_source, cause
):
    outside_plugins.install("rho", plugin=plugin_source)
    outside_plugins.manager()
    result = CliRunner().invoke(build_cli(), ["train", "--config", _config(tmp_path, "trainer: rho\n")])
    assert result.exit_code == 1
    assert "No trainer named 'rho' is available: the plugin that provides it failed to load" in result.output
    assert cause in result.output and "is installed" not in result.output
    required = _config(tmp_path, "trainer: rho\nrequired_plugins: ['hfplug-rho>=0.1']\n")
    result = CliRunner().invoke(build_cli(), ["train", "--config", required])
    assert "PluginLoadError: required_plugins: hfplug-rho>=0.1 is installed but failed to load" in result.output
    assert cause in result.output
    # An unrelated unknown name still lists what is installed, and mentions the broken plugin.
    with pytest.raises(hfplug.UnknownComponentError, match=r"Installed trainers: .*sft.* Some plugins failed"):
        hfplug.get("trainer", "zeta")
    assert loading_is_forbidden == []


def test_a_clash_with_a_builtin_costs_one_component(outside_plugins):
    outside_plugins.install("rho", plugin=CLASH)
    manager = outside_plugins.manager()
    assert hfplug.get("trainer", "sft").ref == "trl:SFTTrainer"  # the built-in wins
    assert hfplug.get("reward", "rho_len").distribution == "hfplug-rho"  # the plugin's other components work
    assert hfplug.get("data", "rho_take").plugin == "rho"
    message = manager.errors()["rho"]
    assert "hfplug (built in) as trl:SFTTrainer" in message and "plugin rho, hfplug-rho 0.1.0" in message
    assert "rename the trainer in hfplug-rho" in message
    listing = CliRunner().invoke(build_cli(), ["plugins"]).output
    assert "data: rho_take; reward: rho_len" in listing and "rename the trainer" in listing


def test_a_clash_between_two_plugins_keeps_the_first_and_says_how_to_choose(outside_plugins):
    outside_plugins.install("alpha", plugin=PLUGIN.replace('registry.trainer("{name}"', 'registry.trainer("same"'))
    outside_plugins.install("beta", plugin=PLUGIN.replace('registry.trainer("{name}"', 'registry.trainer("same"'))
    manager = outside_plugins.manager()
    assert hfplug.get("trainer", "same").distribution == "hfplug-alpha"
    assert hfplug.get("reward", "beta_len").distribution == "hfplug-beta"
    message = manager.errors()["beta"]
    assert "hfplug-alpha" in message and "hfplug-beta" in message
    assert "HFPLUG_DISABLE_PLUGINS=beta" in message and "HFPLUG_DISABLE_PLUGINS=alpha" in message


class FailingCommandPlugin:
    @hfplug.hookimpl
    def hfplug_commands(self, cli):
        @cli.command()
        def boom():
            """A plugin command with a bug."""
            raise ValueError("the plugin author made a mistake")


def test_an_unexpected_error_is_one_message_pointing_at_debug(isolated_plugins):
    isolated_plugins.register(FailingCommandPlugin(), name="failing")
    result = CliRunner().invoke(build_cli(), ["boom"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Error: ValueError: the plugin author made a mistake" in result.output
    assert "run again with --debug or HFPLUG_DEBUG=1" in result.output
    assert isinstance(CliRunner().invoke(build_cli(), ["--debug", "boom"]).exception, ValueError)
