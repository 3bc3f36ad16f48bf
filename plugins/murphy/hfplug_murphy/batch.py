"""From trained nodes to the padded tensors trl's GRPO loss reads.

Each node is one row: its own conditioning prompt (task, earlier code and feedback: no loss)
left-padded, and its completion (the only model-written tokens of the row: the loss mask)
right-padded. Padding follows trl's GRPOTrainer exactly, so that with one turn the rows are
identical to GRPO's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from hfplug_murphy.tree import Node


@dataclass
class NodeBatch:
    """Padded rows for a list of nodes (plus ``filler`` rows that carry no loss)."""

    prompt_ids: torch.Tensor
    prompt_mask: torch.Tensor
    completion_ids: torch.Tensor
    completion_mask: torch.Tensor
    advantages: torch.Tensor
    sampling_logps: torch.Tensor | None
    is_truncated: torch.Tensor


def pad_nodes(
    nodes: Sequence[Node],
    *,
    pad_token_id: int,
    stop_token_ids: Sequence[int],
    pad_to_multiple_of: int | None,
    filler: int = 0,
) -> NodeBatch:
    """Pad ``nodes`` into rows; ``filler`` extra one-token rows with an all-zero loss mask are appended
    (so a generation batch can always be split into ``steps_per_generation`` non-empty parts)."""
    from trl.trainer.utils import pad

    prompts = [torch.tensor(n.prompt_ids, dtype=torch.long) for n in nodes]
    completions = [torch.tensor(n.completion_ids, dtype=torch.long) for n in nodes]
    prompts += [torch.tensor([pad_token_id])] * filler
    completions += [torch.tensor([pad_token_id])] * filler
    prompt_mask = [torch.ones_like(ids) for ids in prompts]
    completion_mask = [torch.ones_like(ids) for ids in completions[: len(nodes)]]
    completion_mask += [torch.zeros(1, dtype=torch.long)] * filler
    sampling = None
    if nodes and all(n.sampling_logprobs is not None for n in nodes):
        # vLLM reports an unscorable token's logprob as None: NaN here, neutralised in the IS ratio as trl does.
        sampling = [
            torch.tensor([float("nan") if x is None else x for x in n.sampling_logprobs], dtype=torch.float32)
            for n in nodes
        ] + [torch.zeros(1)] * filler
        sampling = pad(sampling, padding_value=0.0, padding_side="right", pad_to_multiple_of=pad_to_multiple_of)
    stops = set(stop_token_ids) | {pad_token_id}
    truncated = [bool(n.completion_ids) and n.completion_ids[-1] not in stops for n in nodes] + [False] * filler
    return NodeBatch(
        prompt_ids=pad(prompts, padding_value=pad_token_id, padding_side="left", pad_to_multiple_of=pad_to_multiple_of),
        prompt_mask=pad(prompt_mask, padding_value=0, padding_side="left", pad_to_multiple_of=pad_to_multiple_of),
        completion_ids=pad(
            completions, padding_value=pad_token_id, padding_side="right", pad_to_multiple_of=pad_to_multiple_of
        ),
        completion_mask=pad(
            completion_mask, padding_value=0, padding_side="right", pad_to_multiple_of=pad_to_multiple_of
        ),
        advantages=torch.tensor([n.advantage for n in nodes] + [0.0] * filler, dtype=torch.float32),
        sampling_logps=sampling,
        is_truncated=torch.tensor(truncated, dtype=torch.bool),
    )
