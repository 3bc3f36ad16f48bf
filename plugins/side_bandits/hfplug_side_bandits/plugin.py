"""Registers the side-information bandit and its policies with hfplug (names and lazy references only)."""

import hfplug

PAPER = "arXiv:2505.10698"
POLICY_REFERENCES = {
    "lp_tracking": (
        "LPTracking",
        "lp_tracking:LPTrackingConfig",
        "Explores at the LP lower bound's rates, then exploits [ours].",
    ),
    "ucb1": ("UCB1", "ucb:UCBConfig", "UCB1 on each arm's own rewards (baseline)."),
    "ucb_n": ("UCBN", "ucb:UCBConfig", "UCB-N: UCB indices from every side observation (baseline)."),
    "thompson": (
        "Thompson",
        "thompson:ThompsonConfig",
        "Gaussian Thompson sampling with side observations (baseline).",
    ),
}


@hfplug.hookimpl
def hfplug_register(registry):
    registry.model(
        "side_bandits",
        "hfplug_side_bandits.model:SideInformationBandit",
        config="hfplug_side_bandits.config:SimulationConfig",
        summary="Gaussian bandits with side information: LP lower bound, LP tracking, simulator.",
        paper=PAPER,
    )
    for name, (cls, config, summary) in POLICY_REFERENCES.items():
        registry.model(
            f"side_bandits.{name}",
            f"hfplug_side_bandits.policies:{cls}",
            config=f"hfplug_side_bandits.policies.{config}",
            summary=summary,
            paper=PAPER,
        )


@hfplug.hookimpl
def hfplug_commands(cli):
    from hfplug_side_bandits.cli import bandits

    cli.add_command(bandits)
