"""Tiny deep models for the HiSpec tests: one whose early exits disagree with the full model
(random weights, ~0 acceptance) and one whose deeper layers barely move the residual stream,
so every exit agrees (~100% acceptance).

Every test that computes runs once per device in ``DEVICES``: the CPU always, and CUDA where a
GPU is present (on a CPU-only machine nothing is skipped: the CUDA cases simply do not exist).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

import hfplug
from hfplug.testing import make_tiny_model, make_tiny_tokenizer

NUM_LAYERS = 8
VOCAB = 6  # the sampling tests' vocabulary: small enough to enumerate every continuation
NEW_TOKENS = 3  # tokens sampled per sequence there
# Most tests here decode with random exits on purpose, so the strategy's untrained-exits warning is expected
# there and says nothing; test_hispec_untrained_exits.py asserts where it must, and must not, appear.
UNTRAINED_EXITS_EXPECTED = pytest.mark.filterwarnings("ignore:.*early exits look untrained.*:UserWarning")
ASSERTS_THE_WARNING = "test_hispec_untrained_exits.py"
DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


def deep_model(
    *, agreeing: bool, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu", **overrides: Any
) -> Any:
    """An 8-layer random Llama; ``agreeing`` shrinks what layers >= 1 add, so all exits predict alike."""
    model = make_tiny_model(make_tiny_tokenizer(), num_hidden_layers=NUM_LAYERS, seed=3, **overrides)
    if agreeing:
        with torch.no_grad():
            for layer in model.model.layers[1:]:
                layer.self_attn.o_proj.weight.mul_(1e-3)
                layer.mlp.down_proj.weight.mul_(1e-3)
    return model.to(device, dtype).eval()


def scaled_model(*, layers: int, deeper_scale: float) -> Any:
    """A random float32 Llama (hidden 64) whose layers >= 1 add ``deeper_scale`` times what they would:
    a scale near 0 makes every exit agree with the full model, 1 makes them disagree."""
    model = make_tiny_model(make_tiny_tokenizer(), num_hidden_layers=layers, hidden_size=64, seed=3)
    with torch.no_grad():
        for layer in model.model.layers[1:]:
            layer.self_attn.o_proj.weight.mul_(deeper_scale)
            layer.mlp.down_proj.weight.mul_(deeper_scale)
    return model.float().eval()


def record_accepted(static: Any) -> list[int]:
    """Wrap a ``StaticSpeculation``'s verification steps so that a test sees every acceptance length."""
    seen: list[int] = []

    def recording(step: Callable[..., Any]) -> Callable[..., Any]:
        def run(*positions: torch.Tensor) -> Any:
            accepted = step(*positions)
            seen.append(int(accepted))
            return accepted

        return run

    static.steps[1:] = [recording(step) for step in static.steps[1:]]
    return seen


def sampled_counts(draw: Callable[[], Any], samples: int, prompt_length: int) -> tuple[torch.Tensor, list[int]]:
    """How often each NEW_TOKENS continuation came out of ``samples`` calls of ``draw`` (a generate call with
    ``return_dict_in_generate=True``; row 0), and how many candidates each level rejected in all."""
    counts = torch.zeros((VOCAB,) * NEW_TOKENS)
    rejections: list[int] = []
    for _ in range(samples):
        output = draw()
        counts[tuple(output.sequences[0, prompt_length:].tolist())] += 1
        levels = output.speculation_stats["acceptance"]
        rejections = rejections or [0] * len(levels)
        for index, level in enumerate(levels):
            rejections[index] += level["proposed"] - level["accepted"]
    return counts, rejections


def chi_square_p_value(counts: torch.Tensor, probabilities: torch.Tensor) -> float:
    """Pearson's test; cells expected fewer than 5 times are pooled into one."""
    expected = probabilities.flatten() * counts.sum()
    observed = counts.flatten().double()
    small = expected < 5
    expected = torch.cat([expected[~small], expected[small].sum().reshape(1)])
    observed = torch.cat([observed[~small], observed[small].sum().reshape(1)])
    statistic = ((observed - expected) ** 2 / expected.clamp(min=1e-12)).sum()
    degrees = len(expected) - 1
    return float(torch.special.gammaincc(torch.tensor(degrees / 2.0), statistic / 2.0))


