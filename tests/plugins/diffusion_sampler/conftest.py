"""Fixtures for the diffusion-sampler tests: a tiny random masked diffusion LM, the toy coupling model
whose true joint over two masked slots is {(a, a), (b, b)}, and the strategies loaded once."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch
from hfplug_diffusion_sampler.sampler import JointSampler
from hfplug_diffusion_sampler.strategy_folders import load_strategy
from hfplug_diffusion_sampler.tiny_lm import new_tiny_diffusion_lm, train_tokenizer
from torch import nn

from hfplug.testing.models import TINY_CORPUS


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Any:
    """These models are tiny: one thread is as fast on an idle machine and far faster on a busy one
    (two threads spinning on a shared 2-core machine made a 4 s training loop take 80 s)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def mdlm_tokenizer() -> Any:
    return train_tokenizer(list(TINY_CORPUS) * 4, vocab_size=300)


@pytest.fixture(scope="session")
def tiny_mdlm(mdlm_tokenizer: Any) -> Any:
    """A random 2-layer bidirectional transformer with a mask token (peaked logits, so choices matter)."""
    model = new_tiny_diffusion_lm(mdlm_tokenizer, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, seed=3)
    with torch.no_grad():
        model.decoder.weight.mul_(8.0)  # far from uniform, so position choice and sampling are informative
    return model.eval()


@pytest.fixture(scope="session")
def strategies(tiny_mdlm: Any) -> dict[str, Any]:
    return {name: load_strategy(tiny_mdlm, name) for name in ("joint_sampler", "exact", "marginal")}


@pytest.fixture
def random_sampler(tiny_mdlm: Any) -> JointSampler:
    """A sampler with random (non-zero) output projections: its q differs from the base marginal."""
    torch.manual_seed(5)
    sampler = JointSampler(hidden_size=32, vocab_size=tiny_mdlm.config.vocab_size, num_attention_heads=2)
    with torch.no_grad():
        for layer in (sampler.attention_output, sampler.mlp_down):
            layer.weight.normal_(0, 0.5)
    return sampler.eval()


@pytest.fixture
def prompt(mdlm_tokenizer: Any) -> torch.Tensor:
    return mdlm_tokenizer(["The quick brown fox"], return_tensors="pt").input_ids


PAD, PROMPT, A, B, MASK = range(5)


class EmbedAndHead(nn.Module):
    """A toy model's input embeddings (``embed``) and LM head (``head``), where the loop looks for them."""

    def get_input_embeddings(self) -> nn.Module:
        return self.embed

    def get_output_embeddings(self) -> nn.Module:
        return self.head


class CouplingModel(EmbedAndHead):
    """A masked model over [prompt, slot, slot] whose slots always agree.

    The hidden state of a slot says what the other slot holds; the head maps "other is a" to a (logit +8
    vs -8), "other is b" to b, "other is masked" to a and b with 1/2 each, and every other token to -20.
    So the exact sequential joint is {(a, a), (b, b)} with 1/2 each, and each marginal is uniform on {a, b}.
    Token embeddings live in dims 0..4, the hidden state in dims 5..7, so a sampler must move information.
    """

    def __init__(self) -> None:
        super().__init__()
        self.config = SimpleNamespace(mask_token_id=MASK, model_type="coupling_toy")
        self.embed = nn.Embedding(5, 8)
        self.head = nn.Linear(8, 5)
        with torch.no_grad():
            self.embed.weight.copy_(torch.eye(5, 8))
            self.head.weight.zero_()
            self.head.bias.zero_()
            self.head.weight[A, 5], self.head.weight[A, 6] = 8.0, -8.0
            self.head.weight[B, 5], self.head.weight[B, 6] = -8.0, 8.0
            for token in (PAD, PROMPT, MASK):
                self.head.weight[token, 7] = -20.0
        self.requires_grad_(False)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> Any:
        other = input_ids[:, [0, 2, 1]]  # slot 1 sees slot 2 and back (position 0 sees itself: the prompt)
        hidden = torch.zeros(*input_ids.shape, 8)
        hidden[..., 5] = (other == A).float()
        hidden[..., 6] = (other == B).float()
        hidden[..., 7] = 1.0
        return SimpleNamespace(logits=self.head(hidden))


