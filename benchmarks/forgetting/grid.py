"""The runs of the benchmark: every method at every learning rate of its curve, the same data and seed for all."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "forgetting"


@dataclass(frozen=True)
class Method:
    """A training method: its example config and how its learning rates relate to full fine-tuning's."""

    name: str
    config: str  # file in examples/forgetting/
    lr_scale: float = 1.0  # LoRA is usually run at ~10x the full fine-tuning rate
    extra_lrs: tuple[float, ...] = ()  # rates beyond the shared grid (TALR: the paper's own)
    note: str = ""
    # What the method adds to: a combination is also compared, at matched gain, with the method it is added to
    # (FLOW + LoRA with LoRA), since that is the comparison its paper makes.
    baseline: str = "sft"


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("sft", "sft.yaml", note="full fine-tuning, plain cross-entropy"),
        Method("talr", "talr.yaml", extra_lrs=(1e-6, 5e-6), note="TALR defaults; also at the paper's 1e-6, 5e-6"),
        Method("flow", "flow.yaml", note="FLOW sequence weights from the frozen base (same max_length as training)"),
        Method("context_free", "context_free.yaml", note="SFT + 25% context-free samples of the base model"),
        Method("lora", "lora.yaml", lr_scale=10.0, note="LoRA r 16 on every linear layer, 10x learning rate"),
        Method(
            "flow_lora",
            "flow_lora.yaml",
            lr_scale=10.0,
            note="FLOW weights + LoRA (official FLOW scripts)",
            baseline="lora",
        ),
    )
}


def rate_label(learning_rate: float) -> str:
    """A learning rate as a short, unambiguous label: 4e-04, 1.5e-04 (a one-digit format printed 1.5e-4 as 1e-04)."""
    return f"{learning_rate:.1e}".replace(".0e", "e")


@dataclass(frozen=True)
class Run:
    method: str
    learning_rate: float

    @property
    def run_id(self) -> str:
        return f"{self.method}@{rate_label(self.learning_rate)}"


def plan_runs(methods: list[str], learning_rates: tuple[float, ...], *, paper_lrs: bool = True) -> list[Run]:
    """Every (method, rate): the shared rates times the method's scale, plus its extra rates when ``paper_lrs``.
    Ordered rate by rate (all methods at one rate before the next), so a run cut short has comparable points."""
    runs: list[Run] = []
    for lr in learning_rates:
        runs += [Run(name, METHODS[name].lr_scale * lr) for name in methods]
    if paper_lrs:
        runs += [Run(name, lr) for name in methods for lr in METHODS[name].extra_lrs]
    return runs
