"""InfoPO's loss inside the trainer: equal to infopo_loss on independently computed log-probs, side by side with DPO."""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset
from hfplug_infopo.losses import infopo_loss
from hfplug_infopo.trainer import InfoPOTrainer
from trl import DPOConfig, DPOTrainer

from hfplug.testing import FAST_CPU_DEFAULTS, make_tiny_model

# A large init spreads the log-probabilities, so the two log-ratios of a pair differ visibly.
SPREAD = {"initializer_range": 0.5}


def first_batch(trainer) -> dict:
    trainer.model.train()
    return trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))


def nudge(model, seed: int, scale: float = 0.05) -> None:
    """Move every parameter by seeded noise: the policy leaves the reference, so the log-ratios are not all 0."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(scale * torch.randn(parameter.shape, generator=generator))


def gradients(model) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


@pytest.mark.parametrize(
    "fields",
    [
        {},  # nwj on sequence sums
        {"infopo_length_average": True},
        {"infopo_variant": "shifted", "beta": 0.5},
        {"infopo_variant": "ukl", "infopo_length_average": True},
    ],
)
def test_trainer_loss_and_gradient_equal_infopo_loss_on_independent_log_probs(
    tiny_tokenizer, infopo_args, rows_of, independent_log_ratios, fields
):
    rows = rows_of(4)  # one batch of 4 holds every row, whatever the shuffling
    policy = make_tiny_model(tiny_tokenizer, seed=0, **SPREAD)
    reference = make_tiny_model(tiny_tokenizer, seed=1, **SPREAD)  # differs from the policy: r != 0
    trainer = InfoPOTrainer(
        policy,
        ref_model=reference,
        args=infopo_args(**fields),
        train_dataset=Dataset.from_dict(rows),
        processing_class=tiny_tokenizer,
    )
    loss = trainer.compute_loss(trainer.model, first_batch(trainer))
    loss.backward()
    trainer_grad = gradients(policy)
    policy.zero_grad()

    args = trainer.args
    chosen, rejected = independent_log_ratios(
        policy, reference, tiny_tokenizer, rows, length_average=args.infopo_length_average
    )
    expected = infopo_loss(chosen, rejected, args.beta, args.infopo_variant).mean()
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)
    expected.backward()
    reference_grad = gradients(policy)
    # float32 with a different summation order (trl's chunked head): compare against the gradient's scale.
    assert (trainer_grad - reference_grad).abs().max() <= 1e-5 * reference_grad.abs().max()


def precomputed_trainer(trainer_class, config, tokenizer, tmp_path, rows):
    model = make_tiny_model(tokenizer, seed=0, **SPREAD)
    args = config(output_dir=str(tmp_path / trainer_class.__name__), precompute_ref_log_probs=True, **FAST_CPU_DEFAULTS)
    dataset = Dataset.from_dict(rows)
    return trainer_class(model, args=args, train_dataset=dataset, processing_class=tokenizer)


def test_a_constant_added_to_both_log_ratios_moves_infopo_not_dpo(tiny_tokenizer, tmp_path, rows_of):
    """Side by side on the same precomputed batch: DPO sees only margins, InfoPO sees each log-ratio."""
    from hfplug_infopo.config import InfoPOConfig

    losses = {}
    for trainer_class, config in ((DPOTrainer, DPOConfig), (InfoPOTrainer, InfoPOConfig)):
        trainer = precomputed_trainer(trainer_class, config, tiny_tokenizer, tmp_path, rows_of(4))
        batch = first_batch(trainer)
        nudge(trainer.model, seed=7)
        with torch.no_grad():
            plain = trainer.compute_loss(trainer.model, dict(batch))
            moved = dict(batch)
            # Subtracting c from both reference log-probs adds c to both log-ratios.
            moved["ref_chosen_logps"] = batch["ref_chosen_logps"] - 2.0
            moved["ref_rejected_logps"] = batch["ref_rejected_logps"] - 2.0
            losses[trainer_class.__name__] = (float(plain), float(trainer.compute_loss(trainer.model, moved)))
    dpo_plain, dpo_moved = losses["DPOTrainer"]
    infopo_plain, infopo_moved = losses["InfoPOTrainer"]
    assert dpo_moved == pytest.approx(dpo_plain, rel=1e-6)
    # nwj: the chosen term moves by -beta * c exactly, the rejected one by a factor exp(beta * c).
    assert infopo_moved != pytest.approx(infopo_plain, rel=1e-3)


def test_precomputed_reference_gives_the_same_loss_as_a_reference_model(tiny_tokenizer, infopo_args, rows_of):
    rows = rows_of(4)
    policy = make_tiny_model(tiny_tokenizer, seed=0, **SPREAD)
    reference = make_tiny_model(tiny_tokenizer, seed=0, **SPREAD)  # a copy of the starting policy
    live = InfoPOTrainer(
        policy, ref_model=reference, args=infopo_args(), train_dataset=Dataset.from_dict(rows),
        processing_class=tiny_tokenizer,
    )  # fmt: skip
    stored = InfoPOTrainer(
        make_tiny_model(tiny_tokenizer, seed=0, **SPREAD),
        args=infopo_args(precompute_ref_log_probs=True),
        train_dataset=Dataset.from_dict(rows),
        processing_class=tiny_tokenizer,
    )
    assert stored.ref_model is None  # the reference forward happened once, before training
    for trainer in (live, stored):
        nudge(trainer.model, seed=3)  # the same move away from the reference in both
    live_loss = live.compute_loss(live.model, first_batch(live)).detach()
    stored_loss = stored.compute_loss(stored.model, first_batch(stored)).detach()
    assert float(live_loss) == pytest.approx(float(stored_loss), rel=1e-5)
    assert float(live_loss) != pytest.approx(float(torch.exp(torch.tensor(-1.0))), rel=1e-3)


def truncated_log_ratio(policy, reference, tokenizer, prompt: str, completion: str, max_length: int) -> torch.Tensor:
    """The per-token mean log-ratio of the completion tokens that survive keep_start truncation to ``max_length``
    (prompt, completion and EOS cut together), from plain forwards."""
    prompt_length = len(tokenizer(prompt)["input_ids"])
    ids = torch.tensor([tokenizer(prompt + completion + tokenizer.eos_token)["input_ids"][:max_length]])
    targets = ids[0, prompt_length:]
    sums = []
    for model in (policy, reference):
        with torch.no_grad():
            log_probs = model(input_ids=ids).logits[0, prompt_length - 1 : -1].float().log_softmax(-1)
        sums.append(log_probs.gather(-1, targets[:, None]).sum())
    return (sums[0] - sums[1]) / len(targets)


def test_length_average_divides_a_completion_truncated_to_one_token_by_one(tiny_tokenizer, infopo_args, rows_of):
    """max_length leaves the longest prompt's completions one token: their per-token mean is that token's ratio."""
    rows = rows_of(4)
    max_length = max(len(tiny_tokenizer(prompt)["input_ids"]) for prompt in rows["prompt"]) + 1
    policy = make_tiny_model(tiny_tokenizer, seed=0, **SPREAD)
    reference = make_tiny_model(tiny_tokenizer, seed=1, **SPREAD)
    trainer = InfoPOTrainer(
        policy,
        ref_model=reference,
        args=infopo_args(infopo_length_average=True, max_length=max_length),
        train_dataset=Dataset.from_dict(rows),
        processing_class=tiny_tokenizer,
    )
    batch = first_batch(trainer)
    assert 1 in batch["completion_mask"].sum(dim=1).tolist()  # the case under test is in the batch
    with torch.no_grad():
        loss = trainer.compute_loss(trainer.model, batch)
    ratios = {
        side: torch.stack(
            [
                truncated_log_ratio(policy, reference, tiny_tokenizer, prompt, completion, max_length)
                for prompt, completion in zip(rows["prompt"], rows[side], strict=True)
            ]
        )
        for side in ("chosen", "rejected")
    }
    expected = infopo_loss(ratios["chosen"], ratios["rejected"], trainer.args.beta, trainer.args.infopo_variant)
    assert float(loss) == pytest.approx(float(expected.mean()), rel=1e-5)
