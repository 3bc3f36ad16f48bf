"""DPO vs InfoPO on SmolLM2-135M-Instruct with TruthfulQA-MC1 preference pairs (tune on val, report on test).

Both methods get the same budget: the same training pairs, batch, epochs, trainable parameters (the top
``trainable_layers`` transformer layers and the final norm; embeddings and the rest stay frozen, so a
run fits the shared CPU), the same learning-rate grid, and beta 0.1. For each method the learning rate
with the best validation preference accuracy is kept and scored on the test questions.

Scores on a set of questions (every choice of every question is scored once under the policy and once
under the base model, which is also the reference; see ``top_layer_scoring`` for how this stays cheap):
- preference accuracy: over all (true, false) answer pairs, how often the implicit reward
  ``log pi(true) - log pi_ref(true)`` beats the false answer's (sequence sums, DPO's reward accuracy; a tie
  counts half, so the base model, whose rewards are all 0, scores 0.5);
- likelihood pair accuracy: how often the true answer is more likely than the false one (summed log-probs);
- MC1 accuracy: how often the true answer has the highest summed log-likelihood among all choices
  (TruthfulQA-MC1's own metric; a verifiable task score);
- chosen log-likelihood change: the true answers' mean per-token log-likelihood minus the base model's.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any

import torch
from datasets import Dataset

from benchmarks.infopo.methods import DPO, INFOPO, build_trainer, shared_fields
from benchmarks.infopo.pairs import Question, split_questions, training_pairs, truthfulqa_questions
from benchmarks.infopo.scoring import Scored
from benchmarks.infopo.sizes import Sizes
from benchmarks.infopo.stats import bootstrap, mean
from benchmarks.infopo.top_layer_scoring import TopLayerScorer, check_against_full_forward

BASE_MODEL = "asset:smollm2-135m-instruct"
BETA = 0.1
SMOLLM2_METHODS = (DPO, INFOPO)


@dataclass
class QuestionScores:
    """One question's choices under one model: summed log-probs and token counts (choice order of the asset)."""

    question: Question
    scored: Scored


class QuestionSet:
    """Every choice of every question of one split, scored through a :class:`TopLayerScorer`."""

    def __init__(self, base: Any, tokenizer: Any, questions: list[Question], top_layers: int) -> None:
        self.questions = questions
        self.prompts = [q.prompt for q in questions for _ in q.choices]
        self.completions = [c for q in questions for c in q.choices]
        self.scorer = TopLayerScorer(base, tokenizer, self.prompts, self.completions, top_layers)

    def score(self, model: Any) -> list[QuestionScores]:
        scored = self.scorer.score(model)
        out, start = [], 0
        for question in self.questions:
            end = start + len(question.choices)
            out.append(QuestionScores(question, Scored(scored.log_probs[start:end], scored.lengths[start:end])))
            start = end
        return out


def question_outcomes(policy: QuestionScores, base: QuestionScores) -> dict[str, float]:
    """Per-question numbers the set-level metrics are built from."""
    label = policy.question.label
    log_probs, base_log_probs = policy.scored.log_probs, base.scored.log_probs
    rewards = [p - b for p, b in zip(log_probs, base_log_probs, strict=True)]
    false = [i for i in range(len(rewards)) if i != label]
    per_token, base_per_token = policy.scored.per_token(), base.scored.per_token()
    return {
        # A tie (the base model: every reward is 0) counts half, so chance is 0.5.
        "pair_wins": sum((rewards[label] > rewards[i]) + 0.5 * (rewards[label] == rewards[i]) for i in false),
        "likelihood_wins": sum(log_probs[label] > log_probs[i] for i in false),
        "pairs": len(false),
        "mc1_correct": float(max(range(len(log_probs)), key=log_probs.__getitem__) == label),
        "chosen_change": per_token[label] - base_per_token[label],
    }


SET_METRICS = {
    "preference_accuracy": lambda qs: sum(q["pair_wins"] for q in qs) / sum(q["pairs"] for q in qs),
    "likelihood_pair_accuracy": lambda qs: sum(q["likelihood_wins"] for q in qs) / sum(q["pairs"] for q in qs),
    "mc1_accuracy": lambda qs: mean([q["mc1_correct"] for q in qs]),
    "chosen_loglik_change": lambda qs: mean([q["chosen_change"] for q in qs]),
}


def set_metrics(outcomes: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    return {name: bootstrap(outcomes, metric).as_dict() for name, metric in SET_METRICS.items()}


def paired_differences(first: list[dict], second: list[dict]) -> dict[str, dict[str, float]]:
    """``metric(first) - metric(second)`` with the same questions resampled for both."""
    units = list(zip(first, second, strict=True))
    return {
        name: bootstrap(units, lambda us, m=metric: m([a for a, _ in us]) - m([b for _, b in us])).as_dict()
        for name, metric in SET_METRICS.items()
    }


def freeze_all_but_top_layers(model: Any, layers: int) -> None:
    """Train only the top ``layers`` decoder layers and the final norm (identical for every method)."""
    model.requires_grad_(False)
    for layer in model.model.layers[-layers:]:
        layer.requires_grad_(True)
    model.model.norm.requires_grad_(True)


def trainable_state(model: Any) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}


