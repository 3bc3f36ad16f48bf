"""The speed benchmark chooses settings on prompts it never reports on, and counts agreement with
plain greedy decoding the way its table says (identical sequences, first divergence)."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import torch

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


def _module(name: str):
    sys.path.insert(0, str(BENCHMARKS))  # the benchmark's modules import each other by name
    try:
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_tuning_and_report_prompts_come_from_disjoint_halves_of_the_held_out_text():
    speed = _module("hispec_speed")
    held_out = "".join(f"<{index:05d}>" for index in range(4000))  # every window is findable
    options = argparse.Namespace(tuning_prompts=4, prompts=8)
    tuning, report, report_text = speed.split_held_out(held_out, options)
    assert len(tuning) == 4 and len(report) == 8
    middle = len(held_out) // 2
    for text in tuning:
        assert held_out.index(text) + len(text) <= middle
    for text in report:
        assert held_out.index(text) >= middle
    assert report_text == held_out[middle:]  # the batch comparison draws from the report half too


def test_agreement_counts_identical_sequences_and_where_the_others_part():
    timing = _module("hispec_timing")
    prompts = [{"input_ids": torch.zeros(1, 3, dtype=torch.long)}] * 3
    reference = [torch.tensor([[0, 0, 0, 5, 6, 7, 8]])] * 3
    outputs = [
        torch.tensor([[0, 0, 0, 5, 6, 7, 8]]),  # identical
        torch.tensor([[0, 0, 0, 5, 6, 9, 8]]),  # parts at generated token 2
        torch.tensor([[0, 0, 0, 5, 6]]),  # stopped early: parts where it ends
    ]
    counts = timing.agreement(outputs, reference, prompts)
    assert counts == {"identical": 1, "sequences": 3, "first_divergence": [2, 2]}
    assert timing.agreement_text(counts) == "1/3 (parts at token 2, 2)"
    # The prompt is not part of the comparison: a difference there would be the caller's bug, not a divergence.
    assert timing.first_divergence(torch.tensor([[9, 5]]), torch.tensor([[0, 5]]), prompt_length=1) is None
