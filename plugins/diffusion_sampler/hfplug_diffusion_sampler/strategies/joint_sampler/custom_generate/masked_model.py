"""What the denoising loop needs from a masked diffusion LM, for any architecture: its mask token, whether
its logits are shifted (Dream), one full pass giving logits and the hidden states that feed the LM head,
the head itself and the input embeddings.

The hidden states are read with a forward hook on the model's output embeddings (the LM head's last
linear layer), so one code path serves our ModernBERT-style tiny models, Dream and LLaDA checkpoints.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

# Dream is initialised from an autoregressive model and keeps its convention: the logits at position i
# predict token i + 1, so Dream's own loop shifts them right by one. LLaDA and BERT-style models do not.
SHIFTED_MODEL_TYPES = ("dream",)


def find_mask_token_id(model: Any, explicit: int | None = None, tokenizer: Any = None) -> int:
    """The mask token id: ``explicit``, else the generation config's, the model config's or the tokenizer's."""
    sources = [
        ("mask_token_id=", explicit),
        ("generation_config.mask_token_id", getattr(getattr(model, "generation_config", None), "mask_token_id", None)),
        ("config.mask_token_id", getattr(getattr(model, "config", None), "mask_token_id", None)),
        ("tokenizer.mask_token_id", getattr(tokenizer, "mask_token_id", None)),
    ]
    for _, value in sources:
        if value is not None:
            return int(value)
    name = type(model).__name__
    raise ValueError(
        f"{name} is not a masked diffusion LM: it has no mask token (looked at "
        f"{', '.join(source for source, _ in sources)}). Masked diffusion LMs such as Dream and LLaDA define one; "
        "pass mask_token_id=... if yours is named differently."
    )


def uses_shifted_logits(model: Any) -> bool:
    """True for Dream-style models, whose logits at position i predict token i + 1."""
    model_type = str(getattr(getattr(model, "config", None), "model_type", "")).lower()
    return model_type in SHIFTED_MODEL_TYPES


def shift_right(values: torch.Tensor) -> torch.Tensor:
    """``values[:, i - 1]`` at position i (position 0 keeps its own), as Dream's ``diffusion_generate`` does."""
    return torch.cat([values[:, :1], values[:, :-1]], dim=1)


class MaskedDiffusionModel:
    """A frozen masked diffusion LM seen through the loop's needs; logits and hidden states come back
    aligned so that position j holds the prediction for token j in both styles."""

    def __init__(self, model: nn.Module, mask_token_id: int, shift_logits: bool | None = None) -> None:
        self.model = model
        self.mask_token_id = mask_token_id
        self.shift_logits = uses_shifted_logits(model) if shift_logits is None else bool(shift_logits)
        head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
        if not isinstance(head, nn.Module) or not isinstance(getattr(head, "weight", None), torch.Tensor):
            raise ValueError(f"{type(model).__name__} has no output embeddings (LM head) to read hidden states from.")
        self.head = head
        self.embeddings = model.get_input_embeddings()
        self.vocab_size, self.hidden_size = head.weight.shape
        if not 0 <= mask_token_id < self.vocab_size:
            raise ValueError(
                f"mask_token_id {mask_token_id} is outside the model's vocabulary (0..{self.vocab_size - 1})."
            )
        self.head_checked = False

    def full_pass(
        self, canvas: torch.Tensor, attention_mask: torch.Tensor | None, with_hidden: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Aligned float logits ``(B, L, V)`` and, when asked, the hidden states ``(B, L, hidden)`` feeding the head."""
        captured: list[torch.Tensor] = []
        handle = None
        if with_hidden:
            handle = self.head.register_forward_hook(lambda module, args, output: captured.append(args[0]))
        try:
            output = self.model(input_ids=canvas, attention_mask=attention_mask)
        finally:
            if handle is not None:
                handle.remove()
        logits = output.logits if hasattr(output, "logits") else output[0]
        hidden = None
        if with_hidden:
            if not captured:
                raise ValueError(
                    f"{type(self.model).__name__} computed its logits without calling its output embeddings module, "
                    "so the joint sampler cannot read the hidden states that feed the LM head."
                )
            hidden = captured[-1]
            if not self.head_checked:
                self._check_head(hidden, logits)
        if self.shift_logits:
            logits = shift_right(logits)
            hidden = None if hidden is None else shift_right(hidden)
        return self._never_mask(logits.float()), hidden

    def _check_head(self, hidden: torch.Tensor, logits: torch.Tensor) -> None:
        """Head(H) must be the logits (no soft-capping or scaling after the head), or the sampler's q is off."""
        with torch.no_grad():
            again = self.head(hidden[:, :1]).float()
        reference = logits[:, :1].float()
        if not torch.allclose(again, reference, atol=1e-3 * (1 + reference.abs().max().item()), rtol=1e-3):
            raise ValueError(
                f"{type(self.model).__name__} changes its logits after the LM head (e.g. soft-capping or scaling); "
                "the joint sampler reuses the head and needs Head(hidden) == logits."
            )
        self.head_checked = True

    def logits_of(self, states: torch.Tensor) -> torch.Tensor:
        """The frozen head on sampler outputs ``u``; float logits (the mask token excluded)."""
        return self._never_mask(self.head(states.to(self.head.weight.dtype)).float())

    def _never_mask(self, logits: torch.Tensor) -> torch.Tensor:
        # A drawn mask token would leave its position masked; Dream and LLaDA never predict it, a small model may.
        logits[..., self.mask_token_id] = float("-inf")
        return logits

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """The frozen input embeddings of ``tokens``."""
        return self.embeddings(tokens)
