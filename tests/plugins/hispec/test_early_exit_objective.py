"""The early-exit objective without trl: what a plain training loop (a bare GPU host) uses, and what
the early_exit trainer adds to SFT's loss."""

from __future__ import annotations

import pytest
import torch
from hfplug_hispec.early_exit.objective import EarlyExitObjective

from hfplug.testing import make_tiny_model


def test_exit_loss_is_the_weighted_formula(tiny_tokenizer):
    model = make_tiny_model(tiny_tokenizer, num_hidden_layers=4).eval()
    objective = EarlyExitObjective.for_model(model, [1, 3], [1.0, 3.0], loss_scale=2.0, distillation=0.25)
    ids = tiny_tokenizer("the cat sat on the mat and the dog sat on the log", return_tensors="pt").input_ids
    with torch.no_grad(), objective.capture(model) as states:
        model(input_ids=ids)
    with torch.no_grad():
        loss = objective.exit_loss(model, states, ids[:, 1:])
        hidden = model(input_ids=ids, output_hidden_states=True).hidden_states
    teacher = torch.softmax(model.lm_head(model.model.norm(hidden[4]))[:, :-1], dim=-1)
    expected = torch.zeros(())
    for layer, weight in ((1, 0.25), (3, 0.75)):
        log_probabilities = torch.log_softmax(model.lm_head(model.model.norm(hidden[layer]))[0, :-1], dim=-1)
        hard = -log_probabilities.gather(-1, ids[0, 1:, None]).mean()
        soft = -(teacher[0] * log_probabilities).sum(-1).mean()
        expected = expected + weight * (0.75 * hard + 0.25 * soft)
    torch.testing.assert_close(loss, expected, rtol=1e-4, atol=1e-5)
    assert objective.loss_scale == 2.0


def test_layer_dropout_only_in_training(tiny_tokenizer):
    model = make_tiny_model(tiny_tokenizer, num_hidden_layers=4)
    objective = EarlyExitObjective.for_model(model, layer_dropout_max=0.9)
    ids = torch.tensor([[3, 4, 5, 6]])
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


@pytest.mark.parametrize(
    "layers, weights, settings, message",
    [
        ([4], None, {}, r"early_exit_layers must lie in 1..3 \(the model has 4\)"),
        (None, [1.0], {}, "needs early_exit_layers and one weight per exit layer"),
        ([1, 2], [1.0, -1.0], {}, "must be >= 0 with a positive sum"),
        ([1], None, {"distillation": 2.0}, r"early_exit_distillation must be in \[0, 1\]"),
        ([1], None, {"layer_dropout_max": 1.0}, r"layer_dropout_max must be in \[0, 1\)"),
    ],
)
def test_bad_settings_are_named(layers, weights, settings, message, tiny_tokenizer):
    model = make_tiny_model(tiny_tokenizer, num_hidden_layers=4)
    with pytest.raises(ValueError, match=message):
        EarlyExitObjective.for_model(model, layers, weights, **settings)
