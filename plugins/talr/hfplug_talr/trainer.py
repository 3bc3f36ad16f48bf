"""``TALRTrainer``: trl's SFTTrainer with the token-adaptive loss reweighting of arXiv:2509.20758."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from hfplug.trainers.token_weighted_sft import NonFiniteLossError, TokenWeightedSFTTrainer
from hfplug_talr.config import TALRConfig
from hfplug_talr.weights import WeightParams, fit_weight_params, token_weights

__all__ = ["NonFiniteLossError", "TALRTrainer"]


class TALRTrainer(TokenWeightedSFTTrainer):
    """SFT where each response token's loss is weighted by ``stop_grad(max(p^(1/tau) * scale, w_min))``.

    ``tau`` is the median loss of the batch, recomputed at every step (or fixed by ``TALRConfig.tau``).
    The loss is divided by ``num_items_in_batch`` (the valid tokens of the whole optimizer step), so
    gradient accumulation adds up to the large-batch update; see ``TALRConfig.tau_scope`` for what
    "the batch" means for the median. Evaluation reports the plain cross-entropy, comparable across
    trainers. Logged every logging step: ``talr/tau``, ``talr/weight_mean``, ``talr/weight_min``,
    ``talr/weight_max`` and ``talr/floored_fraction`` (over valid tokens).
    """

    _tag_names = ["trl", "sft", "hfplug", "hfplug-talr", "talr"]
    config_class = TALRConfig
    method_name = "TALR"

    def __init__(self, model: Any, args: TALRConfig | None = None, *posargs: Any, **kwargs: Any) -> None:
        super().__init__(model, args, *posargs, **kwargs)
        self._step_weight_params: WeightParams | None = None
        self._last_weight_params: WeightParams | None = None

    def get_batch_samples(self, epoch_iterator, num_batches, device):
        """Collect one optimizer step's micro-batches; with ``tau_scope='step'`` fit tau on all of them."""
        batch_samples, num_items_in_batch = super().get_batch_samples(epoch_iterator, num_batches, device)
        self._step_weight_params = None
        args: TALRConfig = self.args
        needs_batch_statistic = args.tau is None or args.normalize == "simplex"
        if args.tau_scope == "step" and needs_batch_statistic and len(batch_samples) > 1:
            self._step_weight_params = self._fit_on_step(batch_samples)
        return batch_samples, num_items_in_batch

    @torch.no_grad()
    def _fit_on_step(self, batch_samples: list[dict[str, Any]]) -> WeightParams:
        """One no-grad forward per micro-batch; the weighting fitted on every valid token of the step."""
        losses, masks = [], []
        with self.compute_loss_context_manager():
            for batch in batch_samples:
                inputs = self._prepare_inputs(dict(batch))
                outputs = self.model_wrapped(**inputs, use_cache=False, fused_lm_head=True)
                losses.append(-outputs.log_probs.float())
                masks.append(outputs.label_mask)
        width = max(loss.shape[-1] for loss in losses)
        nll = torch.cat([F.pad(loss, (0, width - loss.shape[-1])) for loss in losses])
        mask = torch.cat([F.pad(m, (0, width - m.shape[-1]), value=False) for m in masks])
        return self._fit(nll, mask)

    def _fit(self, nll: torch.Tensor, mask: torch.Tensor) -> WeightParams:
        args: TALRConfig = self.args
        return fit_weight_params(
            nll, mask, tau=args.tau, tau_from=args.tau_from, normalize=args.normalize, w_min=args.w_min
        )

    def token_loss_weights(self, nll: torch.Tensor, mask: torch.Tensor, weight_inputs: Any) -> torch.Tensor:
        """TALR's weights for this micro-batch (tau from the step when ``tau_scope='step'``)."""
        params = self._step_weight_params or self._fit(nll, mask)
        self._last_weight_params = params
        return token_weights(nll, mask, params, self.args.w_min)

    def record_weight_metrics(self, weights: torch.Tensor, mask: torch.Tensor) -> None:
        statistics, valid = self.weight_statistics, weights[mask]
        statistics.add_mean("talr/tau", torch.tensor(self._last_weight_params.tau, device=valid.device))
        statistics.add_mean("talr/weight_mean", valid)
        statistics.add_min("talr/weight_min", valid)
        statistics.add_max("talr/weight_max", valid)
        statistics.add_mean("talr/floored_fraction", valid <= self.args.w_min)
