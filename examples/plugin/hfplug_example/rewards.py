"""Rewards with trl's reward_funcs signature: one float (or None) per completion.

trl calls ``reward(prompts=..., completions=..., completion_ids=..., **columns)``: every dataset column
other than ``prompt`` arrives as a keyword argument, one value per completion. Return ``None`` for a
completion the reward does not apply to; trl leaves it out of that sample's total instead of counting 0.
"""


def _text(completion) -> str:
    # Conversational datasets give a list of messages; standard ones a string.
    return completion if isinstance(completion, str) else completion[-1]["content"]


def brevity(prompts, completions, max_chars: int = 200, **columns) -> list[float]:
    """1.0 for an empty completion, falling linearly to 0.0 at ``max_chars`` characters."""
    return [max(0.0, 1.0 - len(_text(c)) / max_chars) for c in completions]


def mentions_keyword(prompts, completions, keyword=None, **columns) -> list[float | None]:
    """1.0 when the completion contains the row's ``keyword`` column (case-insensitive), else 0.0;
    ``None`` for rows without a keyword, or when the dataset has no such column."""
    keywords = keyword if keyword is not None else [None] * len(completions)
    pairs = zip(completions, keywords, strict=True)
    return [None if k is None else float(k.lower() in _text(c).lower()) for c, k in pairs]
