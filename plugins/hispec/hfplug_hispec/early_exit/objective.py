"""The LayerSkip early-exit objective in plain PyTorch: exit losses through the shared final norm
and LM head, and layer dropout rising with depth (exponentially by default, as LayerSkip does).

The ``early_exit`` trainer adds this to trl's SFT loss; with no trl installed (a bare GPU host),
a plain training loop can use it the same way::

    objective = EarlyExitObjective.for_model(model, layers=[2, 4], loss_scale=3.0)
    with objective.capture(model) as states:
        output = model(input_ids=ids, labels=ids)
    loss = output.loss + objective.loss_scale * objective.exit_loss(model, states, ids[:, 1:])
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


def decoder_parts(model: nn.Module) -> tuple[nn.Module, nn.Module]:
    """The decoder (with ``embed_tokens``, ``layers``, ``norm``) and the LM head of a causal LM,
    through PEFT wrappers."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    decoder = getattr(base, "model", None)
    if decoder is None or not all(hasattr(decoder, name) for name in ("embed_tokens", "layers", "norm")):
        raise ValueError(
            f"The early_exit trainer needs a decoder-only LM with model.embed_tokens/layers/norm "
            f"(Llama, Qwen2, Mistral, ...); got {type(base).__name__}."
        )
    return decoder, base.get_output_embeddings()


def exit_cross_entropy(
    logits: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None, distillation: float
) -> torch.Tensor:
    """Cross-entropy against the labels, mixed with cross-entropy against the full model's distribution."""
    hard = nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
    if teacher is None:
        return hard
    scored = labels != -100
    soft = -(teacher * torch.log_softmax(logits, dim=-1)).sum(-1)[scored].mean()
    return (1 - distillation) * hard + distillation * soft


# How layer dropout rises with depth. LayerSkip (arXiv:2404.16710, eq. for D(l)) and its authors'
# implementation (torchtune's layer dropout, ScaleType.EXP) use 2^(l/(L-1)) - 1: 0 at the first
# layer, 1 at the last, below the straight line in between.
LAYER_DROPOUT_SCHEDULES = ("exponential", "linear")


def layer_dropout_rates(num_layers: int, p_max: float, schedule: str = "exponential") -> list[float]:
    """The probability that each layer (0-based) is skipped in a training step: ``p_max`` times
    ``2^(l/(L-1)) - 1`` (exponential, LayerSkip's) or ``l/(L-1)`` (linear)."""
    if schedule not in LAYER_DROPOUT_SCHEDULES:
        raise ValueError(
            f"layer_dropout_schedule must be one of {', '.join(LAYER_DROPOUT_SCHEDULES)}; got {schedule!r}."
        )
    if num_layers < 2:
        return [0.0] * num_layers
    depths = [layer / (num_layers - 1) for layer in range(num_layers)]
    if schedule == "exponential":
        return [p_max * (math.pow(2.0, depth) - 1.0) for depth in depths]
    return [p_max * depth for depth in depths]


def check_settings(
    layers: Sequence[int] | None,
    weights: Sequence[float] | None,
    loss_scale: float,
    distillation: float,
    layer_dropout_max: float,
    layer_dropout_schedule: str = "exponential",
) -> None:
    """Raise a ValueError naming the first bad setting (the depth is checked where the model is known)."""
    layer_dropout_rates(0, 0.0, layer_dropout_schedule)  # names an unknown schedule
    if loss_scale < 0:
        raise ValueError(f"early_exit_loss_scale must be >= 0, got {loss_scale}.")
    if not 0 <= distillation <= 1:
        raise ValueError(f"early_exit_distillation must be in [0, 1], got {distillation}.")
    if not 0 <= layer_dropout_max < 1:
        raise ValueError(f"layer_dropout_max must be in [0, 1), got {layer_dropout_max}.")
    if weights is not None:
        if layers is None or len(weights) != len(layers):
            raise ValueError("early_exit_layer_weights needs early_exit_layers and one weight per exit layer.")
        if any(weight < 0 for weight in weights) or sum(weights) <= 0:
            raise ValueError("early_exit_layer_weights must be >= 0 with a positive sum.")