def run_smollm2(sizes: Sizes, workdir: str, log: Any = print) -> dict[str, Any]:
    from hfplug.models import load_causal_lm

    torch.set_num_threads(2)
    start = time.perf_counter()
    splits = split_questions(truthfulqa_questions(), sizes.train_questions, sizes.val_questions, sizes.test_questions)
    base, tokenizer = load_causal_lm(BASE_MODEL)
    base.eval()
    clock = time.perf_counter()
    sets = {name: QuestionSet(base, tokenizer, splits[name], sizes.trainable_layers) for name in ("val", "test")}
    base_scores = {name: question_set.score(base) for name, question_set in sets.items()}
    log(f"smollm2: base model scored on val+test in {time.perf_counter() - clock:.0f} s")
    pairs = Dataset.from_dict(training_pairs(splits["train"], sizes.rejected_per_question))
    steps = sizes.epochs * math.ceil(len(pairs) / sizes.batch_size)

    runs: dict[str, dict[str, Any]] = {}
    for method in SMOLLM2_METHODS:
        for lr in sizes.learning_rates:
            model = copy.deepcopy(base)
            freeze_all_but_top_layers(model, sizes.trainable_layers)
            fields = shared_fields(
                f"{workdir}/{method.name}", per_device_train_batch_size=sizes.batch_size,
                num_train_epochs=sizes.epochs, learning_rate=lr, beta=BETA,
            )  # fmt: skip
            clock = time.perf_counter()
            trainer = build_trainer(method, model, tokenizer, pairs, fields)
            precompute_seconds = time.perf_counter() - clock
            clock = time.perf_counter()
            trainer.train()
            train_seconds = time.perf_counter() - clock
            if not runs:  # once: the shortcut scores the trained model exactly like a full forward
                few = slice(0, 6)
                check = TopLayerScorer(base, tokenizer, sets["val"].prompts[few], sets["val"].completions[few],
                                       sizes.trainable_layers)  # fmt: skip
                worst = check_against_full_forward(
                    check, model, tokenizer, sets["val"].prompts[few], sets["val"].completions[few]
                )
                log(f"smollm2: top-layer scoring matches the full forward within {worst:.1e} nats")
            val_scores = sets["val"].score(model)
            val = [question_outcomes(p, b) for p, b in zip(val_scores, base_scores["val"], strict=True)]
            key = f"{method.name}@{lr:g}"
            runs[key] = {
                "method": method.name,
                "learning_rate": lr,
                "steps": steps,
                "train_seconds": train_seconds,
                "precompute_seconds": precompute_seconds,
                "history": [e for e in trainer.state.log_history if "logps/chosen" in e],
                "val": set_metrics(val),
                "state": trainable_state(model),
            }
            val_metrics = runs[key]["val"]
            log(
                f"smollm2 {key}: {train_seconds:.0f} s for {steps} steps; val preference accuracy "
                f"{val_metrics['preference_accuracy']['value']:.3f}, MC1 {val_metrics['mc1_accuracy']['value']:.3f}"
            )
            del trainer, model

    selected, test_outcomes = {}, {}
    for method in SMOLLM2_METHODS:
        candidates = [k for k, r in runs.items() if r["method"] == method.name]
        # Tuning: the best validation preference accuracy, then MC1 accuracy; ties go to the smaller rate.
        best = max(
            candidates,
            key=lambda k: (runs[k]["val"]["preference_accuracy"]["value"], runs[k]["val"]["mc1_accuracy"]["value"],
                           -runs[k]["learning_rate"]),
        )  # fmt: skip
        selected[method.name] = best
        model = copy.deepcopy(base)
        with torch.no_grad():
            for name, value in runs[best]["state"].items():
                model.get_parameter(name).copy_(value)
        test_scores = sets["test"].score(model)
        test_outcomes[method.name] = [
            question_outcomes(p, b) for p, b in zip(test_scores, base_scores["test"], strict=True)
        ]
        del model
    base_test = [question_outcomes(b, b) for b in base_scores["test"]]
    for run in runs.values():
        run.pop("state")
    return {
        "splits": {name: len(questions) for name, questions in splits.items()},
        "training_pairs": len(pairs),
        "runs": runs,
        "selected": selected,
        "test": {"base": set_metrics(base_test), **{m: set_metrics(o) for m, o in test_outcomes.items()}},
        "test_difference_infopo_minus_dpo": paired_differences(test_outcomes[INFOPO.name], test_outcomes[DPO.name]),
        "seconds": time.perf_counter() - start,
    }
