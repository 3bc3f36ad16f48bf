"""A reward used by the host tests (trl's reward_funcs signature)."""


def shorter_is_better(prompts, completions, **columns):
    return [-float(len(c if isinstance(c, str) else c[-1]["content"])) for c in completions]
