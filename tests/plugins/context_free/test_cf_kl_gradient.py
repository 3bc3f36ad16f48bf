"""On a tiny enumerable model the SFT gradient on context-free samples is a Monte-Carlo estimate of
grad KL(p_base || p_theta), computed exactly by enumerating every sequence the sampler can produce."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from hfplug_context_free import ContextFreeConfig, draw_context_free_samples
from hfplug_context_free.mixing import context_free_row
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from hfplug.testing import make_tiny_model

BOS, EOS, VOCAB = 0, 5, 6
MAX_NEW_TOKENS = 2
NUM_SAMPLES = 20000


@dataclass
class EnumerableVocab:
    """A six-token vocabulary (BOS 0, EOS 5): small enough to list every sequence of length <= 2."""

    bos_token_id: int = BOS
    eos_token_id: int = EOS
    pad_token_id: int = EOS

    def __len__(self) -> int:
        return VOCAB


def tiny_enumerable_model(seed: int):
    # A wide initialisation makes the next-token distributions far from uniform, so the two models differ.
    model = make_tiny_model(EnumerableVocab(), seed=seed, initializer_range=0.5)
    model.eval()
    return model


def every_sequence() -> list[list[int]]:
    """Everything the sampler can return: EOS alone, or two tokens whose first is not EOS."""
    return [[EOS]] + [[a, b] for a, b in itertools.product(range(VOCAB), repeat=2) if a != EOS]


def sequence_log_probs(model, sequences: list[list[int]]) -> torch.Tensor:
    """log p(x | BOS) for each sequence, by one forward pass per length."""
    result = torch.empty(len(sequences))
    for length in {len(s) for s in sequences}:
        index = [i for i, s in enumerate(sequences) if len(s) == length]
        tokens = torch.tensor([[BOS, *sequences[i]] for i in index])
        log_probs = model(input_ids=tokens).logits[:, :-1].log_softmax(-1)
        picked = log_probs.gather(-1, tokens[:, 1:, None]).squeeze(-1).sum(-1)
        result = result.index_put((torch.tensor(index),), picked)
    return result


def flat_grad(model, loss: torch.Tensor) -> torch.Tensor:
    model.zero_grad()
    loss.backward()
    return torch.cat([p.grad.flatten() for p in model.parameters()])


def exact_kl_gradient(base, model) -> tuple[torch.Tensor, float]:
    """grad_theta KL(p_base || p_theta) (= grad of the cross-entropy) and the trace of the covariance of the
    per-sequence gradient -grad log p_theta(x), x ~ p_base (which sets the Monte-Carlo error)."""
    sequences = every_sequence()
    with torch.no_grad():
        base_probs = sequence_log_probs(base, sequences).exp()
    assert torch.isclose(base_probs.sum(), torch.tensor(1.0), atol=1e-5)  # the enumeration is complete
    per_sequence = torch.stack([flat_grad(model, -sequence_log_probs(model, [s])[0]) for s in sequences])
    exact = base_probs @ per_sequence
    spread = (base_probs[:, None] * (per_sequence - exact) ** 2).sum().item()
    kl_gradient = flat_grad(model, -(base_probs * sequence_log_probs(model, sequences)).sum())
    torch.testing.assert_close(kl_gradient, exact, atol=1e-5, rtol=1e-4)
    return exact, spread


def monte_carlo_gradient(sampler, model, seed: int = 0) -> torch.Tensor:
    """The SFT gradient on context-free rows drawn from ``sampler``, batched by trl's collator.

    The model's loss is the token mean; multiplying by (label tokens / sequences) turns it into the mean
    per-sequence negative log-likelihood, whose expectation is the cross-entropy to p_sampler.
    """
    config = ContextFreeConfig(max_new_tokens=MAX_NEW_TOKENS, batch_size=NUM_SAMPLES, progress=False)
    samples = draw_context_free_samples(sampler, EnumerableVocab(), NUM_SAMPLES, config, seed=seed)
    rows = [context_free_row(BOS, sample) for sample in samples]
    batch = DataCollatorForLanguageModeling(pad_token_id=EOS)(
        [{k: r[k] for k in ("input_ids", "labels")} for r in rows]
    )
    label_tokens = (batch["labels"][:, 1:] != -100).sum()
    loss = model(**batch).loss * label_tokens / len(rows)
    return flat_grad(model, loss)


def test_monte_carlo_gradient_matches_exact_kl_gradient():
    base, model = tiny_enumerable_model(seed=0), tiny_enumerable_model(seed=1)
    exact, spread = exact_kl_gradient(base, model)
    tolerance = 2 * (spread / NUM_SAMPLES) ** 0.5  # twice the RMS error of the estimate
    assert tolerance < 0.25 * exact.norm()  # the check has power: the gradient is well above the noise

    estimate = monte_carlo_gradient(base, model)
    assert (estimate - exact).norm() < tolerance
    assert torch.nn.functional.cosine_similarity(estimate, exact, dim=0) > 0.95

    # Negative control: samples from the model being trained (not the frozen base) estimate a zero gradient,
    # which this test must tell apart from the KL gradient.
    wrong = monte_carlo_gradient(model, model)
    assert (wrong - exact).norm() > tolerance


def test_mean_gradient_at_the_base_model_is_zero():
    base = tiny_enumerable_model(seed=0)
    copy = tiny_enumerable_model(seed=0)
    exact, spread = exact_kl_gradient(base, copy)
    assert exact.norm() < 1e-5
    moved = tiny_enumerable_model(seed=1)
    scale, _ = exact_kl_gradient(base, moved)
    estimate = monte_carlo_gradient(base, copy, seed=3)
    assert estimate.norm() < 2 * (spread / NUM_SAMPLES) ** 0.5
    assert estimate.norm() < 0.25 * scale.norm()
