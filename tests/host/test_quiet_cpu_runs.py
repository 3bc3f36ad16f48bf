"""A CPU training run says nothing the user cannot act on: no pinned-memory warning (hfplug defaults it off
without an accelerator) and no deprecation of a checkpointing name that only peft and trl use."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import pytest
import yaml
from trl import SFTConfig

from hfplug.config import parse_train_config
from hfplug.precision import bf16_available, pinned_memory_useful
from hfplug.testing import write_jsonl
from hfplug.train import run_training
from hfplug.trainers.machine_defaults import MachineDefaults

# On a machine with an accelerator the default is True, and nothing warns either.
PINNED_BY_DEFAULT = pinned_memory_useful()

ROWS = [
    {"messages": [{"role": "user", "content": f"What is {i} plus 1?"}, {"role": "assistant", "content": str(i + 1)}]}
    for i in range(4)
]


def config(tmp_path, model_dir, extra=""):
    data = write_jsonl(tmp_path / "train.jsonl", ROWS)
    path = tmp_path / "run.yaml"
    path.write_text(
        f"trainer: sft\nmodel_name_or_path: {model_dir}\ndataset: {data}\noutput_dir: {tmp_path / 'out'}\n"
        "max_steps: 1\nper_device_train_batch_size: 2\nmax_length: 32\nreport_to: none\nsave_strategy: 'no'\n" + extra
    )
    return path


@dataclasses.dataclass
class OwnConfig(MachineDefaults, SFTConfig):
    """A plugin's config class, as the plugin guide writes one."""


def test_pinned_memory_defaults_off_without_an_accelerator_unless_asked(tmp_path, tiny_model_dir):
    default = parse_train_config(config(tmp_path, tiny_model_dir), []).trainer_config
    assert default.dataloader_pin_memory is PINNED_BY_DEFAULT
    asked = parse_train_config(config(tmp_path, tiny_model_dir, "dataloader_pin_memory: true\n"), [])
    assert asked.trainer_config.dataloader_pin_memory is True
    assert OwnConfig(output_dir=str(tmp_path)).dataloader_pin_memory is PINNED_BY_DEFAULT
    assert OwnConfig(output_dir=str(tmp_path), dataloader_pin_memory=True).dataloader_pin_memory is True


@pytest.mark.parametrize("checkpointing", ["", "activation_checkpointing: false\n"])
def test_a_lora_run_on_cpu_warns_about_nothing_the_user_can_fix(tmp_path, tiny_model_dir, checkpointing):
    lora = "use_peft: true\nlora_r: 2\nlora_target_modules: [q_proj, v_proj]\n" + checkpointing
    setup = parse_train_config(config(tmp_path, tiny_model_dir, lora), [])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # over pytest's own filters, which hide the pin_memory warning
        run_training(setup)
    assert (tmp_path / "out" / "adapter_config.json").is_file()
    noise = [str(w.message) for w in caught if "pin_memory" in str(w.message) or "checkpointing" in str(w.message)]
    assert noise == []


def test_the_infopo_example_leaves_precision_and_pinning_to_the_host():
    path = Path(__file__).resolve().parents[2] / "examples" / "infopo" / "infopo_smollm2.yaml"
    assert not {"bf16", "fp16", "dataloader_pin_memory"} & set(yaml.safe_load(path.read_text()))
    arguments = parse_train_config(path, []).trainer_config
    assert arguments.bf16 is bf16_available() and arguments.dataloader_pin_memory is PINNED_BY_DEFAULT
