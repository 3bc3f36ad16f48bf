"""``MMDAEConfig``: the ``mmd_ae`` trainer's settings, a ``TrainingArguments`` subclass.

Defaults marked [paper] come from arXiv:2510.11953 (Adam, lr 5e-4, batch 512, lambda 0.3, d = 12
on MNIST, kernel scales {0.5, 1, 2}, biased estimator); [ours] where the paper is silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments
from transformers.trainer_utils import SchedulerType

from hfplug.errors import ConfigError
from hfplug_mmd_prior.mmd import PAPER_SCALES, check_estimator, check_scales
from hfplug_mmd_prior.model import OBJECTIVES
from hfplug_mmd_prior.networks import ARCHITECTURES, OUTPUT_ACTIVATIONS
from hfplug_mmd_prior.priors import normalize_spec

# The objectives whose regulariser is computed from a whole batch of codes.
BATCH_OBJECTIVES = ("mmd", "kld")


@dataclass
class MMDAEConfig(TrainingArguments):
    """Settings for AE-MMD and its baselines (every ``TrainingArguments`` field works too)."""

    objective: str = field(
        default="mmd",
        metadata={
            "help": "mmd: MSE + prior_weight * MMD^2(codes, prior samples) [paper]; vae: negative ELBO with beta "
            "(beta=4 is beta-VAE(4)); kld: MSE + prior_weight * KL(N(batch mean, batch cov) || N(0, I)) (AE-KLD); "
            "ae: plain MSE autoencoder.",
            "choices": list(OBJECTIVES),
        },
    )
    latent_dim: int = field(default=12, metadata={"help": "Size of the code (12 for MNIST [paper], 64 for CIFAR)."})
    prior: dict | str | None = field(
        default="gaussian",
        metadata={
            "help": "The target prior for objective=mmd: a name (gaussian, uniform, gmm) or a mapping such as "
            "{name: hybrid, marginals: [{name: gaussian, dims: 6}, {name: uniform, dims: 6}]} or "
            "{name: empirical, path: bank.npy}; JSON text on the command line [paper: N(0, I)]."
        },
    )
    prior_weight: float = field(
        default=0.3, metadata={"help": "lambda: weight of MMD^2 (mmd) or of the batch KL (kld) [paper: 0.3 for MMD]."}
    )
    mmd_estimator: str = field(
        default="biased",
        metadata={
            "help": "biased [paper], unbiased (U-statistic) or linear (O(n)) [ours].",
            "choices": ["biased", "unbiased", "linear"],
        },
    )
    kernel_scales: list[float] = field(
        default_factory=lambda: list(PAPER_SCALES),
        metadata={"help": "RBF bandwidth multipliers of the median distance [paper: 0.5 1 2]."},
    )
    beta: float = field(default=1.0, metadata={"help": "KL weight for objective=vae (1: VAE, 4: beta-VAE(4)) [paper]."})
    vae_decoder_variance: float = field(
        default=0.5,
        metadata={
            "help": "Fixed variance of the VAE's Gaussian decoder; 0.5 makes the ELBO sum(squared error) + KL, the "
            "usual PyTorch VAE [ours]."
        },
    )
    architecture: str = field(
        default="auto",
        metadata={
            "help": "conv (four conv layers per side, 28x28 images), mlp, or auto: conv for 28x28 inputs, mlp "
            "otherwise [ours].",
            "choices": ["auto", *ARCHITECTURES],
        },
    )
    channels: list[int] = field(
        default_factory=lambda: [32, 32, 64, 64], metadata={"help": "Widths of the four conv layers [ours]."}
    )
    hidden_sizes: list[int] = field(
        default_factory=lambda: [256, 256], metadata={"help": "Hidden widths of the MLP encoder (mirrored) [ours]."}
    )
    output_activation: str = field(
        default="sigmoid",
        metadata={
            "help": "sigmoid for data in [0, 1], none for unbounded data [ours].",
            "choices": list(OUTPUT_ACTIVATIONS),
        },
    )
    input_column: str = field(default="pixel_values", metadata={"help": "Dataset column holding each example."})
    input_shape: list[int] | None = field(
        default=None,
        metadata={"help": "Shape of one example, e.g. 1 28 28; inferred from the data when unset (784 -> 1 28 28)."},
    )
    rescale_factor: float | None = field(
        default=None,
        metadata={"help": "Multiply inputs by this; unset: 1/255 for integer columns (uint8 pixels), 1 otherwise."},
    )
    # TrainingArguments defaults that differ for this trainer.
    learning_rate: float = field(default=5e-4, metadata={"help": "Adam learning rate [paper]."})
    per_device_train_batch_size: int = field(default=512, metadata={"help": "Batch size [paper: 512]."})
    per_device_eval_batch_size: int = field(default=512, metadata={"help": "Evaluation batch size."})
    num_train_epochs: float = field(default=250.0, metadata={"help": "Epochs [paper: 250 on MNIST]."})
    lr_scheduler_type: SchedulerType | str = field(
        default="constant", metadata={"help": "Constant rate, as plain Adam [ours]."}
    )
    remove_unused_columns: bool = field(default=False, metadata={"help": "Keep the input column (no tokenizer)."})
    dataloader_drop_last: bool = field(
        default=True,
        metadata={
            "help": "Drop a short last batch: an MMD or covariance of a handful of codes is mostly noise [ours]."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"objective: unknown {self.objective!r}; choose one of {', '.join(OBJECTIVES)}.")
        if self.latent_dim < 1:
            raise ConfigError(f"latent_dim: must be positive, got {self.latent_dim}.")
        self.prior = normalize_spec(self.prior if self.prior is not None else "gaussian")
        check_estimator(self.mmd_estimator)
        self.kernel_scales = list(check_scales(self.kernel_scales))
        for name in ("prior_weight",):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"{name}: must be >= 0, got {getattr(self, name)}.")
        for name in ("beta", "vae_decoder_variance"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name}: must be positive, got {getattr(self, name)}.")
        if self.architecture not in ("auto", *ARCHITECTURES):
            raise ConfigError(f"architecture: unknown {self.architecture!r}; choose auto, {', '.join(ARCHITECTURES)}.")
        if self.output_activation not in OUTPUT_ACTIVATIONS:
            raise ConfigError(f"output_activation: unknown {self.output_activation!r}.")
        if self.rescale_factor is not None and not self.rescale_factor > 0:
            raise ConfigError(f"rescale_factor: must be positive, got {self.rescale_factor}.")
        self._check_batch_size()

    def _check_batch_size(self) -> None:
        """The MMD and the batch KL are statistics of a batch of codes: one code is not a distribution."""
        if self.objective not in BATCH_OBJECTIVES:
            return
        smallest = self.latent_dim + 1 if self.objective == "kld" else 2
        if self.per_device_train_batch_size < smallest:
            why = "a batch covariance of full rank" if self.objective == "kld" else "a distribution to compare"
            raise ConfigError(
                f"per_device_train_batch_size: objective={self.objective!r} needs at least {smallest} examples per "
                f"batch ({why}), got {self.per_device_train_batch_size}."
            )
