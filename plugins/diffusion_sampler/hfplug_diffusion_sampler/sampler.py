"""The sampler layer, importable from the package (the same code the strategy folder runs)."""

from .strategies.joint_sampler.custom_generate.sampler_layer import FUSIONS, JointSampler, SamplerStep, head_fingerprint

__all__ = ["FUSIONS", "JointSampler", "SamplerStep", "head_fingerprint"]
