"""The evaluation sets (target and general) and the comparison of a model's per-item scores with the base's."""

from __future__ import annotations

import math
from typing import Any

from benchmarks.forgetting import data
from benchmarks.forgetting.sizes import Sizes
from benchmarks.forgetting.stats import mean_difference, per_token_difference

# Held-out target problems come from another generator seed than the training problems (and never repeat one).
TARGET_SEED = 1234
TEXT_SETS = ("shakespeare", "news")
CHOICE_SETS = ("hellaswag", "truthfulqa")


def load_eval_sets(sizes: Sizes, training_questions: set[str]) -> dict[str, Any]:
    """Target: held-out gsm_symbolic solutions and GSM8K reference solutions. General: windows of two plain-text
    corpora, HellaSwag and TruthfulQA-MC1 (see data.py for where each comes from). Sets of size 0 are left out."""
    truthfulqa = data.asset_rows("truthfulqa-mc1")[: sizes.truthfulqa_items]
    for item in truthfulqa:
        item["prompt"] = f"Q: {item['question']}\nA:"
    target = {
        "gsm_symbolic": data.gsm_symbolic_problems(sizes.target_items, TARGET_SEED, exclude=training_questions),
        "gsm8k": data.gsm8k_test()[: sizes.gsm8k_items],
    }
    choice = {
        "hellaswag": {
            "items": data.asset_rows("hellaswag")[: sizes.hellaswag_items],
            "context_key": "context",
            "normalize": True,
        },
        "truthfulqa": {"items": truthfulqa, "context_key": "prompt", "normalize": False},
    }
    return {
        "target": {name: problems for name, problems in target.items() if problems},
        "text": {"shakespeare": data.shakespeare_text(), "news": data.lee_news_text()},
        "windows": {"windows": sizes.text_windows, "window_tokens": sizes.window_tokens},
        "choice": {name: spec for name, spec in choice.items() if spec["items"]},
    }


def _joined(scores: dict[str, Any], keys: list[str], field: str) -> list[float]:
    return [value for key in keys for value in scores[key][field]]


def compare_with_base(scores: dict[str, Any], base: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Every headline number of a model against the base model, each with a paired 95% bootstrap interval.

    - ``target_gain``: drop of the per-token NLL of held-out gsm_symbolic solutions (nats/token; > 0 = learned);
    - ``gsm8k_gain``: the same on GSM8K's reference solutions (real problems, another style);
    - ``general_nll_increase``: rise of the per-token NLL of the general-text windows (nats/token; > 0 = forgot),
      also as ``general_ppl_increase_pct`` (100 * (exp(rise) - 1)) and per corpus;
    - ``choice_accuracy_change`` and ``choice_log_prob_change``: HellaSwag + TruthfulQA items together.
    """

    def nll_change(keys: list[str]) -> dict[str, float]:
        return per_token_difference(
            _joined(scores, keys, "nll"), _joined(base, keys, "nll"), _joined(base, keys, "tokens")
        )

    def negated(estimate: dict[str, float]) -> dict[str, float]:
        return {"value": -estimate["value"], "low": -estimate["high"], "high": -estimate["low"]}

    text_keys = [f"text/{name}" for name in TEXT_SETS]
    choice_keys = [f"choice/{name}" for name in CHOICE_SETS if f"choice/{name}" in base]
    general = nll_change(text_keys)
    result = {
        "target_gain": negated(nll_change(["target/gsm_symbolic"])),
        "general_nll_increase": general,
        "general_ppl_increase_pct": {k: 100 * math.expm1(v) for k, v in general.items()},
    }
    if "target/gsm8k" in base:
        result["gsm8k_gain"] = negated(nll_change(["target/gsm8k"]))
    if choice_keys:
        result["choice_accuracy_change"] = mean_difference(
            _joined(scores, choice_keys, "correct"), _joined(base, choice_keys, "correct")
        )
        result["choice_log_prob_change"] = mean_difference(
            _joined(scores, choice_keys, "log_prob_correct"), _joined(base, choice_keys, "log_prob_correct")
        )
    for key in text_keys:
        result[f"{key.split('/')[1]}_nll_increase"] = nll_change([key])
    for key in choice_keys:
        result[f"{key.split('/')[1]}_accuracy_change"] = mean_difference(scores[key]["correct"], base[key]["correct"])
    return result


def absolute_scores(scores: dict[str, Any]) -> dict[str, float]:
    """Plain values of one model (per-token NLLs, accuracies), for the table's base row."""
    values: dict[str, float] = {}
    for key, item_scores in scores.items():
        if "nll" in item_scores:
            values[f"{key}/nll_per_token"] = sum(item_scores["nll"]) / sum(item_scores["tokens"])
        else:
            values[f"{key}/accuracy"] = sum(item_scores["correct"]) / len(item_scores["correct"])
    return values


def count_items(scores: dict[str, Any]) -> dict[str, int]:
    """Target and general item counts of a scored model (a solution, a text window, a question: one item each)."""
    counts = {"target": 0, "general": 0}
    for key, item_scores in scores.items():
        values = item_scores.get("nll", item_scores.get("correct"))
        counts["target" if key.startswith("target/") else "general"] += len(values)
    return counts
