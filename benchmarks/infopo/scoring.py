"""Log-likelihoods of completions under a model, tokenized the way trl's DPOTrainer tokenizes training pairs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarks.forgetting.scoring import continuation_log_probs


@dataclass(frozen=True)
class Scored:
    """Summed log-probability of each completion (end-of-sequence token included) and its token count."""

    log_probs: list[float]
    lengths: list[int]

    def per_token(self) -> list[float]:
        return [lp / n for lp, n in zip(self.log_probs, self.lengths, strict=True)]


def encode(tokenizer: Any, prompt: str, completion: str) -> tuple[list[int], list[int]]:
    """``(prompt ids, completion ids)`` split where the tokenized prompt and prompt+completion diverge, with the
    end-of-sequence token appended to the completion (trl's rule for plain-text preference data)."""
    prompt_ids = tokenizer(prompt)["input_ids"]
    full_ids = tokenizer(prompt + completion + tokenizer.eos_token)["input_ids"]
    shared = 0
    while shared < min(len(prompt_ids), len(full_ids)) and prompt_ids[shared] == full_ids[shared]:
        shared += 1
    return full_ids[:shared], full_ids[shared:]


def score(model: Any, tokenizer: Any, prompts: list[str], completions: list[str], batch_size: int = 16) -> Scored:
    """Log-likelihood of each completion after its prompt (no gradient)."""
    pairs = [encode(tokenizer, p, c) for p, c in zip(prompts, completions, strict=True)]
    was_training = model.training
    model.eval()
    try:
        log_probs = continuation_log_probs(model, pairs, batch_size=batch_size)
    finally:
        model.train(was_training)
    return Scored(log_probs=log_probs, lengths=[len(c) for _, c in pairs])
