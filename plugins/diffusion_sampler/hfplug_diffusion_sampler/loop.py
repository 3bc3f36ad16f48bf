"""The denoising loop's pieces, importable from the package (the same code the strategy folders run)."""

from .strategies.joint_sampler.custom_generate.denoising import Denoiser, DenoisingStats, StepRecord
from .strategies.joint_sampler.custom_generate.generation_call import check_tokens_per_step, load_sampler
from .strategies.joint_sampler.custom_generate.masked_model import (
    MaskedDiffusionModel,
    find_mask_token_id,
    shift_right,
)
from .strategies.joint_sampler.custom_generate.positions import POSITION_CHOICES
from .strategies.joint_sampler.custom_generate.token_draw import TokenDraw

__all__ = [
    "POSITION_CHOICES",
    "Denoiser",
    "DenoisingStats",
    "MaskedDiffusionModel",
    "StepRecord",
    "TokenDraw",
    "check_tokens_per_step",
    "find_mask_token_id",
    "load_sampler",
    "shift_right",
]
