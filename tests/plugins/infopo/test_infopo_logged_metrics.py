"""Every number InfoPO logs, against a computation written here from a plain forward pass (never the plugin's
own helpers), and the metric arithmetic on hand-made batches: ties, signs, denominators, several processes."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from datasets import Dataset
from hfplug_infopo.metrics import PairStatistics, metric_values, reduce_step_sums, step_sums
from hfplug_infopo.trainer import InfoPOTrainer

from hfplug.testing import make_tiny_model

SPREAD = {"initializer_range": 0.5}  # spread log-probabilities: the pairs' rewards differ visibly


def completion_tokens(model, tokenizer, prompt: str, completion: str) -> dict[str, torch.Tensor]:
    """Per completion token (EOS included, as trl appends it): log p(token), the entropy of the next-token
    distribution, the mean logit over the vocabulary, and whether the token is the argmax."""
    prompt_ids = tokenizer(prompt)["input_ids"]
    ids = tokenizer(prompt + completion + tokenizer.eos_token)["input_ids"]
    assert ids[: len(prompt_ids)] == prompt_ids
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0, :-1].float()
    start = len(prompt_ids) - 1  # position t predicts token t + 1
    logits, targets = logits[start:], torch.tensor(ids[start + 1 :])
    log_probs = logits.log_softmax(-1)
    return {
        "logp": log_probs.gather(-1, targets[:, None]).squeeze(-1),
        "entropy": -(log_probs.exp() * log_probs).sum(-1),
        "mean_logit": logits.mean(-1),
        "top1": (logits.argmax(-1) == targets).float(),
    }


def expected_metrics(policy, reference, tokenizer, rows, beta: float, length_average: bool) -> dict[str, float]:
    """DPO's metric definitions, computed pair by pair from plain forwards of the policy and the reference."""
    tokens = {"chosen": [], "rejected": []}
    ratios = {"chosen": [], "rejected": []}
    for prompt, chosen, rejected in zip(rows["prompt"], rows["chosen"], rows["rejected"], strict=True):
        for side, completion in (("chosen", chosen), ("rejected", rejected)):
            policy_tokens = completion_tokens(policy, tokenizer, prompt, completion)
            reference_logp = completion_tokens(reference, tokenizer, prompt, completion)["logp"]
            ratio = policy_tokens["logp"].sum() - reference_logp.sum()
            ratios[side].append(float(ratio / len(reference_logp) if length_average else ratio))
            tokens[side].append(policy_tokens)
    chosen_rewards = [beta * r for r in ratios["chosen"]]
    rejected_rewards = [beta * r for r in ratios["rejected"]]
    pairs = len(chosen_rewards)

    def over_tokens(side_names, key):  # the mean over every token of those sides
        values = torch.cat([t[key] for side in side_names for t in tokens[side]])
        return float(values.mean())

    return {
        "rewards/chosen": sum(chosen_rewards) / pairs,
        "rewards/rejected": sum(rejected_rewards) / pairs,
        "rewards/margins": sum(c - r for c, r in zip(chosen_rewards, rejected_rewards, strict=True)) / pairs,
        "rewards/accuracies": sum(c > r for c, r in zip(chosen_rewards, rejected_rewards, strict=True)) / pairs,
        "logps/chosen": sum(float(t["logp"].sum()) for t in tokens["chosen"]) / pairs,
        "logps/rejected": sum(float(t["logp"].sum()) for t in tokens["rejected"]) / pairs,
        "logps/chosen_per_token": over_tokens(["chosen"], "logp"),
        "logps/rejected_per_token": over_tokens(["rejected"], "logp"),
        "logits/chosen": over_tokens(["chosen"], "mean_logit"),
        "logits/rejected": over_tokens(["rejected"], "mean_logit"),
        "entropy": over_tokens(["chosen", "rejected"], "entropy"),
        "mean_token_accuracy": over_tokens(["chosen"], "top1"),
        "min |margin|": min(abs(c - r) for c, r in zip(chosen_rewards, rejected_rewards, strict=True)),
        # the default variant, nwj: -beta * r_w + exp(beta * r_l - 1)
        "loss": sum(-beta * c + math.exp(beta * r - 1) for c, r in zip(*ratios.values(), strict=True)) / pairs,
    }


