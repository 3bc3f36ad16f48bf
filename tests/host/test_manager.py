import pytest

from hfplug.errors import PluginLoadError
from hfplug.manager import HfplugManager

from .helpers import fake_entry_points, write_module

GOOD = """
import hfplug

@hfplug.hookimpl
def hfplug_register(registry):
    registry.trainer("good", "json:JSONDecoder", config="json:JSONDecoder", summary="A good trainer.")
"""
IMPORT_ERROR = """
import module_that_does_not_exist_anywhere
"""
HOOK_ERROR = """
import hfplug

@hfplug.hookimpl
def hfplug_register(registry):
    registry.trainer("half", "json:dumps", config="json:JSONDecoder", summary="Registered before the crash.")
    raise RuntimeError("plugin bug in register")
"""
CLASH = """
import hfplug

@hfplug.hookimpl
def hfplug_register(registry):
    registry.trainer("good", "json:loads", config="json:JSONDecoder", summary="Same name, other plugin.")
"""


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    write_module(tmp_path, "hp_good", GOOD)
    write_module(tmp_path, "hp_import_error", IMPORT_ERROR)
    write_module(tmp_path, "hp_hook_error", HOOK_ERROR)
    write_module(tmp_path, "hp_clash", CLASH)
    monkeypatch.delenv("HFPLUG_STRICT", raising=False)
    monkeypatch.delenv("HFPLUG_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("HFPLUG_DISABLE_PLUGINS", raising=False)
    return tmp_path


def test_broken_plugins_are_recorded_and_the_rest_work(plugin_dir, monkeypatch):
    fake_entry_points(monkeypatch, plugin_dir, {"good": "hp_good", "imp": "hp_import_error", "hook": "hp_hook_error"})
    manager = HfplugManager().load()
    assert manager.registry.get("trainer", "good").plugin == "good"
    errors = manager.errors()
    assert "module_that_does_not_exist_anywhere" in errors["imp"] and "failed to import" in errors["imp"]
    assert "plugin bug in register" in errors["hook"]
    # A plugin that fails part-way registers nothing at all.
    assert "half" not in manager.registry.names("trainer")
    assert "sft" in manager.registry.names("trainer")


def test_strict_mode_makes_a_broken_plugin_fatal(plugin_dir, monkeypatch):
    fake_entry_points(monkeypatch, plugin_dir, {"good": "hp_good", "hook": "hp_hook_error"})
    monkeypatch.setenv("HFPLUG_STRICT", "1")
    with pytest.raises(PluginLoadError, match="plugin bug in register"):
        HfplugManager().load()


def test_duplicate_between_plugins_is_an_error_naming_both(plugin_dir, monkeypatch):
    fake_entry_points(monkeypatch, plugin_dir, {"a_good": "hp_good", "b_clash": "hp_clash"})
    manager = HfplugManager().load()
    error = manager.errors()["b_clash"]
    assert "a_good" in error and "b_clash" in error and "'good'" in error
    monkeypatch.setenv("HFPLUG_STRICT", "1")
    with pytest.raises(PluginLoadError, match="registered by both"):
        HfplugManager().load()


def test_load_and_disable_switches(plugin_dir, monkeypatch):
    fake_entry_points(monkeypatch, plugin_dir, {"good": "hp_good", "imp": "hp_import_error"})
    monkeypatch.setenv("HFPLUG_LOAD_PLUGINS", "good")
    manager = HfplugManager().load()
    assert set(manager.plugins) >= {"good"} and "imp" not in manager.plugins
    monkeypatch.delenv("HFPLUG_LOAD_PLUGINS")
    monkeypatch.setenv("HFPLUG_DISABLE_PLUGINS", "good, imp")
    manager = HfplugManager().load()
    assert "good" not in manager.plugins and "imp" not in manager.plugins
    assert "sft" in manager.registry.names("trainer")


def test_loading_twice_is_idempotent(plugin_dir, monkeypatch):
    fake_entry_points(monkeypatch, plugin_dir, {"good": "hp_good"})
    manager = HfplugManager().load()
    manager.load()
    import hp_good

    manager.register(hp_good, name="good")
    assert manager.errors() == {}
    assert manager.registry.names("trainer").count("good") == 1


def test_isolated_plugins_fixture_adds_and_removes(isolated_plugins):
    import hfplug

    class Plugin:
        @hfplug.hookimpl
        def hfplug_register(self, registry):
            registry.reward("always_one", "builtins:len", summary="Test reward.")

    isolated_plugins.register(Plugin(), name="test-plugin")
    assert "always_one" in hfplug.names("reward")
    isolated_plugins.unregister("test-plugin")
    assert "always_one" not in hfplug.names("reward")
