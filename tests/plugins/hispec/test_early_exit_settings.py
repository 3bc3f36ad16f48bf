"""The early-exit objective's settings at their edges: the bounds it accepts and refuses, settings
passed through as given, exits read through a PEFT-style wrapper, layer dropout on the shallowest
model it applies to (and no randomness drawn when it is off), and layer outputs recorded whether a
layer returns a tensor or a tuple."""

from __future__ import annotations

import pytest
import torch
from hfplug_hispec.early_exit import objective as objective_module
from hfplug_hispec.early_exit.objective import EarlyExitObjective, check_settings, layer_dropout_rates
from torch import nn

from hfplug.testing import make_tiny_model


@pytest.fixture(scope="module")
def model(tokenizer):
    return make_tiny_model(tokenizer, num_hidden_layers=4)


@pytest.mark.parametrize(
    "settings",
    [
        {"loss_scale": 0.0},
        {"distillation": 0.0},
        {"distillation": 1.0},
        {"layer_dropout_max": 0.0},
        {"layer_dropout_max": 0.99},
        {"layers": [1, 3]},  # the deepest exit allowed is L - 1
        {"layers": [2, 3], "weights": [0.0, 1.0]},  # a zero weight, with a positive sum
    ],
)
def test_settings_at_the_edge_are_accepted(settings, model):
    settings = dict(settings)  # the parameter itself stays as it is for a rerun in the same process
    layers, weights = settings.pop("layers", None), settings.pop("weights", None)
    EarlyExitObjective.for_model(model, layers, weights, **settings)


def test_check_settings_defaults_to_the_exponential_schedule():
    check_settings(None, None, 1.0, 0.0, 0.0)  # a default schedule that is not a known one would raise here
    with pytest.raises(ValueError, match="layer_dropout_schedule must be one of"):
        check_settings(None, None, 1.0, 0.0, 0.0, "cosine")


@pytest.mark.parametrize(
    "layers, weights, settings, message",
    [
        (None, None, {"loss_scale": -0.1}, r"early_exit_loss_scale must be >= 0, got -0.1"),
        (None, None, {"distillation": -0.1}, r"early_exit_distillation must be in \[0, 1\], got -0.1"),
        (None, None, {"distillation": 1.1}, r"early_exit_distillation must be in \[0, 1\], got 1.1"),
        (None, None, {"layer_dropout_max": -0.1}, r"layer_dropout_max must be in \[0, 1\), got -0.1"),
        ([0, 2], None, {}, r"early_exit_layers must lie in 1..3 \(the model has 4\)"),
        ([1, 2], [1.0], {}, "needs early_exit_layers and one weight per exit layer"),
        ([1, 2], [0.0, 0.0], {}, "must be >= 0 with a positive sum"),
    ],
)
def test_settings_past_the_edge_are_named(layers, weights, settings, message, model):
    with pytest.raises(ValueError, match=message):
        EarlyExitObjective.for_model(model, layers, weights, **settings)


def test_settings_are_kept_as_given(model):
    objective = EarlyExitObjective.for_model(
        model,
        [3, 1],
        [1.0, 3.0],
        loss_scale=2.5,
        distillation=0.3,
        layer_dropout_max=0.2,
        layer_dropout_schedule="linear",
    )
    assert objective.exit_weights == {3: 0.25, 1: 0.75}
    assert (objective.loss_scale, objective.distillation, objective.layer_dropout_max) == (2.5, 0.3, 0.2)
    assert objective.layer_dropout_schedule == "linear"


def test_two_layers_are_enough_for_layer_dropout(tokenizer):
    assert layer_dropout_rates(2, 0.5) == [0.0, 0.5]
    assert layer_dropout_rates(2, 0.5, "linear") == [0.0, 0.5]
    assert layer_dropout_rates(0, 0.5) == []
    model = make_tiny_model(tokenizer, num_hidden_layers=2).train()
    objective = EarlyExitObjective.for_model(model, layer_dropout_max=0.9)
    torch.manual_seed(0)
    kept = []
    for _ in range(20):
        with objective.capture(model):
            kept.append(len(model.model.layers))
    assert set(kept) == {1, 2}  # the last layer is dropped about 90% of the time, the first never


def test_no_randomness_is_drawn_when_layer_dropout_is_off(model):
    """Off (p_max = 0) or in evaluation, a step draws nothing, so switching dropout off leaves a run's
    random stream as it was."""
    ids = torch.tensor([[3, 4, 5, 6]])
    for training, p_max in ((True, 0.0), (False, 0.5)):
        model.train(training)
        objective = EarlyExitObjective.for_model(model, layer_dropout_max=p_max)
        before = torch.get_rng_state()
        with objective.capture(model) as states:
            model(input_ids=ids)
        assert torch.equal(torch.get_rng_state(), before)
        assert sorted(states) == [-1, 0, 1, 2, 3]
    model.eval()


class _Wrapper(nn.Module):
    """What PEFT puts around a model: the base model comes from get_base_model()."""

    def __init__(self, base: nn.Module) -> None:
        super().__init__()
        self.wrapped = base

    def get_base_model(self) -> nn.Module:
        return self.wrapped

    def forward(self, **inputs):
        return self.wrapped(**inputs)


def test_exits_are_read_through_a_peft_style_wrapper(model):
    ids = torch.tensor([[3, 4, 5, 6, 7]])
    objective = EarlyExitObjective.for_model(_Wrapper(model), [1, 2])
    losses = []
    for target in (model, _Wrapper(model)):
        with torch.no_grad(), objective.capture(target) as states:
            target(input_ids=ids)
            losses.append(objective.exit_loss(target, states, ids[:, 1:]))
    torch.testing.assert_close(losses[0], losses[1])


class _NotADecoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.model = nn.Module()
        self.model.layers = nn.ModuleList([nn.Linear(2, 2)])  # layers but no embed_tokens or norm


def test_a_model_without_a_decoder_is_named():
    with pytest.raises(
        ValueError, match=r"needs a decoder-only LM with model.embed_tokens/layers/norm .*got _NotADecoder"
    ):
        EarlyExitObjective.for_model(_NotADecoder())
    with pytest.raises(ValueError, match="got Linear"):
        EarlyExitObjective.for_model(nn.Linear(2, 2))


class _TupleLayer(nn.Module):
    """A decoder layer that returns (hidden, extra), as older transformers layers do."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, hidden):
        return hidden * self.scale, "cache"


def test_layer_outputs_are_recorded_from_tensors_and_tuples():
    decoder = nn.Module()
    decoder.embed_tokens = nn.Embedding(5, 3)
    decoder.layers = nn.ModuleList([_TupleLayer(2.0), _TupleLayer(3.0)])
    states: dict[int, torch.Tensor] = {}
    with objective_module._record_layer_outputs(decoder, [0, 1], states):
        hidden = decoder.embed_tokens(torch.tensor([[1, 2]]))
        for layer in decoder.layers:
            hidden = layer(hidden)[0]
    embedded = decoder.embed_tokens(torch.tensor([[1, 2]]))
    assert sorted(states) == [-1, 0, 1]
    torch.testing.assert_close(states[-1], embedded)
    torch.testing.assert_close(states[0], 2 * embedded)
    torch.testing.assert_close(states[1], 6 * embedded)
    # The hooks are gone afterwards.
    assert not decoder.embed_tokens._forward_hooks and not decoder.layers[0]._forward_hooks
