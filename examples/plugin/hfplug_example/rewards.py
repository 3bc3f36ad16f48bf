"""A reward with trl's reward_funcs signature: a list of floats, one per completion."""


def brevity(prompts, completions, max_chars: int = 200, **columns) -> list[float]:
    """1.0 for an empty completion, falling linearly to 0.0 at ``max_chars`` characters."""
    texts = [c if isinstance(c, str) else c[-1]["content"] for c in completions]
    return [max(0.0, 1.0 - len(text) / max_chars) for text in texts]