@pytest.fixture(scope="session")
def coupling_model() -> CouplingModel:
    return CouplingModel().eval()


def prompts_with_left_padding(model, seed: int, rows: int, length: int):
    """Random prompt tokens (neither pad nor mask) and, for rows after the first, some left padding."""
    generator = torch.Generator().manual_seed(seed)
    pad = model.pad_token_id
    tokens = torch.randint(1, model.mask_token_id, (rows, length), generator=generator)
    attention = torch.ones(rows, length, dtype=torch.long)
    for row in range(1, rows):
        padding = int(torch.randint(0, length, (1,), generator=generator))
        attention[row, :padding] = 0
        tokens[row, :padding] = pad
    return tokens, attention


def random_sampler_for(model, seed: int) -> JointSampler:
    """A sampler whose every weight is random, so its output depends on everything it reads."""
    generator = torch.Generator().manual_seed(seed)
    sampler = JointSampler(hidden_size=model.hidden_size, vocab_size=model.vocab_size, num_attention_heads=2)
    with torch.no_grad():
        for parameter in sampler.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    return sampler.eval()


def count_calls(model, sampler):
    """Counts the model's forward passes (a hook) and the sampler's reads, independently of the loop's statistics."""
    counts = {"full": 0, "sampler": 0}
    handles = [model.register_forward_hook(lambda *args: counts.__setitem__("full", counts["full"] + 1))]
    original = sampler.read

    def counted_read(*args, **kwargs):
        counts["sampler"] += 1
        return original(*args, **kwargs)

    sampler.read = counted_read
    return counts, handles


def inconsistent_share(sequences: torch.Tensor) -> float:
    """Share of rows whose two generated slots differ."""
    return float((sequences[:, 1] != sequences[:, 2]).float().mean())


class ToyMaskedLM(EmbedAndHead):
    """A masked LM whose columns disagree: each position's distribution depends on its own token, its
    position and the mean of the unpadded sequence, with sharp random weights. Rules that rank masked
    columns (by top probability, margin, entropy) then rank them far apart, and revealing a token changes
    every other column's distribution, as in a real bidirectional model. Vocabulary 12: 0 pads, 11 masks."""

    vocab_size, hidden_size, max_length, pad_token_id, mask_token_id = 12, 16, 40, 0, 11

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.config = SimpleNamespace(mask_token_id=self.mask_token_id, model_type="toy", vocab_size=self.vocab_size)
        self.embed = nn.Embedding(self.vocab_size, self.hidden_size)
        self.head = nn.Linear(self.hidden_size, self.vocab_size)
        self.positions = nn.Parameter(torch.randn(self.max_length, self.hidden_size, generator=generator))
        self.mixing = nn.Parameter(torch.randn(self.hidden_size, self.hidden_size, generator=generator) / 2)
        with torch.no_grad():
            self.embed.weight.copy_(torch.randn(self.vocab_size, self.hidden_size, generator=generator))
            self.head.weight.copy_(torch.randn(self.vocab_size, self.hidden_size, generator=generator) * 1.5)
            self.head.bias.copy_(torch.randn(self.vocab_size, generator=generator))
        self.requires_grad_(False)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> Any:
        tokens = self.embed(input_ids)
        keep = torch.ones_like(input_ids) if attention_mask is None else attention_mask
        keep = keep[..., None].to(tokens.dtype)
        context = (tokens * keep).sum(dim=1, keepdim=True) / keep.sum(dim=1, keepdim=True)
        hidden = torch.tanh(tokens + self.positions[: input_ids.shape[1]] + context @ self.mixing)
        return SimpleNamespace(logits=self.head(hidden))


@pytest.fixture(scope="session")
def toy_mdlm() -> ToyMaskedLM:
    return ToyMaskedLM().eval()