@pytest.mark.parametrize("fields", [{}, {"beta": 0.5, "infopo_length_average": True}])
def test_every_logged_metric_equals_its_definition_on_plain_forwards(tiny_tokenizer, infopo_args, rows_of, fields):
    rows = rows_of(4)  # one batch holds every row
    policy = make_tiny_model(tiny_tokenizer, seed=0, **SPREAD)
    reference = make_tiny_model(tiny_tokenizer, seed=1, **SPREAD)
    trainer = InfoPOTrainer(
        policy,
        ref_model=reference,
        args=infopo_args(**fields),
        train_dataset=Dataset.from_dict(rows),
        processing_class=tiny_tokenizer,
    )
    trainer.model.train()
    batch = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
    loss = trainer.compute_loss(trainer.model, batch)
    logged = {name: values[-1] for name, values in trainer._metrics["train"].items()}

    args = trainer.args
    expected = expected_metrics(policy, reference, tiny_tokenizer, rows, args.beta, args.infopo_length_average)
    # Preconditions that make the checks below able to fail: rewards of a pair differ, both ways occur.
    assert expected["min |margin|"] > 1e-3
    assert 0 < expected["rewards/accuracies"] < 1
    assert float(loss.detach()) == pytest.approx(expected.pop("loss"), rel=1e-5)
    del expected["min |margin|"]
    assert set(expected) <= set(logged)
    for name, value in expected.items():
        assert logged[name] == pytest.approx(value, rel=1e-4, abs=1e-6), name
    # The metric the README points at: mean token log-likelihood, not sequence sum per pair.
    assert logged["logps/chosen_per_token"] != pytest.approx(logged["logps/chosen"], rel=1e-2)


