"""How big each part of the benchmark is: the full run (fits 90 minutes on a 2-core CPU) and --quick."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    """Training budget (identical for every method) and evaluation subset sizes."""

    train_rows: int  # generated gsm_symbolic problems = max_steps * batch: one pass over the data
    max_steps: int
    batch_size: int
    max_length: int
    context_free_tokens: int  # max_new_tokens of each context-free sample
    gsm_generate: int  # GSM8K problems answered by greedy generation (exact match)
    gsm_new_tokens: int
    gsm_nll: int  # GSM8K problems whose reference solution is scored (NLL per token)
    multiple_choice: int  # items of HellaSwag and of TruthfulQA-MC1
    ppl_windows: int  # windows of general text per corpus
    ppl_window_tokens: int
    eval_batch_size: int


# Estimated for an idle 2-core CPU at ~50 GFLOP/s (SmolLM2-135M: ~0.27 GFLOP per scored token, ~0.8 per
# trained token): training ~19k tokens/method (~5 min), scoring ~45k tokens/model (~4 min) plus 30 greedy
# answers, about 60 min in all for the six methods.
FULL = Sizes(
    train_rows=96,
    max_steps=24,
    batch_size=4,
    max_length=256,
    context_free_tokens=128,
    gsm_generate=30,
    gsm_new_tokens=128,
    gsm_nll=50,
    multiple_choice=60,
    ppl_windows=8,
    ppl_window_tokens=256,
    eval_batch_size=8,
)

QUICK = Sizes(
    train_rows=4,
    max_steps=2,
    batch_size=2,
    max_length=128,
    context_free_tokens=16,
    gsm_generate=2,
    gsm_new_tokens=24,
    gsm_nll=4,
    multiple_choice=4,
    ppl_windows=2,
    ppl_window_tokens=64,
    eval_batch_size=4,
)
