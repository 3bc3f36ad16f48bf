"""The compared methods, built by name through hfplug (``trainer: dpo`` and ``trainer: infopo``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import hfplug


@dataclass(frozen=True)
class Method:
    name: str
    trainer: str  # the hfplug trainer name
    fields: dict[str, Any] = field(default_factory=dict)  # config fields besides the shared budget


DPO = Method("dpo", "dpo")  # trl's default sigmoid loss, beta 0.1
INFOPO = Method("infopo", "infopo")  # nwj, beta 0.1, sequence sums (the plugin defaults)
INFOPO_SHIFTED = Method("infopo-shifted", "infopo", {"infopo_variant": "shifted"})
INFOPO_UKL = Method("infopo-ukl", "infopo", {"infopo_variant": "ukl", "infopo_length_average": True})


def build_trainer(method: Method, model: Any, tokenizer: Any, dataset: Any, shared: dict[str, Any], **kwargs: Any):
    """The method's trainer on ``model`` with the shared budget ``shared`` (the same dict for every method)."""
    trainer_class = hfplug.load("trainer", method.trainer)
    config_class = hfplug.load_config("trainer", method.trainer)
    args = config_class(**shared, **method.fields)
    return trainer_class(model, args=args, train_dataset=dataset, processing_class=tokenizer, **kwargs)


def shared_fields(output_dir: str, **overrides: Any) -> dict[str, Any]:
    """Training fields every method gets: CPU/GPU-safe precision, no checkpoints, reference log-probs once."""
    import torch

    on_gpu = torch.cuda.is_available()
    fields = {
        "output_dir": output_dir,
        "report_to": "none",
        "save_strategy": "no",
        "logging_steps": 1,
        "seed": 0,
        "use_cpu": not on_gpu,
        "bf16": on_gpu and torch.cuda.is_bf16_supported(),
        "activation_checkpointing": False,
        "dataloader_num_workers": 0,
        "precompute_ref_log_probs": True,
        "lr_scheduler_type": "constant",
        "disable_tqdm": True,
    }
    fields.update(overrides)
    return fields
