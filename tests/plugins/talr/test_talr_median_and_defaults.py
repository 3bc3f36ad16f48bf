"""Tau's median against ``statistics.median`` (rows with no response token never enter it), the weights and
the simplex scale against a from-scratch computation, and every README default pinned to its source."""

from __future__ import annotations

import math
import statistics

import pytest
import torch
from hfplug_talr.config import TALRConfig
from hfplug_talr.weights import MIN_TAU, WeightParams, batch_median_tau, fit_weight_params, token_weights
from hypothesis import given, settings
from hypothesis import strategies as st


def median_from_scratch(nll: torch.Tensor, mask: torch.Tensor, tau_from: str) -> float | None:
    """The median of valid token losses, or of each row's mean valid loss over rows that have one."""
    if tau_from == "token":
        values = [float(loss) for loss, keep in zip(nll.flatten(), mask.flatten(), strict=True) if keep]
    else:
        values = []
        for row_loss, row_mask in zip(nll, mask, strict=True):
            kept = [float(loss) for loss, keep in zip(row_loss, row_mask, strict=True) if keep]
            if kept:  # a row with no response token (all prompt, or truncated away) has no mean loss
                values.append(sum(kept) / len(kept))
    return statistics.median(values) if values else None


@st.composite
def losses_with_empty_rows(draw):
    rows, width = draw(st.integers(1, 6)), draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**16))
    generator = torch.Generator().manual_seed(seed)
    nll = torch.rand(rows, width, generator=generator, dtype=torch.float64).float() * 6
    mask = torch.rand(rows, width, generator=generator) < draw(st.sampled_from((0.3, 0.7, 1.0)))
    empty = draw(st.lists(st.integers(0, rows - 1), max_size=rows))
    mask[empty] = False  # rows with no response token at all
    nll[~mask] = draw(st.sampled_from((0.0, 50.0)))  # what ignored positions hold must not matter
    return nll, mask


@settings(deadline=None)
@given(case=losses_with_empty_rows(), tau_from=st.sampled_from(("token", "sequence")))
def test_tau_is_the_median_of_valid_losses_and_of_non_empty_rows(case, tau_from):
    nll, mask = case
    wanted = median_from_scratch(nll, mask, tau_from)
    tau = batch_median_tau(nll, mask, tau_from)
    if wanted is None:
        assert tau == 1.0
    else:
        assert tau == pytest.approx(max(wanted, MIN_TAU), rel=1e-5, abs=1e-6)


def test_a_row_without_response_tokens_does_not_pull_the_sequence_median_down():
    nll = torch.tensor([[2.0, 4.0], [6.0, 6.0], [0.0, 0.0]])
    mask = torch.tensor([[True, True], [True, True], [False, False]])
    assert batch_median_tau(nll, mask, "sequence") == pytest.approx(4.5)  # median of 3 and 6, not of 0, 3, 6


def test_memorised_batch_gets_the_smallest_tau_not_zero():
    nll = torch.zeros(2, 3)
    mask = torch.ones(2, 3, dtype=torch.bool)
    assert batch_median_tau(nll, mask, "token") == MIN_TAU == 1e-6


@settings(deadline=None)
@given(
    case=losses_with_empty_rows(),
    tau=st.one_of(st.none(), st.floats(0.2, 5.0)),
    w_min=st.sampled_from((0.0, 0.01, 0.3)),
    normalize=st.sampled_from(("none", "simplex")),
    tau_from=st.sampled_from(("token", "sequence")),
)
def test_weights_equal_a_from_scratch_computation(case, tau, w_min, normalize, tau_from):
    """w = max(exp(log_scale - nll / tau), w_min) on valid tokens, 0 elsewhere; simplex: the weights average
    exactly 1 over valid tokens with the floor holding, found here by bisection on the scale."""
    nll, mask = case
    params = fit_weight_params(nll, mask, tau=tau, tau_from=tau_from, normalize=normalize, w_min=w_min)
    wanted_tau = tau if tau is not None else max(median_from_scratch(nll, mask, tau_from) or 1.0, MIN_TAU)
    assert params.tau == pytest.approx(wanted_tau, rel=1e-5)
    valid = [float(loss) for loss, keep in zip(nll.flatten(), mask.flatten(), strict=True) if keep]
    log_scale = 0.0
    if normalize == "simplex" and valid:

        def mean_weight(scale: float) -> float:
            return sum(max(math.exp(scale - loss / wanted_tau), w_min) for loss in valid) / len(valid)

        low, high = -50.0 + min(valid) / wanted_tau, 50.0 + max(valid) / wanted_tau
        for _ in range(200):
            middle = (low + high) / 2
            low, high = (middle, high) if mean_weight(middle) < 1 else (low, middle)
        log_scale = (low + high) / 2
        if w_min < 1:
            assert params.log_scale == pytest.approx(log_scale, abs=1e-6)
    weights = token_weights(nll, mask, params, w_min)
    for loss, keep, weight in zip(nll.flatten(), mask.flatten(), weights.flatten(), strict=True):
        wanted = max(math.exp(log_scale - float(loss) / wanted_tau), w_min) if keep else 0.0
        assert float(weight) == pytest.approx(wanted, rel=1e-4, abs=1e-7)


