"""SFT with a per-token loss weight: the common core of TALR, FLOW and similar reweighting methods.

The training loss is ``sum_t w_t * nll_t / N`` over the response tokens, where ``N`` is
``num_items_in_batch`` (the valid tokens of the whole optimizer step), so gradient accumulation
adds up to the large-batch update and all weights = 1 is SFTTrainer's loss exactly. A subclass
only says where the weights come from (:meth:`TokenWeightedSFTTrainer.token_loss_weights`);
evaluation reports the plain cross-entropy so ``eval_loss`` compares across trainers.
Statistics of the weights are logged over every process and micro-batch of the logging window
(:attr:`TokenWeightedSFTTrainer.weight_statistics`), the numbers one process on the whole batch logs.
"""

from __future__ import annotations

from typing import Any

import torch
from datasets import Dataset
from trl import SFTConfig, SFTTrainer

from hfplug.data import check_columns
from hfplug.distributed import GlobalStatistics
from hfplug.errors import ConfigError, NonFiniteLossError
from hfplug.trainers.arguments import trainer_config

__all__ = ["NonFiniteLossError", "TokenWeightedSFTTrainer", "check_sft_dataset"]


def check_sft_dataset(dataset: Any, args: SFTConfig, what: str) -> None:
    """Fail before any tokenization when the training data is missing, empty, or has no column SFT can use."""
    if dataset is None:
        raise ConfigError(f"{what} needs a train_dataset.")
    if isinstance(dataset, Dataset):  # an IterableDataset cannot be checked without consuming it
        alternatives = [["messages"], ["prompt", "completion"], [args.dataset_text_field], ["input_ids"]]
        check_columns(dataset, alternatives, what=what)


class TokenWeightedSFTTrainer(SFTTrainer):
    """An ``SFTTrainer`` whose training loss weights each response token.

    Subclasses set :attr:`config_class` and :attr:`method_name` and implement
    :meth:`token_loss_weights`; they may override :meth:`pop_weight_inputs` (take extra tensors
    out of the batch before the model sees it), :meth:`check_train_dataset` and
    :meth:`record_weight_metrics`.
    """

    config_class: type[SFTConfig] = SFTConfig
    method_name: str = "weighted SFT"

    def __init__(
        self,
        model: Any,
        args: SFTConfig | None = None,
        data_collator: Any = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        **kwargs: Any,
    ) -> None:
        args = trainer_config(self, model, args, self.config_class, self.method_name)
        if kwargs.get("compute_loss_func") is not None:
            raise ConfigError(f"{type(self).__name__} computes its own loss; do not pass compute_loss_func.")
        self.check_train_dataset(train_dataset, args, kwargs)
        super().__init__(
            model,
            args=args,
            data_collator=data_collator,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            **kwargs,
        )
        # Our loss divides by `num_items_in_batch` itself, so ask Trainer to always count it (it only does
        # for models that accept loss kwargs) and to treat the loss as already scaled for accumulation.
        self.model_accepts_loss_kwargs = True
        self._loss_shifts_labels = True
        self.weight_statistics = GlobalStatistics()

    # -- what subclasses provide ------------------------------------------------------------
    def check_train_dataset(self, dataset: Any, args: SFTConfig, kwargs: dict[str, Any]) -> None:
        """Called before tokenization; by default the columns plain SFT needs."""
        if kwargs.get("formatting_func") is None:
            check_sft_dataset(dataset, args, f"{self.method_name} training")

    def pop_weight_inputs(self, inputs: dict[str, Any]) -> Any:
        """Remove and return batch entries the weights need but the model must not see (default: none)."""
        return None

    def token_loss_weights(self, nll: torch.Tensor, mask: torch.Tensor, weight_inputs: Any) -> torch.Tensor:
        """Weights shaped like ``nll`` (``(batch, positions)``, position t predicting token t + 1).

        ``nll`` is already detached: the weights are constants of the gradient.
        """
        raise NotImplementedError

    def record_weight_metrics(self, weights: torch.Tensor, mask: torch.Tensor) -> None:
        """Add this micro-batch's statistics of the weights to :attr:`weight_statistics` (default: nothing).

        Called on every process for every training micro-batch; add the same names each time, even when
        ``mask`` selects nothing (an empty tensor is a valid observation), since logging reduces them together.
        """

    # -- the shared loss ---------------------------------------------------------------------
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """The weighted loss in training; SFTTrainer's plain cross-entropy in evaluation."""
        weight_inputs = self.pop_weight_inputs(inputs)
        if not self.model.training or return_outputs:
            return super().compute_loss(
                model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
            )
        inputs["use_cache"] = False
        if self.aux_loss_enabled:
            inputs["output_router_logits"] = True
        outputs = model(**inputs, fused_lm_head=True)
        nll, mask = -outputs.log_probs, outputs.label_mask
        self._raise_if_not_finite(nll, mask)
        weights = self.token_loss_weights(nll.detach(), mask, weight_inputs)
        weights = torch.where(mask, weights.to(nll.dtype), torch.zeros_like(nll))
        num_items = mask.sum() if num_items_in_batch is None else num_items_in_batch
        loss = (weights * nll).sum() / torch.as_tensor(num_items, device=nll.device).clamp(min=1)
        # As in SFTTrainer: `num_items_in_batch` counts every rank's tokens and DDP averages the gradients.
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * (self.accelerator.num_processes // self.get_tp_size())
        if self.aux_loss_enabled:
            steps = self.current_gradient_accumulation_steps if num_items_in_batch is not None else 1
            loss = loss + self.router_aux_loss_coef * outputs.aux_loss / steps
        self.record_weight_metrics(weights, mask)
        self._record_sft_metrics(outputs, inputs)
        return loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """SFTTrainer's logging, with the weight statistics reduced over processes and the logging window."""
        # Trainer logs training steps on every process at once, so the all-reduce in pop() is matched everywhere.
        if self.model.training and self.weight_statistics:
            for name, value in self.weight_statistics.pop().items():
                self._metrics["train"][name] = [value]
        super().log(logs, start_time)

    def _raise_if_not_finite(self, nll: torch.Tensor, mask: torch.Tensor) -> None:
        bad = (~torch.isfinite(nll.detach())) & mask
        if bad.any():
            raise NonFiniteLossError(
                f"{self.method_name}: {int(bad.sum())} token loss(es) are NaN or infinite at step "
                f"{self.state.global_step}; any weighting of them is meaningless. Lower the learning rate, "
                "check fp16 overflow, or check the data."
            )

    def _record_sft_metrics(self, outputs: Any, inputs: dict[str, Any]) -> None:
        """The entropy / token accuracy / token count that SFTTrainer logs, so dashboards stay comparable."""
        gather = self.accelerator.gather_for_metrics
        metrics = self._metrics["train"]
        num_valid = gather(outputs.label_mask.sum()).sum()
        entropy_sum = gather(outputs.entropy.detach().sum()).sum()
        num_correct = gather(outputs.is_top1.sum()).sum()
        metrics["entropy"].append((entropy_sum / num_valid).item() if num_valid > 0 else 0.0)
        metrics["mean_token_accuracy"].append((num_correct / num_valid).item() if num_valid > 0 else 0.0)
        if "attention_mask" in inputs:
            num_tokens = gather(inputs["attention_mask"].sum()).sum().item()
        else:
            positions = inputs["position_ids"]
            num_tokens = gather(torch.tensor(positions.size(1), device=positions.device)).sum().item()
        self._total_train_tokens += num_tokens // self._tp_size
        metrics["num_tokens"] = [self._total_train_tokens]
