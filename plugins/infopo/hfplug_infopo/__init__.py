"""InfoPO (arXiv:2505.08507) for trl's DPOTrainer: preference optimization from the NWJ mutual-information bound.

``InfoPOTrainer``, ``InfoPOConfig`` and ``infopo_loss`` live in their own modules so that importing the
package (as the plugin host does) never imports torch.
"""

__all__ = ["InfoPOConfig", "InfoPOTrainer", "infopo_loss"]


def __getattr__(name: str):
    if name == "InfoPOTrainer":
        from hfplug_infopo.trainer import InfoPOTrainer

        return InfoPOTrainer
    if name == "InfoPOConfig":
        from hfplug_infopo.config import InfoPOConfig

        return InfoPOConfig
    if name == "infopo_loss":
        from hfplug_infopo.losses import infopo_loss

        return infopo_loss
    raise AttributeError(name)
