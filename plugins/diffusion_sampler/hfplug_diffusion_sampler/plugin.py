"""Registers the masked-diffusion decoding strategies, the sampler trainer and the sampler model with hfplug."""

import hfplug

PAPER = "arXiv:2509.22738"


@hfplug.hookimpl
def hfplug_register(registry):
    registry.generation(
        "joint_sampler",
        "hfplug_diffusion_sampler:strategies/joint_sampler",
        summary="Masked diffusion LMs: K tokens per step, one full pass + K-1 passes of a trained one-layer sampler.",
        paper=PAPER,
    )
    registry.generation(
        "exact",
        "hfplug_diffusion_sampler:strategies/exact",
        summary="Masked diffusion LMs: one token per full pass (the exact sequential joint), the quality baseline.",
        paper=PAPER,
    )
    registry.generation(
        "marginal",
        "hfplug_diffusion_sampler:strategies/marginal",
        summary="Masked diffusion LMs: K tokens per full pass, each from its own marginal, the speed baseline.",
        paper=PAPER,
    )
    registry.trainer(
        "joint_sampler",
        "hfplug_diffusion_sampler.trainer.trainer:JointSamplerTrainer",
        config="hfplug_diffusion_sampler.trainer.config:JointSamplerConfig",
        summary="Distils the ADJUST one-layer joint sampler from a frozen masked diffusion LM (KL to exact passes).",
        paper=PAPER,
        columns=[["prompt"], ["text"]],
        model_loader="hfplug_diffusion_sampler.loading:load_masked_diffusion_lm",
    )
    registry.model(
        "joint_sampler",
        "hfplug_diffusion_sampler.sampler:JointSampler",
        summary="The ADJUST sampler layer (PyTorchModelHubMixin): save_pretrained / from_pretrained / push_to_hub.",
        paper=PAPER,
    )
