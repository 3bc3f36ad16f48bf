"""The ADJUST sampler g_phi (arXiv:2509.22738): one bidirectional transformer layer that turns the base
model's hidden states H and the tokens already sampled in this step into the distribution of the next one.

    u = g_phi(H + Emb(t_<k at positions j_<k));  q(t_k) = softmax(Head(u)[j_k])

``Emb`` and ``Head`` are the frozen base model's input embeddings and LM head (passed in, not owned), so
the sampler is small and publishable on its own (``PyTorchModelHubMixin``). The attention and MLP output
projections start at zero, so an untrained sampler reproduces the base marginal exactly.

Two ways to run it compute the same function: ``forward`` (many (state, revealed set) examples at once,
for training) and ``SamplerStep`` (one denoising step, revealing one token at a time: only the revealed
position's keys and values change, so each sampler pass reads one query position).
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch
from huggingface_hub import ModelCard, PyTorchModelHubMixin
from torch import nn

FUSIONS = ("add", "none")
# The card a saved sampler carries; {base} is the base model's name, the sizes are the sampler's.
CARD_TEXT = (
    "# ADJUST joint sampler for `{base}`\n\n"
    "A single transformer layer that lets a masked diffusion LM unmask several tokens per step close to "
    "their joint distribution (arXiv:2509.22738), trained with hfplug's `joint_sampler` trainer. It only "
    "works with the base model it was trained for (`{base}`; hidden size {hidden_size}, vocabulary "
    "{vocab_size}).\n\n"
    "```python\nmodel.generate(input_ids, custom_generate=<the joint_sampler strategy>,\n"
    "               trust_remote_code=True,\n"
    "               sampler=<this repo>, tokens_per_step=4, max_new_tokens=64, do_sample=True)\n```\n"
)


class JointSampler(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="pytorch",
    tags=["hfplug", "hfplug-diffusion-sampler", "masked-diffusion", "joint-sampler"],
    repo_url="https://arxiv.org/abs/2509.22738",
):
    """One transformer layer (pre-norm attention + MLP) over the base model's last hidden states.

    Args:
        hidden_size: width of the base model's hidden states that feed its LM head.
        vocab_size: number of logits the base model's LM head produces.
        num_attention_heads: heads of the layer; default ``max(1, hidden_size // 64)`` [ours].
        intermediate_size: MLP width; default ``4 * hidden_size`` [ours].
        fusion: ``"add"`` adds (a learned per-channel scale times) the token embedding of each revealed
            token to H at its position [spec default]; ``"none"`` ignores the revealed tokens (an ablation:
            such a sampler can only learn the marginal).
        norm_eps: epsilon of the layer norms.
        base_model: name of the base model it was trained for (written to its card).
        base_fingerprint: a short hash of the base model's LM head, to warn when used on other weights.
    """

    def __init__(
        self,
        hidden_size: int,
        vocab_size: int,
        num_attention_heads: int | None = None,
        intermediate_size: int | None = None,
        fusion: str = "add",
        norm_eps: float = 1e-5,
        base_model: str | None = None,
        base_fingerprint: str | None = None,
    ) -> None:
        super().__init__()
        num_attention_heads = num_attention_heads or max(1, hidden_size // 64)
        intermediate_size = intermediate_size or 4 * hidden_size
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}, got {fusion!r}.")
        if hidden_size % num_attention_heads:
            raise ValueError(
                f"hidden_size {hidden_size} is not divisible by num_attention_heads {num_attention_heads}."
            )
        self.hidden_size, self.vocab_size = hidden_size, vocab_size
        self.num_attention_heads, self.intermediate_size = num_attention_heads, intermediate_size
        self.fusion, self.base_model, self.base_fingerprint = fusion, base_model, base_fingerprint
        self.input_norm = nn.LayerNorm(hidden_size, eps=norm_eps)
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key_value = nn.Linear(hidden_size, 2 * hidden_size)
        self.attention_output = nn.Linear(hidden_size, hidden_size)
        self.mlp_norm = nn.LayerNorm(hidden_size, eps=norm_eps)
        self.mlp_up = nn.Linear(hidden_size, intermediate_size)
        self.mlp_down = nn.Linear(intermediate_size, hidden_size)
        self.revealed_scale = nn.Parameter(torch.ones(hidden_size))
        # Zero output projections: the layer starts as the identity, so q starts as the base marginal.
        for layer in (self.attention_output, self.mlp_down):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    # -- the two halves of the layer, shared by training and generation ------------------------------

    def fuse(self, hidden: torch.Tensor, revealed: torch.Tensor) -> torch.Tensor:
        """The layer's input: H plus the (scaled) embeddings of revealed tokens, zero elsewhere."""
        if self.fusion == "none":
            return hidden
        return hidden + self.revealed_scale * revealed

    def keys_values(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values, ``(..., heads, positions, head_dim)``, of layer inputs ``(..., positions, hidden)``."""
        keys, values = self.key_value(self.input_norm(states)).chunk(2, dim=-1)
        return self._heads(keys), self._heads(values)

    def read(
        self, query_states: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, key_mask: torch.Tensor | None
    ) -> torch.Tensor:
        """``u`` at the query positions: ``query_states`` ``(N, hidden)`` attend over ``keys``/``values``
        ``(N, heads, L, head_dim)``."""
        queries = self._heads(self.query(self.input_norm(query_states))[:, None])
        mask = None if key_mask is None else key_mask[:, None, None, :].to(torch.bool)
        attended = nn.functional.scaled_dot_product_attention(queries, keys, values, attn_mask=mask)
        residual = query_states + self.attention_output(attended.transpose(1, 2).reshape(query_states.shape))
        return residual + self.mlp_down(nn.functional.gelu(self.mlp_up(self.mlp_norm(residual))))

    def _heads(self, states: torch.Tensor) -> torch.Tensor:
        *batch, positions, width = states.shape
        head_dim = width // self.num_attention_heads
        return states.view(*batch, positions, self.num_attention_heads, head_dim).transpose(-3, -2)

    def forward(
        self,
        hidden: torch.Tensor,
        revealed: torch.Tensor,
        query_positions: torch.Tensor,
        key_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``u`` ``(N, hidden)`` for N examples at once.

        Args:
            hidden: ``(N, L, hidden)`` the base model's hidden states of each example's state x.
            revealed: ``(N, L, hidden)`` embeddings of the tokens revealed so far in the step, zero elsewhere.
            query_positions: ``(N,)`` the position j_k each example asks about.
            key_mask: ``(N, L)`` True where a position may be attended to (False on padding); None for all.
        """
        states = self.fuse(hidden, revealed)
        keys, values = self.keys_values(states)
        rows = torch.arange(states.shape[0], device=states.device)
        return self.read(states[rows, query_positions], keys, values, key_mask)

    def generate_model_card(self, *args: Any, **kwargs: Any) -> ModelCard:
        """The mixin's card, naming the base model this sampler was distilled from."""
        card = super().generate_model_card(*args, **kwargs)
        base = self.base_model or "unknown"
        if self.base_model and "/" in self.base_model and not self.base_model.startswith(("/", ".")):
            card.data.base_model = self.base_model
        card.text = CARD_TEXT.format(base=base, hidden_size=self.hidden_size, vocab_size=self.vocab_size)
        return card


def head_fingerprint(head_weight: torch.Tensor) -> str:
    """A cheap hash of an LM head (a strided sample of its weights), to tell base models apart."""
    flat = head_weight.detach().reshape(-1)
    sample = flat[:: max(1, flat.numel() // 4096)][:4096].to(torch.float32).cpu()
    return hashlib.sha256(sample.numpy().round(5).tobytes()).hexdigest()[:16]


class SamplerStep:
    """The sampler inside one denoising step: reveal tokens one by one, read u at the next position.

    Revealing a token changes the layer input at one position only, so only that position's keys and
    values are recomputed; a read runs the query, attention and MLP at one position per row.
    """

    def __init__(self, sampler: JointSampler, hidden: torch.Tensor, key_mask: torch.Tensor | None) -> None:
        self.sampler = sampler
        self.states = hidden.clone()
        # Own copies (not views of one projection), so revealing a token can update them in place.
        self.keys, self.values = (part.clone() for part in sampler.keys_values(self.states))
        self.key_mask = key_mask
        self.rows = torch.arange(hidden.shape[0], device=hidden.device)
        self.reads = 0

    def reveal(self, positions: torch.Tensor, embeddings: torch.Tensor) -> None:
        """Add the embeddings ``(B, hidden)`` of the tokens just sampled at ``positions`` ``(B,)``."""
        if self.sampler.fusion == "none":
            return
        updated = self.states[self.rows, positions] + self.sampler.revealed_scale * embeddings
        self.states[self.rows, positions] = updated
        keys, values = self.sampler.keys_values(updated[:, None])
        self.keys[self.rows, :, positions] = keys[:, :, 0]
        self.values[self.rows, :, positions] = values[:, :, 0]

    def read(self, positions: torch.Tensor) -> torch.Tensor:
        """``u`` ``(B, hidden)`` at ``positions`` ``(B,)``: one sampler pass."""
        self.reads += 1
        return self.sampler.read(self.states[self.rows, positions], self.keys, self.values, self.key_mask)
