"""A mixture-of-experts policy: the trainer's loss is the InfoPO loss plus ``router_aux_loss_coef`` times the
router's load-balancing loss, and the logged ``aux_loss`` is that load-balancing loss. Both are checked against
the Switch Transformer formula computed here from the router logits of a plain forward."""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset
from hfplug_infopo.losses import infopo_loss
from hfplug_infopo.trainer import InfoPOTrainer
from transformers import MixtralConfig, MixtralForCausalLM

EXPERTS, TOP_K = 4, 2
# Large enough that adding the auxiliary term (or subtracting it, or dividing by it) moves the loss visibly.
AUX_COEF = 0.5


def tiny_mixtral(tokenizer, seed: int) -> MixtralForCausalLM:
    """A random two-layer Mixtral. Its config keeps ``output_router_logits=False`` (the default, as in released
    MoE checkpoints): the trainer has to ask for the router logits on each forward."""
    config = MixtralConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        num_local_experts=EXPERTS,
        num_experts_per_tok=TOP_K,
        router_aux_loss_coef=AUX_COEF,
        max_position_embeddings=256,
        initializer_range=0.5,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    return MixtralForCausalLM(config)


def load_balancing_loss(router_logits: tuple[torch.Tensor, ...], attention_mask: torch.Tensor) -> float:
    """Switch Transformer's auxiliary loss (Fedus et al. 2021, eq. 4-6, top-k as in Mixtral) over every layer and
    every non-padding token: ``E * sum_e f_e * P_e``, with ``f_e`` the share of the top-k assignments that go to
    expert ``e`` and ``P_e`` the mean router probability of ``e``."""
    keep = attention_mask.reshape(-1).bool()
    probs = torch.cat([layer.float().softmax(-1)[keep] for layer in router_logits])  # (layers * tokens, E)
    chosen_experts = probs.topk(TOP_K, dim=-1).indices
    assignments = torch.zeros(EXPERTS)
    for expert in chosen_experts.flatten().tolist():
        assignments[expert] += 1
    share = assignments / probs.shape[0]  # top-k assignments per token row, so the shares sum to TOP_K
    return float(EXPERTS * (share * probs.mean(0)).sum())


def test_moe_loss_adds_the_weighted_load_balancing_loss_and_logs_it(
    tiny_tokenizer, infopo_args, rows_of, independent_log_ratios
):
    rows = rows_of(4)  # one batch holds every row
    policy, reference = tiny_mixtral(tiny_tokenizer, seed=0), tiny_mixtral(tiny_tokenizer, seed=1)
    trainer = InfoPOTrainer(
        policy,
        ref_model=reference,
        args=infopo_args(),
        train_dataset=Dataset.from_dict(rows),
        processing_class=tiny_tokenizer,
    )
    trainer.model.train()
    batch = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
    loss = trainer.compute_loss(trainer.model, batch)

    with torch.no_grad():
        router_logits = policy(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_router_logits=True
        ).router_logits
        aux = load_balancing_loss(router_logits, batch["attention_mask"])
        chosen, rejected = independent_log_ratios(policy, reference, tiny_tokenizer, rows, length_average=False)
        infopo = float(infopo_loss(chosen, rejected, trainer.args.beta, trainer.args.infopo_variant).mean())

    assert aux > 0.5  # large beside the tolerance below: adding it, or not, is visible
    assert float(loss.detach()) == pytest.approx(infopo + AUX_COEF * aux, rel=1e-5)
    assert trainer._metrics["train"]["aux_loss"] == [pytest.approx(aux, rel=1e-5)]
