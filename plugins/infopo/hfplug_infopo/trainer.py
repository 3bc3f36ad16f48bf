"""``InfoPOTrainer``: trl's DPOTrainer with the InfoPO loss (arXiv:2505.08507) in place of Bradley-Terry."""

from __future__ import annotations

import textwrap
from typing import Any

import torch
from trl import DPOTrainer

from hfplug.errors import NonFiniteLossError
from hfplug.trainers.arguments import trainer_config
from hfplug_infopo.config import InfoPOConfig
from hfplug_infopo.data_checks import check_preference_dataset
from hfplug_infopo.losses import infopo_loss
from hfplug_infopo.metrics import PairStatistics, metric_values, reduce_step_sums, step_sums

# Batch entries the collator adds that the model must not receive.
NON_MODEL_KEYS = frozenset({"completion_mask", "ref_chosen_logps", "ref_rejected_logps"})


__all__ = ["InfoPOTrainer", "NonFiniteLossError"]


class InfoPOTrainer(DPOTrainer):
    """Preference optimization with the InfoPO loss; everything else is trl's DPOTrainer.

    Works wherever DPO does: a separate ``ref_model``, PEFT (the reference is the model with its adapter
    disabled), ``precompute_ref_log_probs=True``, and ``accelerate launch`` / ``torchrun`` with several
    processes. The per-pair loss is :func:`hfplug_infopo.losses.infopo_loss` on the log-ratios
    ``log pi - log pi_ref`` of the chosen and rejected completions (sequence sums, or per-token means with
    ``infopo_length_average``), averaged over the batch as DPO does.

    Logs every metric DPO logs (``rewards/*`` are ``beta`` times the log-ratios the loss used) plus
    ``logps/chosen_per_token`` and ``logps/rejected_per_token``, the mean token log-likelihoods, which show
    whether the chosen likelihood falls during training.
    """

    _tag_names = ["trl", "dpo", "hfplug", "hfplug-infopo", "infopo"]
    _name = "InfoPO"
    _paper = {
        "title": "InfoPO: On Mutual Information Maximization for Large Language Model Alignment",
        "id": "2505.08507",
        "citation": textwrap.dedent("""\
            @inproceedings{xiao2025infopo,
                title     = {{InfoPO: On Mutual Information Maximization for Large Language Model Alignment}},
                author    = {Teng Xiao and Zhen Ge and Sujay Sanghavi and Tian Wang and Julian Katz-Samuels and
                             Marc Versage and Qingjun Cui and Trishul Chilimbi},
                year      = 2025,
                booktitle = {Proceedings of the 2025 Conference of the Nations of the Americas Chapter of the
                             Association for Computational Linguistics (NAACL)},
                pages     = {11699--11711},
            }"""),
    }

    def __init__(
        self,
        model: Any,
        ref_model: Any = None,
        args: InfoPOConfig | None = None,
        data_collator: Any = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        *posargs: Any,
        **kwargs: Any,
    ) -> None:
        args = trainer_config(self, model, args, InfoPOConfig, "InfoPO")
        check_preference_dataset(train_dataset, "InfoPO training")
        if isinstance(eval_dataset, dict):
            for split, dataset in eval_dataset.items():
                check_preference_dataset(dataset, f"InfoPO evaluation ({split})")
        elif eval_dataset is not None:
            check_preference_dataset(eval_dataset, "InfoPO evaluation")
        super().__init__(model, ref_model, args, data_collator, train_dataset, eval_dataset, *posargs, **kwargs)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """The mean InfoPO loss of the batch (chosen rows first, then rejected, as trl's collator builds it)."""
        args: InfoPOConfig = self.args
        mode = "train" if self.model.training else "eval"
        completion_mask = inputs["completion_mask"]
        shift_mask = completion_mask[:, 1:]
        model_kwargs = {k: v for k, v in inputs.items() if k not in NON_MODEL_KEYS}
        model_kwargs["use_cache"] = False
        if self.aux_loss_enabled:
            model_kwargs["output_router_logits"] = True
        labels = inputs["input_ids"].masked_fill(completion_mask == 0, -100)
        outputs = model(**model_kwargs, labels=labels, fused_lm_head=True)
        # Prompt-learning PEFT prepends virtual tokens; the last positions are the real ones.
        logps = outputs.log_probs[:, -shift_mask.size(1) :].sum(dim=1)
        chosen_logps, rejected_logps = logps.chunk(2, dim=0)

        if self.precompute_ref_logps:
            ref_chosen_logps, ref_rejected_logps = inputs["ref_chosen_logps"], inputs["ref_rejected_logps"]
        else:
            # No ref_model: a PEFT model, whose adapter trl's compute_ref_log_probs switches off.
            reference = self.ref_model if self.ref_model is not None else self.model
            ref_chosen_logps, ref_rejected_logps = self.compute_ref_log_probs(reference, inputs)

        chosen_tokens, rejected_tokens = shift_mask.sum(dim=1).chunk(2, dim=0)
        chosen_logratios = chosen_logps - ref_chosen_logps.to(chosen_logps.device)
        rejected_logratios = rejected_logps - ref_rejected_logps.to(rejected_logps.device)
        if args.infopo_length_average:
            chosen_logratios = chosen_logratios / chosen_tokens.clamp(min=1)
            rejected_logratios = rejected_logratios / rejected_tokens.clamp(min=1)

        losses = infopo_loss(chosen_logratios, rejected_logratios, args.beta, args.infopo_variant)
        loss = losses.mean()
        if self.aux_loss_enabled:
            loss = loss + self.router_aux_loss_coef * outputs.aux_loss
            self._metrics[mode]["aux_loss"].append(self.accelerator.gather(outputs.aux_loss.detach()).mean().item())

        pairs = PairStatistics(
            chosen_logps=chosen_logps,
            rejected_logps=rejected_logps,
            chosen_rewards=args.beta * chosen_logratios,
            rejected_rewards=args.beta * rejected_logratios,
        )
        self._record_metrics(mode, outputs, shift_mask, inputs["attention_mask"], pairs)
        self._raise_if_not_finite(loss)

        if return_outputs:  # only for compute_metrics: the fused head built no logits, so run the plain forward
            with torch.no_grad():
                outputs = model(**model_kwargs)
            return loss, outputs
        return loss

    def _record_metrics(
        self, mode: str, outputs: Any, shift_mask: torch.Tensor, attention_mask: torch.Tensor, pairs: PairStatistics
    ) -> None:
        totals = reduce_step_sums(step_sums(outputs, shift_mask, attention_mask, pairs), self.accelerator.gather)
        metrics = self._metrics[mode]
        for name, value in metric_values(totals).items():
            metrics[name].append(value)
        if mode == "train":
            self._total_train_tokens += int(totals["attention_tokens"]) // self._tp_size
        metrics["num_tokens"] = [self._total_train_tokens]

    def _raise_if_not_finite(self, loss: torch.Tensor) -> None:
        if not torch.isfinite(loss.detach()):
            raise NonFiniteLossError(
                f"The InfoPO loss is {float(loss.detach())} at step {self.state.global_step} "
                f"(variant {self.args.infopo_variant!r}, beta {self.args.beta}): the exponential of the rejected "
                "log-ratio overflowed or the model produced NaN. Lower the learning rate or beta, or turn on "
                "infopo_length_average; nothing was saved."
            )
