"""Per-item scores of one model, so every number can get a paired bootstrap interval (see stats.py).

Nothing here generates text: the target and every general measure are log-likelihoods of fixed text,
one batched forward pass per item (per choice for multiple choice), which is what a 2-core CPU affords.
"""

from __future__ import annotations

from typing import Any


def continuation_log_probs(model: Any, pairs: list[tuple[list[int], list[int]]], *, batch_size: int = 8) -> list[float]:
    """Sum of log p(continuation | context) for each (context ids, continuation ids) pair.

    Pairs are batched by length (right padding) so that little compute is spent on padding.
    """
    import torch

    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    results = [0.0] * len(pairs)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            sequences = [pairs[i][0] + pairs[i][1] for i in index]
            width = max(len(s) for s in sequences)
            input_ids = torch.zeros(len(index), width, dtype=torch.long)
            attention = torch.zeros(len(index), width, dtype=torch.long)
            for row, sequence in enumerate(sequences):
                input_ids[row, : len(sequence)] = torch.tensor(sequence)
                attention[row, : len(sequence)] = 1
            logits = model(input_ids=input_ids.to(model.device), attention_mask=attention.to(model.device)).logits
            log_probs = logits[:, :-1].float().log_softmax(-1)
            targets = input_ids[:, 1:].to(model.device)
            token_log_probs = log_probs.gather(-1, targets[..., None]).squeeze(-1).cpu()
            for row, i in enumerate(index):
                context, continuation = pairs[i]
                first = len(context) - 1  # position predicting the first continuation token
                results[i] = token_log_probs[row, first : first + len(continuation)].sum().item()
    return results


def chat_prompt_ids(tokenizer: Any, question: str) -> list[int]:
    messages = [{"role": "user", "content": question}]
    encoded = tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=True, return_dict=True)
    return list(encoded["input_ids"])


def solution_pairs(tokenizer: Any, problems: list[dict[str, Any]]) -> list[tuple[list[int], list[int]]]:
    """(chat prompt, reference solution + end-of-turn) token pairs: what the model is trained to produce."""
    return [
        (
            chat_prompt_ids(tokenizer, p["question"]),
            tokenizer(p["solution"] + tokenizer.eos_token, add_special_tokens=False)["input_ids"],
        )
        for p in problems
    ]


def window_pairs(tokenizer: Any, text: str, *, windows: int, window_tokens: int) -> list[tuple[list[int], list[int]]]:
    """``windows`` evenly spaced, non-overlapping windows of ``window_tokens`` tokens of ``text``; the first token
    of each window is its context, the rest are scored."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) < windows * window_tokens:
        raise ValueError(f"text has {len(ids)} tokens, fewer than {windows} windows of {window_tokens}")
    stride = len(ids) // windows
    return [(ids[s : s + 1], ids[s + 1 : s + window_tokens]) for s in range(0, stride * windows, stride)]


def choice_pairs(tokenizer: Any, items: list[dict[str, Any]], context_key: str) -> list[tuple[list[int], list[int]]]:
    """Every (context, ' ' + choice) pair of every item, item after item."""
    pairs = []
    for item in items:
        context = tokenizer(item[context_key], add_special_tokens=False)["input_ids"]
        for choice in item["choices"]:
            pairs.append((context, tokenizer(" " + choice, add_special_tokens=False)["input_ids"]))
    return pairs


def multiple_choice_scores(
    items: list[dict[str, Any]], choice_log_probs: list[float], *, normalize: bool
) -> dict[str, list[float]]:
    """Per item: ``correct`` (1 when the labelled choice scores highest) and ``log_prob_correct`` (log-softmax of
    the labelled choice among the item's choices: a smooth version of accuracy).

    ``normalize`` divides each choice's log-likelihood by its length in bytes (HellaSwag's usual acc_norm).
    """
    import math

    correct, log_prob_correct = [], []
    position = 0
    for item in items:
        scores = choice_log_probs[position : position + len(item["choices"])]
        position += len(item["choices"])
        if normalize:
            scores = [s / len((" " + c).encode()) for s, c in zip(scores, item["choices"], strict=True)]
        top = max(scores)
        log_total = top + math.log(sum(math.exp(s - top) for s in scores))
        correct.append(float(scores.index(top) == item["label"]))
        log_prob_correct.append(scores[item["label"]] - log_total)
    return {"correct": correct, "log_prob_correct": log_prob_correct}


def score_model(model: Any, tokenizer: Any, eval_sets: dict[str, Any], *, batch_size: int) -> dict[str, Any]:
    """Every per-item score of one model: NLL sums (and token counts) of the target solutions and of the general
    text windows, and multiple-choice correctness and log-probabilities.

    All pairs of all sets go through :func:`continuation_log_probs` in one length-sorted stream, so batches are
    as full and as evenly long as the whole evaluation allows.
    """
    pairs: list[tuple[list[int], list[int]]] = []
    spans: dict[str, tuple[int, int]] = {}

    def add(name: str, new: list[tuple[list[int], list[int]]]) -> None:
        spans[name] = (len(pairs), len(pairs) + len(new))
        pairs.extend(new)

    for name, problems in eval_sets["target"].items():
        add(f"target/{name}", solution_pairs(tokenizer, problems))
    for name, text in eval_sets["text"].items():
        add(f"text/{name}", window_pairs(tokenizer, text, **eval_sets["windows"]))
    for name, spec in eval_sets["choice"].items():
        add(f"choice/{name}", choice_pairs(tokenizer, spec["items"], spec["context_key"]))

    log_probs = continuation_log_probs(model, pairs, batch_size=batch_size)
    scores: dict[str, Any] = {}
    for key, (start, end) in spans.items():
        kind, name = key.split("/")
        values, owned = log_probs[start:end], pairs[start:end]
        if kind == "choice":
            spec = eval_sets["choice"][name]
            scores[key] = multiple_choice_scores(spec["items"], values, normalize=spec["normalize"])
        else:
            scores[key] = {"nll": [-v for v in values], "tokens": [len(c) for _, c in owned]}
    return scores
