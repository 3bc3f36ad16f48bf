"""A toy decoding strategy for tests: repeats the prompt's last token max_new_tokens times."""

import torch


def generate(model, input_ids, generation_config=None, max_new_tokens=None, **kwargs):
    steps = max_new_tokens or (generation_config.max_new_tokens if generation_config is not None else 4) or 4
    repeated = input_ids[:, -1:].repeat(1, steps)
    return torch.cat([input_ids, repeated], dim=1)