@dataclass(frozen=True)
class EarlyExitObjective:
    """Which exits are trained, how much each weighs (normalised to sum to 1), and the mixing knobs."""

    exit_weights: dict[int, float]
    loss_scale: float = 1.0
    distillation: float = 0.0
    layer_dropout_max: float = 0.0
    layer_dropout_schedule: str = "exponential"

    @classmethod
    def for_model(
        cls,
        model: nn.Module,
        layers: Sequence[int] | None = None,
        weights: Sequence[float] | None = None,
        *,
        loss_scale: float = 1.0,
        distillation: float = 0.0,
        layer_dropout_max: float = 0.0,
        layer_dropout_schedule: str = "exponential",
    ) -> EarlyExitObjective:
        """Check the exits against the model's depth. Defaults: every layer below the last, weighted
        by depth (deeper exits weigh more)."""
        check_settings(layers, weights, loss_scale, distillation, layer_dropout_max, layer_dropout_schedule)
        decoder, _ = decoder_parts(model)
        num_layers = len(decoder.layers)
        layers = list(layers) if layers else list(range(1, num_layers))
        for layer in layers:
            if not 1 <= layer < num_layers:
                raise ValueError(f"early_exit_layers must lie in 1..{num_layers - 1} (the model has {num_layers}).")
        weights = list(weights) if weights else [float(layer) for layer in layers]
        total = sum(weights)
        return cls(
            exit_weights={layer: weight / total for layer, weight in zip(layers, weights, strict=True)},
            loss_scale=loss_scale,
            distillation=distillation,
            layer_dropout_max=layer_dropout_max,
            layer_dropout_schedule=layer_dropout_schedule,
        )

    @contextlib.contextmanager
    def capture(self, model: nn.Module) -> Iterator[dict[int, torch.Tensor]]:
        """Around one forward: drop layers (training only) and record each kept layer's output.

        Yields ``states``: layer index -> its output, ``-1`` -> the embeddings.
        """
        decoder, _ = decoder_parts(model)
        states: dict[int, torch.Tensor] = {}
        with self._layer_dropout(decoder, model.training) as kept, _record_layer_outputs(decoder, kept, states):
            yield states

    def exit_loss(self, model: nn.Module, states: dict[int, torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        """The weighted sum of exit losses (not yet times ``loss_scale``). ``labels`` are already
        shifted: ``labels[:, t]`` is the token after position ``t``, -100 where nothing is scored."""
        decoder, head = decoder_parts(model)
        teacher = None
        if self.distillation > 0:
            with torch.no_grad():
                teacher = torch.softmax(head(decoder.norm(states[max(states)][:, :-1])).float(), dim=-1)
        total = labels.new_zeros((), dtype=torch.float32)
        for layer, weight in self.exit_weights.items():
            # A dropped layer passes its input through, so exit l reads the last kept layer below l.
            source = max((index for index in states if index < layer), default=-1)
            logits = head(decoder.norm(states[source][:, :-1])).float()
            total = total + weight * exit_cross_entropy(logits, labels, teacher, self.distillation)
        return total

    @contextlib.contextmanager
    def _layer_dropout(self, decoder: nn.Module, training: bool) -> Iterator[list[int]]:
        """Skip layers for this step (training only), each with its rate from ``layer_dropout_rates``."""
        layers = decoder.layers
        num_layers = len(layers)
        p_max = self.layer_dropout_max
        if not (training and p_max > 0 and num_layers > 1):
            yield list(range(num_layers))
            return
        rates = layer_dropout_rates(num_layers, p_max, self.layer_dropout_schedule)
        kept = [index for index in range(num_layers) if float(torch.rand(())) >= rates[index]]
        # Running a shorter ModuleList really saves the compute of the dropped layers.
        decoder.layers = nn.ModuleList([layers[index] for index in kept])
        try:
            yield kept
        finally:
            decoder.layers = layers


@contextlib.contextmanager
def _record_layer_outputs(decoder: nn.Module, kept: list[int], states: dict[int, torch.Tensor]) -> Iterator[None]:
    """Fill ``states[i]`` with layer i's output (``states[-1]``: the embeddings) during the forward."""

    def recorder(index: int) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            states[index] = output[0] if isinstance(output, tuple) else output

        return hook

    handles = [decoder.embed_tokens.register_forward_hook(recorder(-1))]
    handles += [decoder.layers[position].register_forward_hook(recorder(index)) for position, index in enumerate(kept)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
