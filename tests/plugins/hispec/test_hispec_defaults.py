"""Every default the README's config tables state, pinned to the value and source they name, so a
changed default is a red test and a visible decision.

Sources (README, "Config fields"): [HiSpec notes] l_d = L/8, l_i = L/4, N_d = 2, N_i = 4 (the spec's
example: a 32-layer Llama drafts at 4 and verifies at 8); [LayerSkip paper] an exit loss at every
layer 1..L-1 and the exponential layer-dropout curve; [ours] exit weights proportional to depth,
loss scale 1, no distillation, no layer dropout, self_spec's 4 drafts. (float32_logits being off by default is pinned in
test_hispec_float32_logits.py.)
"""

from __future__ import annotations

import dataclasses
import types

import pytest
import torch
from hfplug_hispec.early_exit.objective import EarlyExitObjective

import hfplug
from hfplug.testing import make_tiny_model

# (layers, draft_layer, verify_layer) as the tables define them: l_d = L/8 (at least 1), l_i = L/4
# (above l_d). 32 is the spec's worked example; 12 and 4 exercise the two floors.
DEFAULT_EXITS = [(32, 4, 8), (12, 1, 3), (4, 1, 2)]


class _Recorded(Exception):
    """Raised by the stand-in decoder with what the strategy asked it to run."""


def _decoded_with(strategy, monkeypatch, layers: int, **settings) -> tuple[list[int], list[int]]:
    """The exits and windows a strategy's generate() hands to the decoder for a model of ``layers`` layers."""

    def record(model, exits, windows, arguments, name):
        raise _Recorded(exits, windows)

    monkeypatch.setitem(strategy.__globals__, "run_early_exit_generation", record)
    model = types.SimpleNamespace(config=types.SimpleNamespace(num_hidden_layers=layers))
    with pytest.raises(_Recorded) as recorded:
        strategy(model, **settings)
    return recorded.value.args


@pytest.mark.parametrize("layers, draft, verify", DEFAULT_EXITS)
def test_hispec_defaults_are_the_papers_exits_and_windows(layers, draft, verify, strategy, monkeypatch):
    exits, windows = _decoded_with(strategy("hispec"), monkeypatch, layers)
    assert exits == [draft, verify, layers]
    assert windows == [0, 2, 4]  # N_d = 2 drafts per verification, N_i = 4 tokens per full pass
    # Explicit settings are used as given.
    assert _decoded_with(
        strategy("hispec"), monkeypatch, 32, draft_layer=2, verify_layer=5, draft_length=3, verify_window=6
    ) == (
        [2, 5, 32],
        [0, 3, 6],
    )


@pytest.mark.parametrize("layers, draft, verify", DEFAULT_EXITS)
def test_self_spec_defaults_are_exit_l_over_8_and_4_drafts(layers, draft, verify, strategy, monkeypatch):
    assert _decoded_with(strategy("self_spec"), monkeypatch, layers) == ([draft, layers], [0, 4])
    assert _decoded_with(strategy("self_spec"), monkeypatch, 32, draft_layer=3, draft_length=2) == ([3, 32], [0, 2])


@pytest.mark.filterwarnings("ignore::UserWarning")  # random exits: the untrained-exits warning is expected
def test_the_default_exits_decode_the_spec_example(tokenizer, strategy):
    """End to end on a 32-layer model (narrow, so it is quick): the statistics name exits 4, 8 and 32."""
    model = make_tiny_model(tokenizer, num_hidden_layers=32, hidden_size=16, seed=5).double().eval()
    ids = tokenizer("Once upon a time", return_tensors="pt").input_ids
    output = strategy("hispec")(model=model, input_ids=ids, max_new_tokens=6, return_dict_in_generate=True)
    assert output.speculation_stats["exits"] == [4, 8, 32]
    assert torch.equal(output.sequences, model.generate(ids, do_sample=False, max_new_tokens=6))


def test_early_exit_objective_defaults_every_layer_weighted_by_depth(tokenizer):
    model = make_tiny_model(tokenizer, num_hidden_layers=6)
    objective = EarlyExitObjective.for_model(model)
    # Every layer below the last [LayerSkip paper], weight l / (1 + 2 + ... + 5) [ours].
    assert objective.exit_weights == pytest.approx({1: 1 / 15, 2: 2 / 15, 3: 3 / 15, 4: 4 / 15, 5: 5 / 15})
    assert list(objective.exit_weights) == [1, 2, 3, 4, 5]
    assert (objective.loss_scale, objective.distillation, objective.layer_dropout_max) == (1.0, 0.0, 0.0)
    assert objective.layer_dropout_schedule == "exponential"
    # Chosen exits without weights are weighted by depth too, and normalised.
    assert EarlyExitObjective.for_model(model, [2, 4]).exit_weights == pytest.approx({2: 1 / 3, 4: 2 / 3})


def test_early_exit_config_defaults_are_the_tables():
    fields = {f.name: f for f in dataclasses.fields(hfplug.load_config("trainer", "early_exit"))}
    expected = {
        "early_exit_layers": None,  # every layer 1..L-1 [LayerSkip paper]
        "early_exit_layer_weights": None,  # proportional to depth [ours]
        "early_exit_loss_scale": 1.0,
        "early_exit_distillation": 0.0,
        "layer_dropout_max": 0.0,
        "layer_dropout_schedule": "exponential",  # [LayerSkip paper D(l); LayerSkip code ScaleType.EXP]
    }
    assert {name: fields[name].default for name in expected} == expected


def test_the_trainer_turns_the_default_config_into_the_default_objective(tmp_path, tokenizer):
    from datasets import Dataset

    from hfplug.testing.models import TINY_CORPUS

    config = hfplug.load_config("trainer", "early_exit")(
        output_dir=str(tmp_path), max_steps=1, report_to=[], save_strategy="no", use_cpu=True, max_length=32
    )
    model = make_tiny_model(tokenizer, num_hidden_layers=4)
    trainer = hfplug.load("trainer", "early_exit")(
        model=model,
        args=config,
        train_dataset=Dataset.from_dict({"text": list(TINY_CORPUS)}),
        processing_class=tokenizer,
    )
    assert trainer.objective == EarlyExitObjective.for_model(model)
    assert trainer.objective.exit_weights == pytest.approx({1: 1 / 6, 2: 2 / 6, 3: 3 / 6})
