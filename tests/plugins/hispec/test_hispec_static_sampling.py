"""``compile=True`` with ``do_sample=True``: speculative sampling inside the fixed-shape steps.

Exact in distribution: HiSpec's compiled steps, with temperature, top-k and top-p, sample 3-token
continuations distributed as the full model's (chi-square on a 6-token vocabulary, against the joint
computed with transformers' own warpers), and the test rejects the draft exit's distribution.
Graph-ready and faithful to its eager self: with a fixed seed the traced steps draw the very tokens
the same steps draw run eagerly, and after warm-up 256 sampled tokens compile nothing new and break
no graph, with acceptance lengths varying from round to round.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import torch
from torch._dynamo.testing import CompileCounter
from torch._dynamo.utils import counters
from transformers import LogitsProcessorList
from transformers.generation import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

from hfplug.testing import make_tiny_tokenizer

from .conftest import NEW_TOKENS, chi_square_p_value, exact_joint, record_accepted, sampled_counts, scaled_model

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # untrained-exit warnings of random models

WARPING = {"temperature": 0.8, "top_k": 5, "top_p": 0.95}
SAMPLES = 2000
HISPEC = {"draft_layer": 1, "verify_layer": 3, "draft_length": 2, "verify_window": 2}


def _reference_warp(logits: torch.Tensor) -> torch.Tensor:
    """transformers' warpers as generate() chains them, independently of the strategy's own chaining."""
    warpers = LogitsProcessorList(
        [
            TemperatureLogitsWarper(WARPING["temperature"]),
            TopKLogitsWarper(WARPING["top_k"]),
            TopPLogitsWarper(WARPING["top_p"]),
        ]
    )
    return warpers(None, logits)


def test_compiled_sampling_follows_the_full_model_with_temperature_top_k_and_top_p(small_vocab_model, strategy, device):
    prompt = [1, 4, 2]
    full_joint = exact_joint(small_vocab_model, prompt, None, _reference_warp)
    draft_joint = exact_joint(small_vocab_model, prompt, 1, _reference_warp)
    # top-k and top-p really cut tokens, and the exits really disagree.
    assert (full_joint == 0).sum() > 0
    assert 0.5 * (full_joint - draft_joint).abs().sum() > 0.2

    generate = strategy("hispec")
    torch.manual_seed(0)
    counts, rejections = sampled_counts(
        lambda: generate(
            model=small_vocab_model,
            input_ids=torch.tensor([prompt], device=device),
            do_sample=True,
            max_new_tokens=NEW_TOKENS,
            compile=True,
            compile_options={"backend": "eager"},  # dynamo's capture, run without code generation: fast
            return_dict_in_generate=True,
            **WARPING,
            **HISPEC,
        ),
        SAMPLES,
        len(prompt),
    )
    assert min(rejections) > 100, f"both levels must reject often for the test to mean something: {rejections}"
    assert counts[full_joint == 0].sum() == 0, "a token cut by top-k/top-p was sampled"
    assert chi_square_p_value(counts, full_joint) > 1e-3
    assert chi_square_p_value(counts, draft_joint) < 1e-6


def test_traced_sampling_steps_draw_the_eager_steps_tokens_and_stay_one_graph(strategy):
    from hfplug_hispec.strategies.hispec.custom_generate import static_decoding

    torch._dynamo.reset()
    counters.clear()
    backend = CompileCounter()  # runs each captured graph as it is: the same random draws as eagerly
    model = scaled_model(layers=6, deeper_scale=0.3)
    tokenizer = make_tiny_tokenizer()
    prompts = [tokenizer(text, return_tensors="pt").input_ids for text in ("Once upon a time", "The dog sat")]
    settings = {"draft_layer": 1, "verify_layer": 3, "draft_length": 2, "verify_window": 3}

    def compiled(prompt: torch.Tensor, seed: int) -> Any:
        torch.manual_seed(seed)
        return strategy("hispec")(
            model=model,
            input_ids=prompt,
            do_sample=True,
            max_new_tokens=256,
            compile=True,
            compile_options={"backend": backend},
            return_dict_in_generate=True,
            **WARPING,
            **settings,
        )

    compiled(prompts[0], seed=1)  # warm-up: each level's step is captured once
    assert (backend.frame_count, sum(counters["graph_break"].values())) == (3, 0)
    static = model._hfplug_static[1]
    accepted = record_accepted(static)
    output = compiled(prompts[1], seed=2)
    assert (backend.frame_count, sum(counters["graph_break"].values())) == (3, 0), dict(counters["graph_break"])
    assert model._hfplug_static[1] is static
    assert output.sequences.shape[1] - prompts[1].shape[1] == 256
    lengths = Counter(accepted)
    assert len([length for length, times in lengths.items() if times >= 3]) >= 3, lengths

    # The same steps run eagerly, from the same seed, draw the same tokens and count the same.
    eager = static_decoding.StaticSpeculation(
        model,
        [1, 3, 6],
        [0, 2, 3],
        capacity=static.capacity,
        compile_options=None,
        sampling=(WARPING["temperature"], WARPING["top_k"], WARPING["top_p"]),
    )
    torch.manual_seed(2)
    with torch.no_grad():
        row, stats = static_decoding.StaticDecodingRun(eager, set()).decode(prompts[1][0].tolist(), 256)
    assert row == output.sequences[0].tolist()
    assert stats.as_dict() == output.speculation_stats
