"""Scoring many fine-tuned models that share frozen bottom layers with one base model, cheaply.

Every model of the SmolLM2 comparison trains only its top ``k`` decoder layers (and the final norm); the
embeddings and the layers below are the base model's, frozen. So the input of the first trainable layer is
the same for every model: the base model computes it once per scored sequence, and each model then runs
only its top ``k`` layers, the norm and the LM head (on the completion positions only). This is the same
arithmetic as a full forward, in a fraction of the time; ``check_against_full_forward`` verifies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from benchmarks.infopo.scoring import Scored, encode


@dataclass
class _Batch:
    rows: list[int]  # indices into the scored list
    attention_mask: torch.Tensor
    input_ids: torch.Tensor
    positions: tuple[torch.Tensor, torch.Tensor]  # (row, position) of each position that predicts a completion token
    targets: torch.Tensor
    owners: torch.Tensor  # which row of `rows` each position belongs to
    trunk: torch.Tensor | None = None  # input of the first trainable layer, computed by the base model


class TopLayerScorer:
    """Log-likelihood of fixed completions under models whose bottom layers equal ``base``'s."""

    def __init__(self, base: Any, tokenizer: Any, prompts: list[str], completions: list[str], top_layers: int,
                 batch_size: int = 16) -> None:  # fmt: skip
        self.top_layers = top_layers
        pairs = [encode(tokenizer, p, c) for p, c in zip(prompts, completions, strict=True)]
        self.lengths = [len(c) for _, c in pairs]
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        self.batches = [self._batch(pairs, order[i : i + batch_size]) for i in range(0, len(order), batch_size)]
        self._capture_trunk(base)

    @staticmethod
    def _batch(pairs: list[tuple[list[int], list[int]]], rows: list[int]) -> _Batch:
        sequences = [pairs[i][0] + pairs[i][1] for i in rows]
        width = max(len(s) for s in sequences)
        input_ids = torch.zeros(len(rows), width, dtype=torch.long)
        attention = torch.zeros(len(rows), width, dtype=torch.long)
        row_index, position_index, targets, owners = [], [], [], []
        for r, (i, sequence) in enumerate(zip(rows, sequences, strict=True)):
            input_ids[r, : len(sequence)] = torch.tensor(sequence)
            attention[r, : len(sequence)] = 1
            first = len(pairs[i][0]) - 1  # the position that predicts the first completion token
            for offset in range(len(pairs[i][1])):
                row_index.append(r)
                position_index.append(first + offset)
                targets.append(sequence[first + offset + 1])
                owners.append(r)
        return _Batch(
            rows=rows, attention_mask=attention, input_ids=input_ids,
            positions=(torch.tensor(row_index), torch.tensor(position_index)),
            targets=torch.tensor(targets), owners=torch.tensor(owners),
        )  # fmt: skip

    @torch.inference_mode()
    def _capture_trunk(self, base: Any) -> None:
        first_trainable = base.model.layers[-self.top_layers]
        captured: dict[str, torch.Tensor] = {}

        def keep_input(module, args, kwargs):
            captured["hidden"] = (args[0] if args else kwargs["hidden_states"]).detach()

        handle = first_trainable.register_forward_pre_hook(keep_input, with_kwargs=True)
        try:
            base.eval()
            for batch in self.batches:
                base.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
                batch.trunk = captured.pop("hidden")
        finally:
            handle.remove()

    @torch.inference_mode()
    def score(self, model: Any) -> Scored:
        """Summed completion log-probs under ``model`` (its top layers, norm and head; the base's trunk)."""
        layers = model.model.layers
        was_training = model.training
        model.eval()
        model.model.layers = torch.nn.ModuleList(list(layers)[-self.top_layers :])
        try:
            totals = [0.0] * len(self.lengths)
            for batch in self.batches:
                hidden = model.model(inputs_embeds=batch.trunk, attention_mask=batch.attention_mask).last_hidden_state
                selected = hidden[batch.positions]
                log_probs = model.lm_head(selected).float().log_softmax(-1)
                token = log_probs.gather(-1, batch.targets[:, None]).squeeze(-1)
                per_row = torch.zeros(len(batch.rows), dtype=torch.float64).index_add_(0, batch.owners, token.double())
                for r, i in enumerate(batch.rows):
                    totals[i] = float(per_row[r])
        finally:
            model.model.layers = layers
            model.train(was_training)
        return Scored(log_probs=totals, lengths=list(self.lengths))


def check_against_full_forward(scorer: TopLayerScorer, model: Any, tokenizer: Any, prompts: list[str],
                               completions: list[str], tolerance: float = 1e-3) -> float:  # fmt: skip
    """The largest difference between the scorer and a plain full forward; raises if above ``tolerance``."""
    from benchmarks.infopo.scoring import score

    fast = scorer.score(model).log_probs
    full = score(model, tokenizer, prompts, completions).log_probs
    worst = max(abs(a - b) for a, b in zip(fast, full, strict=True))
    if worst > tolerance:
        raise AssertionError(f"top-layer scoring differs from the full forward by {worst:.2e} nats")
    return worst
