"""Scores for one model: domain (GSM8K) and general ability (perplexity, multiple choice by log-likelihood)."""

from __future__ import annotations

import math
import re
from typing import Any

NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


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


def multiple_choice_accuracy(
    model: Any, tokenizer: Any, items: list[dict[str, Any]], *, context_key: str, normalize: bool, batch_size: int = 8
) -> float:
    """Fraction of items whose highest-scoring choice is the labelled one.

    Each choice is scored as a continuation (with a leading space) of the item's context;
    ``normalize`` divides by the choice's length in bytes (HellaSwag's usual acc_norm).
    """
    pairs, owners = [], []
    for item_index, item in enumerate(items):
        context = tokenizer(item[context_key], add_special_tokens=False)["input_ids"]
        for choice in item["choices"]:
            pairs.append((context, tokenizer(" " + choice, add_special_tokens=False)["input_ids"]))
            owners.append((item_index, len((" " + choice).encode())))
    scores = continuation_log_probs(model, pairs, batch_size=batch_size)
    best: dict[int, list[float]] = {}
    for (item_index, length), score in zip(owners, scores, strict=True):
        best.setdefault(item_index, []).append(score / length if normalize else score)
    correct = sum(int(max(range(len(s)), key=s.__getitem__) == items[i]["label"]) for i, s in best.items())
    return correct / len(items)


def perplexity(
    model: Any, tokenizer: Any, text: str, *, windows: int, window_tokens: int, batch_size: int = 4
) -> float:
    """exp(mean next-token NLL) over ``windows`` evenly spaced windows of ``window_tokens`` tokens of ``text``."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) < window_tokens:
        raise ValueError(f"text has {len(ids)} tokens, fewer than one window of {window_tokens}")
    stride = max(1, (len(ids) - window_tokens) // max(1, windows - 1))
    starts = [min(i * stride, len(ids) - window_tokens) for i in range(windows)]
    pairs = [(ids[s : s + 1], ids[s + 1 : s + window_tokens]) for s in starts]
    total = sum(continuation_log_probs(model, pairs, batch_size=batch_size))
    return math.exp(-total / (len(pairs) * (window_tokens - 1)))


def chat_prompt_ids(tokenizer: Any, question: str) -> list[int]:
    messages = [{"role": "user", "content": question}]
    return list(
        tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=True, return_dict=True)[
            "input_ids"
        ]
    )


def solution_nll(model: Any, tokenizer: Any, problems: list[dict[str, Any]], *, batch_size: int = 8) -> float:
    """Mean per-token NLL of the reference solutions (ending ``#### answer`` and the end-of-turn token)."""
    pairs = [
        (
            chat_prompt_ids(tokenizer, p["question"]),
            tokenizer(p["solution"] + tokenizer.eos_token, add_special_tokens=False)["input_ids"],
        )
        for p in problems
    ]
    total = sum(continuation_log_probs(model, pairs, batch_size=batch_size))
    return -total / sum(len(c) for _, c in pairs)


def extract_answer(text: str) -> str | None:
    """The number after the last ``####``, else the last number in the text (commas dropped)."""
    tail = text.rsplit("####", 1)[1] if "####" in text else text
    numbers = NUMBER.findall(tail)
    if not numbers:
        return None
    return (numbers[0] if "####" in text else numbers[-1]).replace(",", "").rstrip(".")


def same_number(predicted: str | None, expected: str) -> bool:
    if predicted is None:
        return False
    try:
        return math.isclose(float(predicted), float(expected.replace(",", "")), abs_tol=1e-6)
    except ValueError:
        return False


def gsm8k_exact_match(
    model: Any, tokenizer: Any, problems: list[dict[str, Any]], *, max_new_tokens: int, batch_size: int = 8
) -> tuple[float, list[dict[str, Any]]]:
    """Greedy answers to the problems (chat template), scored by exact numeric match; also the transcripts."""
    import torch

    tokenizer.padding_side = "left"
    records = []
    with torch.inference_mode():
        for start in range(0, len(problems), batch_size):
            batch = problems[start : start + batch_size]
            prompts = [chat_prompt_ids(tokenizer, p["question"]) for p in batch]
            width = max(len(p) for p in prompts)
            pad = tokenizer.pad_token_id
            input_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
            attention = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
            output = model.generate(
                input_ids=input_ids.to(model.device),
                attention_mask=attention.to(model.device),
                do_sample=False,
                max_new_tokens=max_new_tokens,
                pad_token_id=pad,
            )
            for problem, row in zip(batch, output[:, width:], strict=True):
                text = tokenizer.decode(row, skip_special_tokens=True)
                predicted = extract_answer(text)
                records.append(
                    {
                        "answer": problem["answer"],
                        "predicted": predicted,
                        "correct": same_number(predicted, problem["answer"]),
                        "output": text,
                    }
                )
    return sum(r["correct"] for r in records) / len(records), records
