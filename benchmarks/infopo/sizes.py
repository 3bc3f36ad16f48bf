"""How big each part of the benchmark is (the full run and a quick pipeline check)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    # Toy: a tiny random Llama, warmed up with SFT on both responses, then DPO vs InfoPO on the same pairs.
    toy_seeds: int
    toy_pairs: int
    toy_steps: int
    toy_learning_rates: tuple[float, ...]
    toy_probe_every: int
    # SmolLM2-135M-Instruct on TruthfulQA-MC1 pairs (questions split into train / validation / test).
    train_questions: int
    rejected_per_question: int  # training pairs per question: the true answer against this many false ones
    val_questions: int
    test_questions: int
    batch_size: int
    epochs: int
    trainable_layers: int  # the top transformer layers (+ final norm) that train; the rest stays frozen
    learning_rates: tuple[float, ...]  # the tuning grid, the same for every method
    # Step time: DPO and InfoPO training steps alternating on identical batches.
    timing_steps: int
    timing_batch_size: int
    toy_timing_steps: int


FULL = Sizes(
    toy_seeds=4,
    toy_pairs=32,
    toy_steps=50,
    toy_learning_rates=(1e-3, 1e-2),
    toy_probe_every=5,
    train_questions=8,
    rejected_per_question=2,
    val_questions=8,
    test_questions=32,
    batch_size=2,
    epochs=1,
    trainable_layers=4,
    learning_rates=(1e-4, 3e-4),
    timing_steps=6,
    timing_batch_size=2,
    toy_timing_steps=40,
)

QUICK = Sizes(
    toy_seeds=2,
    toy_pairs=8,
    toy_steps=6,
    toy_learning_rates=(1e-2,),
    toy_probe_every=3,
    train_questions=2,
    rejected_per_question=1,
    val_questions=2,
    test_questions=3,
    batch_size=2,
    epochs=1,
    trainable_layers=1,
    learning_rates=(1e-4,),
    timing_steps=2,
    timing_batch_size=1,
    toy_timing_steps=4,
)