def test_simplex_weight_of_a_single_valid_token_is_one():
    nll = torch.tensor([[9.0, 2.5, 7.0]])
    mask = torch.tensor([[False, True, False]])
    params = fit_weight_params(nll, mask, tau=0.5, tau_from="token", normalize="simplex", w_min=0.01)
    assert params.log_scale == pytest.approx(5.0)  # exp(5 - 2.5 / 0.5) = 1
    assert token_weights(nll, mask, params, 0.01)[0].tolist() == pytest.approx([0.0, 1.0, 0.0])


def test_fixed_tau_is_not_replaced_by_the_median():
    nll = torch.tensor([[1.0, 3.0]])
    mask = torch.ones(1, 2, dtype=torch.bool)
    assert fit_weight_params(nll, mask, tau=0.25, tau_from="token", normalize="none", w_min=0.0) == WeightParams(0.25)


def test_readme_defaults():
    """README config table: tau None = batch median [paper]; tau_from sequence, w_min 0.01, normalize none,
    tau_scope micro_batch [ours]. A changed default is a visible decision."""
    config = TALRConfig(output_dir="unused", report_to=[])
    assert config.tau is None
    assert (config.tau_from, config.w_min, config.normalize, config.tau_scope) == (
        "sequence",
        0.01,
        "none",
        "micro_batch",
    )


def test_logged_statistics_equal_a_from_scratch_computation(tiny_model, tiny_tokenizer, qa_dataset, talr_args):
    """One step on the whole dataset (so row order cannot matter): talr/tau is the median of per-row mean
    response losses, and weight_mean/min/max/floored_fraction are over the response tokens' max(p^(1/tau), w_min)."""
    from hfplug_talr.trainer import TALRTrainer

    w_min = 0.368  # losses of a random model sit near tau, weights near exp(-1): about half are floored
    trainer = TALRTrainer(
        tiny_model,
        args=talr_args(max_steps=1, logging_steps=1, per_device_train_batch_size=len(qa_dataset), w_min=w_min),
        train_dataset=qa_dataset,
        processing_class=tiny_tokenizer,
    )
    batch = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
    with torch.no_grad():
        logits = tiny_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.double()
    targets = batch["labels"][:, 1:]
    valid = targets != -100
    log_probs = torch.log_softmax(logits[:, :-1], dim=-1)
    nll = -log_probs.gather(-1, targets.clamp(min=0)[..., None])[..., 0]
    row_means = [float(nll[row][valid[row]].mean()) for row in range(nll.shape[0]) if valid[row].any()]
    tau = statistics.median(row_means)
    weights = [max(math.exp(-float(loss) / tau), w_min) for loss in nll[valid]]
    trainer.train()
    logged = trainer.state.log_history[0]
    assert logged["talr/tau"] == pytest.approx(tau, rel=1e-4)
    assert logged["talr/weight_mean"] == pytest.approx(statistics.fmean(weights), rel=1e-4)
    assert logged["talr/weight_min"] == pytest.approx(min(weights), rel=1e-4)
    assert logged["talr/weight_max"] == pytest.approx(max(weights), rel=1e-4)
    floored = sum(weight <= w_min for weight in weights) / len(weights)
    assert 0 < floored < 1
    assert logged["talr/floored_fraction"] == pytest.approx(floored)
