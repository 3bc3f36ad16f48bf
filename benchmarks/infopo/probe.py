"""A callback that scores a fixed set of pairs during training: the chosen log-likelihood curve."""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from benchmarks.infopo.scoring import score
from benchmarks.infopo.stats import mean


class LikelihoodProbe(TrainerCallback):
    """Every ``every`` optimizer steps (and before the first), the mean per-token log-likelihood of the
    chosen and of the rejected completions of ``pairs`` under the model being trained."""

    def __init__(self, tokenizer: Any, pairs: dict[str, list[str]], every: int) -> None:
        self.tokenizer, self.pairs, self.every = tokenizer, pairs, every
        self.curve: list[dict[str, float]] = []

    def _probe(self, model: Any, step: int) -> None:
        prompts = self.pairs["prompt"]
        chosen = score(model, self.tokenizer, prompts, self.pairs["chosen"]).per_token()
        rejected = score(model, self.tokenizer, prompts, self.pairs["rejected"]).per_token()
        self.curve.append({"step": step, "chosen": mean(chosen), "rejected": mean(rejected)})

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._probe(model, 0)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.every == 0 or state.global_step == state.max_steps:
            self._probe(model, state.global_step)
