"""Registers the HiSpec decoding strategies and the early-exit trainer with hfplug."""

import hfplug

PAPER = "arXiv:2510.01336"


@hfplug.hookimpl
def hfplug_register(registry):
    registry.generation(
        "hispec",
        "hfplug_hispec:strategies/hispec",
        summary="Hierarchical self-speculation: early-exit draft, middle-exit verify, full-model validation.",
        paper=PAPER,
    )
    registry.generation(
        "self_spec",
        "hfplug_hispec:strategies/self_spec",
        summary="Single-exit self-speculation (LayerSkip): draft at an early exit, verify with the full model.",
        paper="arXiv:2404.16710",
    )
    registry.generation(
        "greedy",
        "hfplug_hispec:strategies/greedy",
        summary="Plain one-token-per-pass decoding on the same machinery, the control for hispec and self_spec.",
    )
    registry.trainer(
        "early_exit",
        "hfplug_hispec.early_exit.trainer:EarlyExitTrainer",
        config="hfplug_hispec.early_exit.config:EarlyExitConfig",
        summary="SFT with LayerSkip early-exit losses and layer dropout, so a causal LM can draft for itself.",
        paper="arXiv:2404.16710",
        columns=[["messages"], ["prompt", "completion"], ["text"]],
    )


@hfplug.hookimpl
def hfplug_commands(cli):
    from hfplug_hispec.cli import hispec_layers_command

    cli.add_command(hispec_layers_command)
