import sys

import pytest

from hfplug.errors import DuplicateComponentError, HfplugError, UnknownComponentError
from hfplug.registry import Component, PluginRegistrar, Registry, resolve_folder, resolve_object


def component(name="talr", kind="trainer", distribution="hfplug-talr", ref="json:dumps", **kw):
    return Component(kind=kind, name=name, ref=ref, summary="s", distribution=distribution, plugin=distribution, **kw)


def test_get_returns_the_registered_component():
    registry = Registry()
    registry.add(component())
    assert registry.get("trainer", "talr").distribution == "hfplug-talr"
    assert registry.names("trainer") == ["talr"]


def test_unknown_name_lists_installed_close_matches_and_the_pip_package():
    registry = Registry()
    registry.add(component("talr"))
    registry.add(component("sft", distribution="hfplug"))
    with pytest.raises(UnknownComponentError) as info:
        registry.get("trainer", "tlar")
    message = str(info.value)
    assert "Did you mean 'talr'" in message
    assert "Installed trainers: sft, talr" in message
    with pytest.raises(UnknownComponentError, match=r"not on PyPI yet: .*`pip install -e plugins/hispec`"):
        registry.get("generation", "hispec")


def test_unknown_kind_is_an_error_with_a_suggestion():
    with pytest.raises(UnknownComponentError, match="Did you mean 'trainer'"):
        Registry().get("trainers", "x")


def test_duplicate_name_from_two_distributions_names_both():
    registry = Registry()
    registry.add(component(distribution="hfplug-talr"))
    with pytest.raises(DuplicateComponentError) as info:
        registry.add(component(distribution="hfplug-other", ref="json:loads"))
    assert "hfplug-talr" in str(info.value) and "hfplug-other" in str(info.value)
    assert registry.get("trainer", "talr").distribution == "hfplug-talr"


def test_adding_the_same_component_twice_is_a_no_op():
    registry = Registry()
    registry.add(component())
    registry.add(component())
    assert registry.names("trainer") == ["talr"]


def test_same_name_in_different_kinds_does_not_clash():
    registry = Registry()
    registry.add(component("flow", kind="trainer"))
    registry.add(component("flow", kind="data"))
    assert registry.get("data", "flow").kind == "data"


def test_references_resolve_lazily():
    sys.modules.pop("tests_lazy_target_never_imported", None)
    registrar = PluginRegistrar("p", "hfplug-p", "1.0")
    registrar.trainer("lazy", "tests_lazy_target_never_imported:Trainer", config="x.y:Z", summary="lazy")
    assert "tests_lazy_target_never_imported" not in sys.modules
    assert resolve_object("json:dumps")([1]) == "[1]"
    assert resolve_object("os.path:join.__name__") == "join"


def test_bad_references_and_summaries_are_rejected_at_registration():
    registrar = PluginRegistrar("p", None, None)
    with pytest.raises(HfplugError, match=r"package\.module:Object"):
        registrar.trainer("x", "no_colon", config="a:b", summary="s")
    with pytest.raises(HfplugError, match="one-line summary"):
        registrar.reward("x", "a:b", summary="")
    with pytest.raises(HfplugError, match="kinds are"):
        registrar.add("sampler", "x", "a:b", summary="s")


def test_missing_attribute_in_reference_names_it():
    with pytest.raises(HfplugError, match="no attribute 'nope'"):
        resolve_object("json:nope")


def test_generation_folder_reference(tmp_path):
    assert resolve_folder("hfplug:testing").endswith("testing")
    with pytest.raises(HfplugError, match="not a folder"):
        resolve_folder("hfplug:no_such_folder")


def test_remove_plugin_forgets_its_components():
    registry = Registry()
    registry.add(component("a"))
    registry.add(component("b", distribution="other"))
    registry.remove_plugin("hfplug-talr")
    assert registry.names("trainer") == ["b"]


def test_a_metric_loads_as_its_folder(tmp_path, monkeypatch):
    package = tmp_path / "metric_pkg"
    (package / "score").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "score" / "score.py").write_text("# an evaluate module\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registrar = PluginRegistrar("p", "hfplug-p", "0.1")
    registrar.metric("score", "metric_pkg:score", summary="a score")
    [metric] = registrar.components
    assert metric.kind == "metric"
    assert metric.load() == str(package / "score")
