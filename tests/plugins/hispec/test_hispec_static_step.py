"""``compile=True``: the static decode path is lossless and graph-ready.

Lossless: greedy, self-speculation and HiSpec through fixed-shape steps give plain greedy's tokens
(float32, CPU), compiled by inductor as well as traced by dynamo alone. Graph-ready: after one
warm-up generation, 256 more tokens across varying acceptance lengths compile nothing new and
break no graph (each level's step is one whole graph); a planted ``.item()`` or a data-dependent
shape inside a step is caught by the same count.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import torch
from torch._dynamo.testing import CompileCounter
from torch._dynamo.utils import counters

from hfplug.testing import make_tiny_tokenizer

from .conftest import record_accepted, scaled_model

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # untrained-exit warnings of random models

SETTINGS = {
    "greedy": {},
    "self_spec": {"draft_layer": 2, "draft_length": 3},
    "hispec": {"draft_layer": 1, "verify_layer": 3, "draft_length": 2, "verify_window": 3},
}


@pytest.fixture(scope="module")
def static_decoding():
    from hfplug_hispec.strategies.hispec.custom_generate import static_decoding

    return static_decoding


@pytest.fixture(scope="module")
def prompts() -> list[torch.Tensor]:
    tokenizer = make_tiny_tokenizer()
    return [tokenizer(text, return_tensors="pt").input_ids for text in ("Once upon a time", "The dog sat")]


@pytest.mark.parametrize("deeper_scale", [1.0, 0.3, 1e-3])
@pytest.mark.parametrize("name", list(SETTINGS))
def test_traced_static_steps_give_plain_greedy_tokens(name, deeper_scale, strategy, prompts):
    model = scaled_model(layers=6, deeper_scale=deeper_scale)
    for prompt in prompts:
        expected = model.generate(prompt, do_sample=False, max_new_tokens=30)
        eager = strategy(name)(model=model, input_ids=prompt, do_sample=False, max_new_tokens=30, **SETTINGS[name])
        static = strategy(name)(
            model=model,
            input_ids=prompt,
            do_sample=False,
            max_new_tokens=30,
            compile=True,
            compile_options={"backend": "eager"},  # dynamo's tracing without code generation: fast
            return_dict_in_generate=True,
            **SETTINGS[name],
        )
        assert torch.equal(eager, expected)
        assert torch.equal(static.sequences, expected), f"{name} at scale {deeper_scale}"
        # The returned cache holds every position but the last, like plain decoding's, and every layer's
        # keys and values equal a fresh forward's (no stale entry of a rejected draft survives).
        with torch.no_grad():
            fresh = model(expected[:, :-1], use_cache=True).past_key_values
        for ours, theirs in zip(static.cache.layers, fresh.layers, strict=True):
            torch.testing.assert_close(ours.keys, theirs.keys, atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(ours.values, theirs.values, atol=1e-4, rtol=1e-4)


def test_inductor_compiled_steps_equal_the_eager_steps_and_plain_greedy(static_decoding, strategy, prompts):
    """The real compiler (inductor, CPU) on the smallest model: two steps (draft at exit 1, verify at 2)."""
    torch._dynamo.reset()
    model = scaled_model(layers=2, deeper_scale=0.3)
    expected = model.generate(prompts[0], do_sample=False, max_new_tokens=40)
    compiled = strategy("self_spec")(
        model=model,
        input_ids=prompts[0],
        do_sample=False,
        max_new_tokens=40,
        compile=True,  # torch.compile's default on CPU: inductor
        draft_layer=1,
        draft_length=3,
        return_dict_in_generate=True,
    )
    assert torch.equal(compiled.sequences, expected)
    compiled_static = model._hfplug_static[1]
    # The same steps run eagerly on buffers of the same size.
    eager_static = static_decoding.StaticSpeculation(
        model, [1, 2], [0, 3], capacity=compiled_static.capacity, compile_options=None
    )
    with torch.no_grad():
        row, stats = static_decoding.StaticDecodingRun(eager_static, {model.generation_config.eos_token_id}).decode(
            prompts[0][0].tolist(), 40
        )
    assert row == expected[0].tolist()
    assert stats.as_dict() == compiled.speculation_stats
    length = expected.shape[1] - 1
    for eager_keys, compiled_keys in zip(eager_static.keys, compiled_static.keys, strict=True):
        torch.testing.assert_close(compiled_keys[:, :, :length], eager_keys[:, :, :length])


def _graph_count(backend: CompileCounter) -> tuple[int, int]:
    return backend.frame_count, sum(counters["graph_break"].values())


@pytest.mark.parametrize("name", ["hispec", "self_spec", "greedy"])
def test_256_tokens_after_warm_up_compile_nothing_and_break_no_graph(name, strategy, prompts):
    torch._dynamo.reset()
    counters.clear()
    backend = CompileCounter()
    model = scaled_model(layers=6, deeper_scale=0.3)
    levels = 1 + len([key for key in SETTINGS[name] if key.endswith("_layer")])

    def generate(prompt: torch.Tensor) -> Any:
        return strategy(name)(
            model=model,
            input_ids=prompt,
            do_sample=False,
            max_new_tokens=256,
            compile=True,
            compile_options={"backend": backend},
            **SETTINGS[name],
        )

    generate(prompts[0])  # warm-up: compiles each level's step once
    assert _graph_count(backend) == (levels, 0), "each level's step must be one whole graph"
    static = model._hfplug_static[1]
    accepted = record_accepted(static)
    output = generate(prompts[1])
    assert _graph_count(backend) == (levels, 0), f"recompiled or broke a graph: {dict(counters['graph_break'])}"
    assert model._hfplug_static[1] is static  # same buffers, same compiled steps
    assert torch.equal(output, model.generate(prompts[1], do_sample=False, max_new_tokens=256))
    assert output.shape[1] - prompts[1].shape[1] == 256
    if levels > 1:
        # Rounds really ended at different acceptance lengths, several times each.
        lengths = Counter(accepted)
        assert len([length for length, times in lengths.items() if times >= 3]) >= 3, lengths


class _PlantedItem:
    """A step that reads a position on the host (``.item()``): a graph break and a device sync."""

    def _draft_step(self, position: torch.Tensor) -> torch.Tensor:
        if position.item() < 0:
            raise AssertionError("unreachable")
        return super()._draft_step(position)


class _PlantedDataDependentShape:
    """A step whose tensor shape depends on values: boolean-mask indexing."""

    def run_range(self, k: int, hidden: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        return super().run_range(k, hidden, positions[positions >= 0])


@pytest.mark.parametrize("planted", [_PlantedItem, _PlantedDataDependentShape])
def test_a_planted_host_read_or_data_dependent_shape_is_counted(planted, static_decoding, prompts):
    torch._dynamo.reset()
    counters.clear()
    backend = CompileCounter()
    model = scaled_model(layers=3, deeper_scale=0.3)
    planted_class = type("Planted", (planted, static_decoding.StaticSpeculation), {})
    static = planted_class(model, [1, 3], [0, 2], capacity=256, compile_options={"backend": backend})
    with torch.no_grad():
        row, _ = static_decoding.StaticDecodingRun(static, set()).decode(prompts[0][0].tolist(), 12)
    assert row == model.generate(prompts[0], do_sample=False, max_new_tokens=12)[0].tolist()
    frames, breaks = _graph_count(backend)
    assert breaks > 0 and frames > 2, (frames, breaks)


def test_hfplug_generate_compile_flag_passes_compile_true_to_the_strategy(monkeypatch):
    from click.testing import CliRunner

    from hfplug.cli import cli

    received = []
    import hfplug.generate

    original = hfplug.generate.generate_text

    def spying(*args, **kwargs):
        received.append(kwargs.get("compile"))
        return original(*args, **kwargs)

    monkeypatch.setattr(hfplug.generate, "generate_text", spying)
    base = ["generate", "--model", "tiny", "--prompt", "Once upon", "--no-chat", "--max-new-tokens", "6"]
    base += ["--strategy", "greedy", "--option", 'compile_options={"backend": "eager"}']
    plain = CliRunner().invoke(cli, base)
    compiled = CliRunner().invoke(cli, [*base, "--compile"])
    assert plain.exit_code == 0 and compiled.exit_code == 0, (plain.output, compiled.output)
    assert received == [None, True]
    assert compiled.output == plain.output
    no_strategy = CliRunner().invoke(cli, ["generate", "--model", "tiny", "--prompt", "x", "--compile"])
    assert no_strategy.exit_code != 0 and "--strategy" in no_strategy.output
