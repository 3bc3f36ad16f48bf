"""How big each part of the benchmark is: the full grid and --quick (CI)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    """Training budget (identical for every method and rate) and evaluation set sizes."""

    train_rows: int  # generated gsm_symbolic problems (= max_steps * batch_size: one pass, no repeats)
    max_steps: int
    batch_size: int
    max_length: int  # training (and FLOW's weighting pass) truncate here
    context_free_tokens: int  # max_new_tokens of each context-free sample
    target_items: int  # held-out gsm_symbolic problems whose worked solution is scored
    gsm8k_items: int  # GSM8K test problems whose reference solution is scored
    text_windows: int  # windows per general-text corpus (two corpora)
    window_tokens: int
    hellaswag_items: int
    truthfulqa_items: int
    eval_batch_size: int
    learning_rates: tuple[float, ...]  # full fine-tuning rates; LoRA gets its multiple, TALR also the paper's

    def as_dict(self) -> dict:
        return {**self.__dict__, "learning_rates": list(self.learning_rates)}


FULL = Sizes(
    train_rows=512,
    max_steps=64,
    batch_size=8,
    max_length=256,
    context_free_tokens=128,
    target_items=200,
    gsm8k_items=100,
    text_windows=150,
    window_tokens=64,
    hellaswag_items=100,
    truthfulqa_items=100,
    eval_batch_size=16,
    learning_rates=(1e-5, 3e-5, 1e-4),
)

# What a shared 2-core CPU finished in one session (README: "What ran"): one learning rate, small evaluation
# sets (no GSM8K, no HellaSwag: the costliest items per token), 16 steps of 2 rows.
PROBE = Sizes(
    train_rows=32,
    max_steps=16,
    batch_size=2,
    max_length=192,
    context_free_tokens=64,
    target_items=50,
    gsm8k_items=0,
    text_windows=60,
    window_tokens=32,
    hellaswag_items=0,
    truthfulqa_items=60,
    eval_batch_size=8,
    learning_rates=(2e-4,),
)

# A pipeline check for CI: every method at two rates, a few minutes on 2 cores; its numbers mean nothing.
QUICK = Sizes(
    train_rows=4,
    max_steps=2,
    batch_size=2,
    max_length=512,
    context_free_tokens=8,
    target_items=4,
    gsm8k_items=2,
    text_windows=3,
    window_tokens=16,
    hellaswag_items=3,
    truthfulqa_items=3,
    eval_batch_size=8,
    learning_rates=(1e-5, 1e-4),
)
