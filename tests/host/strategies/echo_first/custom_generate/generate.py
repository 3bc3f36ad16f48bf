"""A toy decoding strategy for tests: repeats the prompt's last token max_new_tokens times."""

import torch


def generate(model, inputs=None, input_ids=None, generation_config=None, max_new_tokens=None, **kwargs):
    # model.generate(prompt, custom_generate=...) passes the prompt as `inputs`; hfplug generate as `input_ids`.
    # Every other argument (sampling settings, and revision/token when loaded from the Hub) is ignored.
    prompt = input_ids if input_ids is not None else inputs
    steps = max_new_tokens or (generation_config.max_new_tokens if generation_config is not None else 4) or 4
    repeated = prompt[:, -1:].repeat(1, steps)
    return torch.cat([prompt, repeated], dim=1)
