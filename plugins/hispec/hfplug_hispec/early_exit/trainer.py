"""SFT with LayerSkip's early-exit loss and layer dropout (arXiv:2404.16710)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn
from trl import SFTTrainer

from .config import EarlyExitConfig


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


class EarlyExitTrainer(SFTTrainer):
    """An ``SFTTrainer`` whose loss also trains chosen layers to exit early through the shared head."""

    _tag_names = ["trl", "sft", "hfplug", "hfplug-hispec", "early-exit"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        config = kwargs.get("args", args[1] if len(args) > 1 else None)
        if not isinstance(config, EarlyExitConfig):
            raise TypeError(f"EarlyExitTrainer needs args=EarlyExitConfig(...), got {type(config).__name__}.")
        super().__init__(*args, **kwargs)
        decoder, _ = decoder_parts(self.model)
        num_layers = len(decoder.layers)
        layers = config.early_exit_layers or list(range(1, num_layers))
        for layer in layers:
            if not 1 <= layer < num_layers:
                raise ValueError(f"early_exit_layers must lie in 1..{num_layers - 1} (the model has {num_layers}).")
        weights = config.early_exit_layer_weights or [float(layer) for layer in layers]
        total = sum(weights)
        self.exit_weights = {layer: weight / total for layer, weight in zip(layers, weights, strict=True)}

    def compute_loss(
        self, model: nn.Module, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        """Final-layer SFT loss plus the weighted early-exit losses."""
        decoder, head = decoder_parts(self.accelerator.unwrap_model(model))
        states: dict[int, torch.Tensor] = {}
        with self._layer_dropout(decoder) as kept, _record_layer_outputs(decoder, kept, states):
            result = super().compute_loss(
                model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
            )
        loss, outputs = result if return_outputs else (result, None)
        labels = inputs["labels"][:, 1:]
        distillation = self.args.early_exit_distillation
        teacher = None
        if distillation > 0:
            with torch.no_grad():
                teacher = torch.softmax(head(decoder.norm(states[max(states)][:, :-1])).float(), dim=-1)
        early_exit_loss = loss.new_zeros(())
        for layer, weight in self.exit_weights.items():
            # A dropped layer passes its input through, so exit l reads the last kept layer below l.
            source = max((index for index in states if index < layer), default=-1)
            logits = head(decoder.norm(states[source][:, :-1])).float()
            early_exit_loss = early_exit_loss + weight * _exit_loss(logits, labels, teacher, distillation)
        mode = "train" if model.training else "eval"
        self._metrics[mode]["early_exit_loss"].append(float(early_exit_loss.detach()))
        loss = loss + self.args.early_exit_loss_scale * early_exit_loss
        return (loss, outputs) if return_outputs else loss

    @contextlib.contextmanager
    def _layer_dropout(self, decoder: nn.Module) -> Iterator[list[int]]:
        """Skip layers for this step (training only): layer l is dropped with p_max * l / (L - 1)."""
        layers = decoder.layers
        num_layers = len(layers)
        p_max = self.args.layer_dropout_max
        if not (self.model.training and p_max > 0 and num_layers > 1):
            yield list(range(num_layers))
            return
        rates = torch.arange(num_layers, dtype=torch.float32) * (p_max / (num_layers - 1))
        kept = [index for index in range(num_layers) if torch.rand(()) >= rates[index]]
        # Running a shorter ModuleList really saves the compute of the dropped layers.
        decoder.layers = nn.ModuleList([layers[index] for index in kept])
        try:
            yield kept
        finally:
            decoder.layers = layers


def _exit_loss(
    logits: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None, distillation: float
) -> torch.Tensor:
    """Cross-entropy against the labels, mixed with cross-entropy against the full model's distribution."""
    hard = nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
    if teacher is None:
        return hard
    scored = labels != -100
    soft = -(teacher * torch.log_softmax(logits, dim=-1)).sum(-1)[scored].mean()
    return (1 - distillation) * hard + distillation * soft


@contextlib.contextmanager
def _record_layer_outputs(decoder: nn.Module, kept: list[int], states: dict[int, torch.Tensor]) -> Iterator[None]:
    """Fill ``states[i]`` with layer i's output (``states[-1]``: the embeddings) during the forward."""

    def recorder(index: int):
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
