"""A reward used by the host tests (trl's reward_funcs signature)."""


def shorter_is_better(prompts, completions, **columns):
    return [-float(len(c if isinstance(c, str) else c[-1]["content"])) for c in completions]


class LengthReward:
    """A reward with options, as code_exec's ``unit_tests``: ``with_options`` returns a configured copy."""

    __name__ = "length_times"

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        self.scale = scale

    def with_options(self, *, scale: float = 1.0) -> "LengthReward":
        return LengthReward(scale)

    def __call__(self, prompts, completions, **columns):
        return [self.scale * len(c) for c in completions]


length_times = LengthReward()
