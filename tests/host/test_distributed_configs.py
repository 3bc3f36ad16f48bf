"""The accelerate configs in examples/accelerate/ are read by accelerate's own launcher code: each loads, turns
on the setup its name says, and the FSDP2 one builds accelerate's FSDP plugin from the environment the launcher
would set. (ddp.yaml also runs: tests/host/test_distributed.py launches hfplug train with it.) Neither FSDP2 nor
DeepSpeed runs here: accelerate builds FSDP only for GPU-like devices, and DeepSpeed is not installed."""

import os
from pathlib import Path
from unittest import mock

import pytest
from accelerate.commands.launch import _validate_launch_command, launch_command_parser

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "accelerate"


def _launch_args(name: str):
    """What `accelerate launch --config_file examples/accelerate/<name>.yaml script.py` resolves its options to."""
    args = launch_command_parser().parse_args(["--config_file", str(EXAMPLES / f"{name}.yaml"), "script.py"])
    args, _, _ = _validate_launch_command(args)
    return args


def test_every_shipped_config_is_tested():
    assert sorted(path.stem for path in EXAMPLES.glob("*.yaml")) == ["ddp", "fsdp2", "zero3"]


@pytest.mark.parametrize("name", ["ddp", "fsdp2", "zero3"])
def test_the_config_names_only_keys_accelerate_knows(name):
    from accelerate.commands.config.config_args import ClusterConfig

    config = ClusterConfig.from_yaml_file(str(EXAMPLES / f"{name}.yaml"))  # raises on an unknown top-level key
    # Nested keys become launcher options by name; one the launcher has no option for would be dropped silently.
    options = {action.dest for action in launch_command_parser()._actions}
    nested = [*config.fsdp_config, *config.deepspeed_config]
    assert [key for key in nested if key not in options] == []
    assert config.mixed_precision == "bf16"


def test_ddp_is_multi_gpu_data_parallel():
    args = _launch_args("ddp")
    assert args.multi_gpu and not args.use_fsdp and not args.use_deepspeed


def test_fsdp2_builds_accelerates_fsdp2_plugin():
    from accelerate.utils import FullyShardedDataParallelPlugin
    from accelerate.utils.launch import prepare_multi_gpu_env

    args = _launch_args("fsdp2")
    assert args.use_fsdp and not args.use_deepspeed
    with mock.patch.dict(os.environ, prepare_multi_gpu_env(args)):
        plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 2
    assert plugin.reshard_after_forward is True
    assert "FULL_STATE_DICT" in str(plugin.state_dict_type)  # save_model writes one ordinary checkpoint
    assert plugin.auto_wrap_policy.__name__ == "transformer_auto_wrap_policy"


def test_zero3_is_deepspeed_stage_3():
    args = _launch_args("zero3")
    assert args.use_deepspeed and not args.use_fsdp
    assert int(args.zero_stage) == 3
    assert str(args.zero3_init_flag).lower() == "true" and str(args.zero3_save_16bit_model).lower() == "true"