def fake_step(lengths: list[int], chosen_rewards, rejected_rewards, seed: int):
    """A hand-made step: ``2 * pairs`` rows (chosen first) with completions of ``lengths`` tokens, and what the
    model produced (entropy, mean logit, top-1 flag per position), as the trainer passes them to step_sums."""
    generator = torch.Generator().manual_seed(seed)
    rows, width = len(lengths), max(lengths) + 2
    mask = torch.zeros(rows, width, dtype=torch.long)
    for row, length in enumerate(lengths):
        mask[row, width - length :] = 1  # prompt first, completion at the end
    outputs = SimpleNamespace(
        entropy=torch.rand(rows, width + 3, generator=generator),  # longer: a prompt-learning prefix is cut off
        mean_logits=torch.randn(rows, width + 3, generator=generator),
        is_top1=torch.rand(rows, width + 3, generator=generator) > 0.5,
    )
    pairs = PairStatistics(
        chosen_logps=-torch.rand(rows // 2, generator=generator) * 10,
        rejected_logps=-torch.rand(rows // 2, generator=generator) * 10,
        chosen_rewards=torch.tensor(chosen_rewards),
        rejected_rewards=torch.tensor(rejected_rewards),
    )
    attention = torch.ones(rows, width + 1, dtype=torch.long)
    return outputs, mask, attention, pairs


def expected_from_steps(steps) -> dict[str, float]:
    """The metrics over all steps' rows together, with explicit loops."""
    sums: dict[str, float] = {}

    def add(name, value):
        sums[name] = sums.get(name, 0.0) + float(value)

    for outputs, mask, _, pairs in steps:
        half, width = mask.shape[0] // 2, mask.shape[1]
        for row in range(mask.shape[0]):
            side = "chosen" if row < half else "rejected"
            for position in range(width):
                if mask[row, position]:
                    shifted = position + 3  # outputs carry 3 extra leading positions
                    add("entropy", outputs.entropy[row, shifted])
                    add("tokens", 1)
                    add(f"logits/{side}", outputs.mean_logits[row, shifted])
                    add(f"{side}_tokens", 1)
                    if side == "chosen":
                        add("top1", bool(outputs.is_top1[row, shifted]))
        for c, r, cl, rl in zip(
            pairs.chosen_rewards, pairs.rejected_rewards, pairs.chosen_logps, pairs.rejected_logps, strict=True
        ):
            add("pairs", 1)
            add("rewards/chosen", c)
            add("rewards/rejected", r)
            add("wins", float(c) > float(r))
            add("margin", float(c) - float(r))
            add("logps/chosen", cl)
            add("logps/rejected", rl)
    return {
        "entropy": sums["entropy"] / sums["tokens"],
        "logits/chosen": sums["logits/chosen"] / sums["chosen_tokens"],
        "logits/rejected": sums["logits/rejected"] / sums["rejected_tokens"],
        "mean_token_accuracy": sums.get("top1", 0.0) / sums["chosen_tokens"],
        "rewards/chosen": sums["rewards/chosen"] / sums["pairs"],
        "rewards/rejected": sums["rewards/rejected"] / sums["pairs"],
        "rewards/accuracies": sums.get("wins", 0.0) / sums["pairs"],
        "rewards/margins": sums["margin"] / sums["pairs"],
        "logps/chosen": sums["logps/chosen"] / sums["pairs"],
        "logps/rejected": sums["logps/rejected"] / sums["pairs"],
        "logps/chosen_per_token": sums["logps/chosen"] / sums["chosen_tokens"],
        "logps/rejected_per_token": sums["logps/rejected"] / sums["rejected_tokens"],
    }


# Two pairs tie exactly: a tie is not a win (DPO's `chosen > rejected`).
TIED = ([1.0, 0.5, -2.0, 3.0], [1.0, 0.7, -3.0, 3.0])


def test_metrics_of_one_process_follow_their_definitions_with_ties():
    step = fake_step([3, 1, 5, 2, 4, 2, 1, 6], *TIED, seed=0)
    totals = reduce_step_sums(step_sums(*step), gather=lambda local: local)
    logged = metric_values(totals)
    expected = expected_from_steps([step])
    assert logged["rewards/accuracies"] == 0.25
    assert logged["rewards/margins"] == pytest.approx((0.0 - 0.2 + 1.0 + 0.0) / 4)
    for name, value in expected.items():
        assert logged[name] == pytest.approx(value, rel=1e-5, abs=1e-6), name
    assert totals["attention_tokens"] == 8 * 9


def test_metrics_over_two_processes_pool_every_row():
    """The collective stacks each process's sums; the metrics are ratios of the pooled sums (not means of
    per-process ratios: the processes' token counts differ)."""
    mine = fake_step([3, 1, 5, 2, 4, 2, 1, 6], *TIED, seed=1)
    theirs = fake_step([7, 2, 1, 9], [0.3, -1.0], [0.1, -1.0], seed=2)
    their_sums = step_sums(*theirs)
    names = list(their_sums)
    their_local = torch.stack([their_sums[name].float() for name in names])

    def gather(local):  # what accelerator.gather returns on rank 0 of two: both ranks' rows, concatenated
        return torch.cat([local, their_local])

    logged = metric_values(reduce_step_sums(step_sums(*mine), gather))
    expected = expected_from_steps([mine, theirs])
    assert logged["rewards/accuracies"] == pytest.approx(2 / 6)
    for name, value in expected.items():
        assert logged[name] == pytest.approx(value, rel=1e-5, abs=1e-6), name


def test_a_metric_with_nothing_to_average_is_zero():
    totals = {
        "entropy_sum": 0.0,
        "completion_tokens": 0.0,
        "chosen_logit_sum": 2.0,
        "rejected_logit_sum": 0.0,
        "chosen_token_count": 1.0,
        "rejected_token_count": 0.0,
        "chosen_top1": 1.0,
        "chosen_reward_sum": 0.0,
        "rejected_reward_sum": 0.0,
        "reward_wins": 0.0,
        "margin_sum": 0.0,
        "chosen_logp_sum": -3.0,
        "rejected_logp_sum": 0.0,
        "pairs": 0.0,
    }
    values = metric_values(totals)
    assert values["logits/rejected"] == 0.0 and values["entropy"] == 0.0 and values["rewards/margins"] == 0.0
    assert values["logits/chosen"] == 2.0 and values["logps/chosen_per_token"] == -3.0  # a count of 1 divides
