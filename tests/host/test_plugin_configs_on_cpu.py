"""Every trainer's config class built in Python with nothing but ``output_dir`` works on the machine at hand.

trl's configs turn bf16 on by default, which ``TrainingArguments`` refuses on a CPU; the README promises that
plugin config classes built in Python default it to what the machine supports (``MachineDefaults``).
"""

from __future__ import annotations

import pytest

import hfplug
from hfplug.precision import bf16_available

# trl's own classes (the built-in sft, dpo, grpo) are trl's to change; configs from files fix them (test_config.py).
PLUGIN_TRAINERS = [name for name in hfplug.names("trainer") if hfplug.get("trainer", name).distribution != "hfplug"]


def test_the_plugin_trainers_are_all_here():
    assert {"talr", "flow", "infopo", "murphy", "early_exit", "joint_sampler", "mmd_ae"} <= set(PLUGIN_TRAINERS)


@pytest.mark.parametrize("name", PLUGIN_TRAINERS)
def test_a_plugin_trainer_config_built_in_python_fits_the_machine(name, tmp_path):
    config_class = hfplug.load_config("trainer", name)
    assert config_class is not None, f"trainer {name!r} registers no config class"
    config = config_class(output_dir=str(tmp_path))  # raised on a CPU while trl's bf16 default was left on
    assert not config.bf16 or bf16_available()
