"""The testing kit as a plugin author uses it: registration errors surface in the test, `check()` finds
bad references, and the trainer-argument check follows **kwargs to what the trainer really accepts."""

import pytest
from transformers import Trainer
from trl import SFTTrainer

import hfplug
from hfplug.config import parse_train_config
from hfplug.errors import ConfigError, PluginLoadError
from hfplug.trainer_arguments import init_keywords


class CrashingPlugin:
    @hfplug.hookimpl
    def hfplug_register(self, registry):
        registry.reward("fine", "json:dumps", summary="Registered before the crash.")
        raise RuntimeError("typo in my plugin's register hook")


class ClashingPlugin:
    @hfplug.hookimpl
    def hfplug_register(self, registry):
        registry.trainer("sft", "json:JSONDecoder", config="json:JSONDecoder", summary="Takes a built-in name.")
        registry.reward("mine", "json:dumps", summary="A component of its own.")


class MistypedPlugin:
    @hfplug.hookimpl
    def hfplug_register(self, registry):
        registry.reward("mistyped", "json:dumpz", summary="A typo in the reference.")
        registry.reward("fine", "json:dumps", summary="Correct.")


def test_register_raises_the_plugin_error_in_a_test(isolated_plugins):
    with pytest.raises(PluginLoadError, match="failed to register: RuntimeError: typo in my plugin's register hook"):
        isolated_plugins.register(CrashingPlugin(), name="crashing")
    assert "fine" not in hfplug.names("reward")  # nothing half-registered stays behind


def test_a_clash_raises_in_a_test_and_costs_one_component_when_recorded(isolated_plugins):
    with pytest.raises(PluginLoadError, match="Built-in names always win"):
        isolated_plugins.register(ClashingPlugin(), name="clashing")
    assert "mine" not in hfplug.names("reward")
    info = isolated_plugins.register(ClashingPlugin(), name="clashing", raise_errors=False)
    assert "mine" in hfplug.names("reward") and hfplug.get("trainer", "sft").ref == "trl:SFTTrainer"
    assert "trainer 'sft'" in info.error and info.refused


def test_check_lists_references_that_do_not_import(isolated_plugins):
    isolated_plugins.register(MistypedPlugin(), name="mistyped-plugin")
    [problem] = isolated_plugins.check("mistyped-plugin")
    assert "reward 'mistyped' (plugin mistyped-plugin)" in problem
    assert "'json:dumpz'" in problem and "Did you mean 'dump' or 'dumps'" in problem


class ExplicitTrainer(Trainer):
    def __init__(self, model=None, args=None, train_dataset=None, processing_class=None):
        super().__init__(model=model, args=args, train_dataset=train_dataset, processing_class=processing_class)


class ForwardingToExplicit(ExplicitTrainer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)


class ForwardingToSFT(SFTTrainer):
    def __init__(self, model, args=None, *rest, **kwargs):
        super().__init__(model, args, *rest, **kwargs)


def test_accepted_keywords_follow_kwargs_up_the_class_hierarchy():
    assert init_keywords(SFTTrainer).accepts("peft_config")
    assert init_keywords(ForwardingToSFT).accepts("peft_config")  # **kwargs reaches SFTTrainer's peft_config
    assert not init_keywords(ExplicitTrainer).accepts("peft_config")
    forwarding = init_keywords(ForwardingToExplicit)
    assert not forwarding.accepts("peft_config") and forwarding.accepts("processing_class")


class NoPeftPlugin:
    @hfplug.hookimpl
    def hfplug_register(self, registry):
        registry.trainer(
            "explicit", "tests.host.test_testing_kit:ForwardingToExplicit", config="trl:SFTConfig", summary="No PEFT."
        )
        registry.trainer(
            "forwarding", "tests.host.test_testing_kit:ForwardingToSFT", config="trl:SFTConfig", summary="PEFT."
        )


def test_use_peft_is_checked_against_the_trainer_before_any_model_loads(
    isolated_plugins, loading_is_forbidden, tmp_path
):
    isolated_plugins.register(NoPeftPlugin(), name="no-peft")
    config = tmp_path / "run.yaml"
    config.write_text("model_name_or_path: some/model\ndataset: data.jsonl\nuse_peft: true\nreport_to: none\n")
    refused = r"use_peft: trainer 'explicit' does not take a peft_config \(ForwardingToExplicit accepts: args"
    with pytest.raises(ConfigError, match=refused):
        parse_train_config(config, ["--trainer", "explicit"])
    setup = parse_train_config(config, ["--trainer", "forwarding"])
    assert setup.trainer_class is ForwardingToSFT and setup.model_config.use_peft
    assert loading_is_forbidden == []
