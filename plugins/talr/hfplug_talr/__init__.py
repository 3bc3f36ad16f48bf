"""TALR: Token-Adaptive Loss Reweighting (arXiv:2509.20758) for trl's SFTTrainer.

``TALRTrainer`` and ``TALRConfig`` live in their own modules so that importing the package (as the
plugin host does) never imports torch.
"""

__all__ = ["TALRConfig", "TALRTrainer"]


def __getattr__(name: str):
    if name == "TALRTrainer":
        from hfplug_talr.trainer import TALRTrainer

        return TALRTrainer
    if name == "TALRConfig":
        from hfplug_talr.config import TALRConfig

        return TALRConfig
    raise AttributeError(name)
