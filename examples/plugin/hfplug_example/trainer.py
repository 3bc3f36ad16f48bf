"""A trainer that changes the loss: trl's SFTTrainer, trained only on the hardest tokens of each batch.

trl 1.16's SFTTrainer never builds the full logits: ``model(**inputs, fused_lm_head=True)`` returns
per-token ``log_probs`` (0 where the label is ignored) and a ``label_mask``, computed chunk by chunk.
Override ``compute_loss`` and start from those, as below. (``compute_loss_func`` still exists but is
deprecated: it needs the full logits, so every step runs a second forward pass.)
"""

import torch
from trl import SFTTrainer


def hardest_tokens(token_loss: torch.Tensor, mask: torch.Tensor, keep_ratio: float) -> torch.Tensor:
    """A boolean mask of the ``keep_ratio`` fraction of valid tokens with the highest loss (at least one)."""
    valid = token_loss[mask]
    if valid.numel() == 0 or keep_ratio >= 1.0:
        return mask
    keep = max(1, round(keep_ratio * valid.numel()))
    threshold = valid.topk(keep).values[-1]
    return mask & (token_loss >= threshold)


class TopLossSFTTrainer(SFTTrainer):
    """SFT whose training loss is ``sum(nll over the kept tokens) / (valid tokens of the step)``.

    The denominator is SFTTrainer's own (``num_items_in_batch``, all valid tokens of the optimizer step),
    so ``keep_ratio=1`` reproduces SFTTrainer's loss exactly and gradient accumulation adds up like
    one large batch. Evaluation keeps SFTTrainer's plain cross-entropy.
    """

    _tag_names = ["trl", "sft", "hfplug", "hfplug-example"]

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if not model.training or return_outputs:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        inputs["use_cache"] = False
        outputs = model(**inputs, fused_lm_head=True)
        token_loss = -outputs.log_probs  # (batch, positions): position t predicts token t + 1
        kept = hardest_tokens(token_loss.detach(), outputs.label_mask, self.args.keep_ratio)
        num_tokens = outputs.label_mask.sum() if num_items_in_batch is None else num_items_in_batch
        loss = (token_loss * kept).sum() / torch.as_tensor(num_tokens, device=token_loss.device).clamp(min=1)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes  # as SFTTrainer: DDP averages, the count is global
        self._metrics["train"]["kept_fraction"].append(kept.sum().item() / max(1, outputs.label_mask.sum().item()))
        return loss
