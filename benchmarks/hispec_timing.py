"""How the HiSpec benchmark times decoding and compares outputs: tokens/s over interleaved rounds,
the acceptance counters, what an extra position costs in a pass, and how far each output agrees
with plain greedy decoding. Used by ``hispec_speed.py``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

Inputs = dict[str, torch.Tensor]  # what model.generate takes: input_ids, maybe attention_mask


def generated_tokens(sequences: torch.Tensor, prompt_length: int, eos_ids: set[int]) -> int:
    """New tokens over all rows, each up to and including its first EOS (padding after it not counted)."""
    total = 0
    for row in sequences[:, prompt_length:].tolist():
        ends = [k for k, token in enumerate(row) if token in eos_ids]
        total += ends[0] + 1 if ends else len(row)
    return total


def _synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def timed_runs(runs: dict[Any, Callable[[Inputs], Any]], prompts: list[Inputs], device: str, rounds: int, eos_ids):
    """Tokens/s of each run over all prompts: best of ``rounds`` rounds, each round timing every run
    once in turn, so that load from other processes falls on all methods alike.

    Returns the speeds, each run's outputs (one tensor per prompt) and its speculation counters."""
    best = dict.fromkeys(runs, float("inf"))
    outputs: dict[Any, list[torch.Tensor]] = {}
    stats: dict[Any, list[dict]] = {}
    for _ in range(rounds):
        for name, run in runs.items():
            outputs[name], stats[name] = [], []
            _synchronize(device)
            started = time.perf_counter()
            for inputs in prompts:
                result = run(inputs)
                if hasattr(result, "sequences"):
                    stats[name].append(getattr(result, "speculation_stats", None) or {})
                    result = result.sequences
                outputs[name].append(result)
            _synchronize(device)
            best[name] = min(best[name], time.perf_counter() - started)
    speeds = {}
    for name in runs:
        new_tokens = sum(
            generated_tokens(output, inputs["input_ids"].shape[1], eos_ids)
            for output, inputs in zip(outputs[name], prompts, strict=True)
        )
        speeds[name] = new_tokens / best[name]
    return speeds, outputs, stats


def acceptance_summary(stats: list[dict]) -> str:
    """Pooled acceptance at each verifying exit, and tokens per full pass."""
    if not stats or not stats[0]:
        return ""
    parts = []
    for index, level in enumerate(stats[0]["acceptance"]):
        proposed = sum(s["acceptance"][index]["proposed"] for s in stats)
        accepted = sum(s["acceptance"][index]["accepted"] for s in stats)
        parts.append(f"@{level['verifier_exit']}: {accepted / max(proposed, 1):.2f}")
    tokens = sum(s["new_tokens"] for s in stats)
    passes = sum(s["full_passes"] for s in stats)
    accepted = f"accept {', '.join(parts)}; " if parts else ""
    return f"{accepted}{tokens / passes:.2f} tok/full pass"


def measure_position_cost(model: Any, prompt: torch.Tensor, positions: int = 5, repeats: int = 50) -> float:
    """What each extra position adds to a full-depth pass of our layer runner, as a share of a
    one-position pass. Speculation pays when this is near 0 (verifying k drafts costs about one
    step, as on GPUs); the larger it is, the more every rejected draft costs."""
    from hfplug_hispec.strategies.hispec.custom_generate.decoder_layers import DecoderLayers

    depth = model.config.num_hidden_layers
    runner = DecoderLayers(model, capacity=prompt.shape[1] + positions)
    start = prompt.shape[1] - positions
    timings = {}
    device = model.device.type
    with torch.inference_mode():
        runner.run(model.model.embed_tokens(prompt[:, :start]), 0, 0, depth)
        for count in (1, positions):
            hidden = model.model.embed_tokens(prompt[:, start : start + count])
            best = float("inf")
            for _ in range(repeats):
                _synchronize(device)
                began = time.perf_counter()
                runner.run(hidden, start, 0, depth)
                _synchronize(device)
                best = min(best, time.perf_counter() - began)
            timings[count] = best
    return max(0.0, (timings[positions] / timings[1] - 1) / (positions - 1))


def first_divergence(output: torch.Tensor, reference: torch.Tensor, prompt_length: int) -> int | None:
    """Index (0 = the first generated token) of the first position where two single-row outputs
    differ, counting a length difference as a divergence where the shorter ends; None if identical."""
    ours, theirs = output[0, prompt_length:].tolist(), reference[0, prompt_length:].tolist()
    for index, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a != b:
            return index
    return None if len(ours) == len(theirs) else min(len(ours), len(theirs))


def agreement(outputs: list[torch.Tensor], references: list[torch.Tensor], prompts: list[Inputs]) -> dict:
    """How many outputs equal their reference token for token, and where the others first part."""
    divergences = [
        first_divergence(output, reference, inputs["input_ids"].shape[1])
        for output, reference, inputs in zip(outputs, references, prompts, strict=True)
    ]
    parted = [index for index in divergences if index is not None]
    return {"identical": len(divergences) - len(parted), "sequences": len(divergences), "first_divergence": parted}


def agreement_text(counts: dict) -> str:
    """'8/8' or '5/8 (first divergence at tokens 3, 17, 40)'."""
    text = f"{counts['identical']}/{counts['sequences']}"
    if counts["first_divergence"]:
        text += f" (parts at token {', '.join(str(index) for index in sorted(counts['first_divergence']))})"
    return text