def exact_joint(
    model: Any, prompt: list[int], exit_layer: int | None, warp: Callable[[torch.Tensor], torch.Tensor] | None = None
) -> torch.Tensor:
    """P(t1, ..., t_NEW_TOKENS | prompt) when every token is drawn from the softmax of the (``warp``-ed) logits
    of the model read at ``exit_layer`` (None: the full model)."""
    sequences = [
        prompt + list(prefix) for n in range(NEW_TOKENS) for prefix in itertools.product(range(VOCAB), repeat=n)
    ]
    next_token = {}
    with torch.no_grad():
        for sequence in sequences:
            output = model(torch.tensor([sequence], device=model.device), output_hidden_states=exit_layer is not None)
            if exit_layer is None:
                logits = output.logits[0, -1]
            else:
                logits = model.lm_head(model.model.norm(output.hidden_states[exit_layer][0, -1]))
            if warp is not None:
                logits = warp(logits[None])[0]
            next_token[tuple(sequence[len(prompt) :])] = torch.softmax(logits, dim=-1).cpu()
    joint = torch.ones((VOCAB,) * NEW_TOKENS, dtype=torch.float64)
    for tokens in itertools.product(range(VOCAB), repeat=NEW_TOKENS):
        for n in range(NEW_TOKENS):
            joint[tokens] *= next_token[tokens[:n]][tokens[n]]
    return joint


@pytest.fixture(scope="module", params=DEVICES)
def device(request: pytest.FixtureRequest) -> torch.device:
    """The device a test's models and tensors live on."""
    return torch.device(request.param)


def _returned_cache(output: Any) -> Any:
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values


@pytest.fixture(scope="session")
def cache_of() -> Callable[[Any], Any]:
    """The KV cache of a generate or forward output: ``cache`` from transformers 5.24 on, ``past_key_values`` before."""
    return _returned_cache


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models are dominated by per-op overhead, which extra threads only add to on a busy machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def make_deep_model() -> Callable[..., Any]:
    """The factory itself, for tests that need another dtype or config."""
    return deep_model


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return make_tiny_tokenizer()


@pytest.fixture(scope="module")
def disagreeing_model(device: torch.device) -> Any:
    return deep_model(agreeing=False, device=device)


@pytest.fixture(scope="module")
def agreeing_model(device: torch.device) -> Any:
    return deep_model(agreeing=True, device=device)


@pytest.fixture(scope="module")
def prompt(tokenizer: Any, device: torch.device) -> torch.Tensor:
    return tokenizer("Once upon a time", return_tensors="pt").input_ids.to(device)


@pytest.fixture(scope="module")
def strategy() -> Callable[[str], Callable[..., Any]]:
    """Loads a registered strategy's ``generate`` the way ``model.generate(custom_generate=...)`` does."""
    loaded: dict[str, Callable[..., Any]] = {}

    def load(name: str) -> Callable[..., Any]:
        if name not in loaded:
            folder = hfplug.load("generation", name)
            from transformers import GenerationMixin

            loaded[name] = GenerationMixin.load_custom_generate(None, folder, trust_remote_code=True)
        return loaded[name]

    return load


@pytest.fixture(scope="module")
def greedy_hispec(strategy: Callable[[str], Callable[..., Any]]) -> Callable[..., Any]:
    """``greedy_hispec(model, prompt, **settings)``: greedy HiSpec returning the output with statistics."""

    def run(model: Any, prompt: torch.Tensor, **settings: Any) -> Any:
        return strategy("hispec")(
            model=model, input_ids=prompt, do_sample=False, return_dict_in_generate=True, **settings
        )

    return run


@pytest.fixture(scope="module")
def hispec_at(greedy_hispec: Callable[..., Any]) -> Callable[..., Any]:
    """``hispec_at(model, prompt, (l_d, l_i, N_d, N_i), **kwargs)``: greedy HiSpec at those exits and windows."""

    def run(model: Any, prompt: torch.Tensor, settings: tuple[int, int, int, int], **kwargs: Any) -> Any:
        draft, verify, draft_length, window = settings
        return greedy_hispec(
            model,
            prompt,
            draft_layer=draft,
            verify_layer=verify,
            draft_length=draft_length,
            verify_window=window,
            **kwargs,
        )

    return run


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Filter the untrained-exits warning in this folder's tests, except where it is the subject."""
    here = Path(__file__).parent
    for item in items:
        if item.path.parent == here and item.path.name != ASSERTS_THE_WARNING:
            item.add_marker(UNTRAINED_EXITS_EXPECTED)


@pytest.fixture(scope="module")
def small_vocab_model(device: torch.device) -> Any:
    """A float64 6-layer Llama over a VOCAB-token vocabulary whose exits disagree with the full model."""
    # The shared tiny-model helper sizes the vocabulary from a real tokenizer; these tests need VOCAB tokens.
    config = LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=6,
        num_attention_heads=2,
        num_key_value_heads=2,
        initializer_range=0.4,
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
    )
    torch.manual_seed(7)
    return LlamaForCausalLM(config).to(device, torch.float64).eval()
