"""Equal generated tokens for both methods: a counting GRPO baseline and a stop-and-evaluate callback.

Murphy counts its own generated tokens (``trainer.compute``, logged as
``murphy/total_generated_tokens``). trl's GRPOTrainer does not, so the baseline counts the
completion tokens its generation call returns, the same quantity. Training stops at the first
optimizer step at or past the budget; the report states the exact counts reached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from transformers import TrainerCallback
from trl import GRPOTrainer


class CountingGRPOTrainer(GRPOTrainer):
    """GRPOTrainer that counts generated (completion) tokens, as Murphy's accounting does."""

    generated_tokens = 0

    def _generate(self, prompts: list) -> tuple:
        out = super()._generate(prompts)
        if self.model.training:
            self.generated_tokens += sum(len(ids) for ids in out[1])
        return out


def generated_tokens(trainer: Any) -> int:
    """Tokens generated so far in training, for either trainer."""
    compute = getattr(trainer, "compute", None)
    if compute is not None:
        return int(compute["train"].totals["generated_tokens"])
    return int(trainer.generated_tokens)


class TokenBudget(TrainerCallback):
    """Evaluates at each checkpoint of generated tokens and stops training at the budget."""

    def __init__(self, budget: int, checkpoints: int, evaluate: Callable[[int, int], None]) -> None:
        self.trainer: Any = None
        self.budget = budget
        self.marks = [budget * (i + 1) // checkpoints for i in range(checkpoints)]
        self.evaluate = evaluate

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        tokens = generated_tokens(self.trainer)
        while self.marks and tokens >= self.marks[0]:
            self.marks.pop(0)
            self.evaluate(tokens, state.global_step)
        if tokens >= self.budget:
            control.should_training_stop = True
        return control
