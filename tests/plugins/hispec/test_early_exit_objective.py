"""The early-exit objective without trl: what a plain training loop (a bare GPU host) uses, and what
the early_exit trainer adds to SFT's loss."""

from __future__ import annotations

import math

import pytest
import torch
from hfplug_hispec.early_exit.objective import EarlyExitObjective, layer_dropout_rates

from hfplug.testing import make_tiny_model


def test_exit_loss_is_the_weighted_formula(tiny_tokenizer, device):
    model = make_tiny_model(tiny_tokenizer, num_hidden_layers=4).to(device).eval()
    objective = EarlyExitObjective.for_model(model, [1, 3], [1.0, 3.0], loss_scale=2.0, distillation=0.25)
    ids = tiny_tokenizer("the cat sat on the mat and the dog sat on the log", return_tensors="pt").input_ids
    ids = ids.to(device)
    with torch.no_grad(), objective.capture(model) as states:
        model(input_ids=ids)
    with torch.no_grad():
        loss = objective.exit_loss(model, states, ids[:, 1:])
        hidden = model(input_ids=ids, output_hidden_states=True).hidden_states
    teacher = torch.softmax(model.lm_head(model.model.norm(hidden[4]))[:, :-1], dim=-1)
    expected = torch.zeros((), device=device)
    for layer, weight in ((1, 0.25), (3, 0.75)):
        log_probabilities = torch.log_softmax(model.lm_head(model.model.norm(hidden[layer]))[0, :-1], dim=-1)
        hard = -log_probabilities.gather(-1, ids[0, 1:, None]).mean()
        soft = -(teacher[0] * log_probabilities).sum(-1).mean()
        expected = expected + weight * (0.75 * hard + 0.25 * soft)
    torch.testing.assert_close(loss, expected, rtol=1e-4, atol=1e-5)
    assert objective.loss_scale == 2.0


def test_layer_dropout_only_in_training(tiny_tokenizer, device):
    model = make_tiny_model(tiny_tokenizer, num_hidden_layers=4).to(device)
    objective = EarlyExitObjective.for_model(model, layer_dropout_max=0.9)
    ids = torch.tensor([[3, 4, 5, 6]], device=device)
    torch.manual_seed(0)
    recorded = []
    for training in (False, True):
        model.train(training)
        for _ in range(8):
            with objective.capture(model) as states:
                model(input_ids=ids)
            recorded.append((training, sorted(states)))
    assert all(layers == [-1, 0, 1, 2, 3] for training, layers in recorded if not training)
    assert any(layers != [-1, 0, 1, 2, 3] for training, layers in recorded if training)
    assert len(model.model.layers) == 4


def test_layer_dropout_schedules_are_layerskips_and_the_straight_line():
    # LayerSkip's D(l) = e^(l ln 2 / (L - 1)) - 1: 0 at the first layer, 1 at the last, convex between.
    expected = [0.2 * (math.exp(layer * math.log(2) / 4) - 1) for layer in range(5)]
    assert layer_dropout_rates(5, 0.2) == pytest.approx(expected)
    assert layer_dropout_rates(5, 0.2, "exponential") == pytest.approx(expected)
    assert layer_dropout_rates(5, 0.2, "linear") == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2])
    assert layer_dropout_rates(1, 0.2) == [0.0]


@pytest.mark.parametrize("schedule", ["exponential", "linear"])
def test_layers_are_dropped_as_often_as_the_schedule_says(schedule, tiny_tokenizer, device):
    model = make_tiny_model(tiny_tokenizer, num_hidden_layers=4).to(device).train()
    layers = list(model.model.layers)
    objective = EarlyExitObjective.for_model(model, layer_dropout_max=0.9, layer_dropout_schedule=schedule)
    torch.manual_seed(0)
    steps = 2000
    dropped = [0] * 4
    for _ in range(steps):
        with objective.capture(model):
            kept = {id(layer) for layer in model.model.layers}  # the step runs only these
        for index, layer in enumerate(layers):
            dropped[index] += id(layer) not in kept
    assert [id(layer) for layer in model.model.layers] == [id(layer) for layer in layers]  # restored
    rates = layer_dropout_rates(4, 0.9, schedule)
    other = layer_dropout_rates(4, 0.9, "linear" if schedule == "exponential" else "exponential")
    spreads = [4 * math.sqrt(max(rate * (1 - rate), 1e-4) / steps) for rate in rates]  # 4 standard deviations
    for index in range(4):
        assert abs(dropped[index] / steps - rates[index]) <= spreads[index], (index, dropped, rates)
    # The two schedules are far enough apart at layer 1 for this count to tell them apart.
    assert abs(dropped[1] / steps - other[1]) > spreads[1]


def test_exponential_is_the_default(tiny_tokenizer):
    model = make_tiny_model(tiny_tokenizer, num_hidden_layers=4)
    assert EarlyExitObjective.for_model(model, layer_dropout_max=0.1).layer_dropout_schedule == "exponential"


@pytest.mark.parametrize(
    "layers, weights, settings, message",
    [
        ([4], None, {}, r"early_exit_layers must lie in 1..3 \(the model has 4\)"),
        (None, [1.0], {}, "needs early_exit_layers and one weight per exit layer"),
        ([1, 2], [1.0, -1.0], {}, "must be >= 0 with a positive sum"),
        ([1], None, {"distillation": 2.0}, r"early_exit_distillation must be in \[0, 1\]"),
        ([1], None, {"layer_dropout_max": 1.0}, r"layer_dropout_max must be in \[0, 1\)"),
        (
            [1],
            None,
            {"layer_dropout_schedule": "cosine"},
            "layer_dropout_schedule must be one of exponential, linear; got 'cosine'",
        ),
    ],
)
def test_bad_settings_are_named(layers, weights, settings, message, tiny_tokenizer):
    model = make_tiny_model(tiny_tokenizer, num_hidden_layers=4)
    with pytest.raises(ValueError, match=message):
        EarlyExitObjective.for_model(model, layers, weights, **settings)
