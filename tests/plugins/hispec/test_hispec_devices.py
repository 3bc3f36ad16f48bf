"""Nothing in the plugin's decoding path makes a tensor on a device it did not choose.

A factory call without ``device=`` (``torch.zeros(n)``) lands on the CPU whatever the model's
device; on a GPU that crashes the first time it meets a CUDA tensor (``measure_exit_agreement``
did). On a CPU-only machine the crash cannot happen, so this test records every tensor factory
that the plugin's own code (the layer-choice helper, the strategy folders) calls during a
realistic workload and fails on any that does not name its device.
"""

from __future__ import annotations

import sys
from typing import Any

import torch
from hfplug_hispec.layer_choice import measure_exit_agreement, suggest_exit_layers
from torch.overrides import TorchFunctionMode

FACTORIES = {
    torch.zeros,
    torch.ones,
    torch.empty,
    torch.full,
    torch.arange,
    torch.tensor,
    torch.as_tensor,
    torch.rand,
    torch.randn,
    torch.randint,
    torch.linspace,
    torch.eye,
}
# The plugin's package, and the copies transformers makes of the strategy folders in its modules cache.
OURS = ("hfplug_hispec", "custom_generate")


class DevicelessFactories(TorchFunctionMode):
    """Records (file, line, function) of each factory call from our code that names no device."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int, str]] = []

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if func in FACTORIES and kwargs.get("device") is None:
            caller = sys._getframe(1).f_code.co_filename
            if any(part in caller for part in OURS):
                self.calls.append((caller, sys._getframe(1).f_lineno, func.__name__))
        return func(*args, **kwargs)


def test_every_tensor_our_code_makes_names_its_device(disagreeing_model, tokenizer, strategy, prompt):
    tokenizer.padding_side = "left"
    batch = tokenizer(["Once upon a time", "The dog"], return_tensors="pt", padding=True).to(prompt.device)
    tokenizer.padding_side = "right"
    with DevicelessFactories() as spy:
        measure_exit_agreement(disagreeing_model, tokenizer, ["Once upon a time"], max_new_tokens=4)
        suggest_exit_layers(disagreeing_model, tokenizer, ["The dog"], max_new_tokens=4, candidates=[1, 3])
        for name, settings in (("hispec", {"draft_layer": 1, "verify_layer": 3}), ("self_spec", {}), ("greedy", {})):
            for do_sample in (False, True):
                strategy(name)(model=disagreeing_model, **batch, max_new_tokens=6, do_sample=do_sample, **settings)
        strategy("hispec")(model=disagreeing_model, input_ids=prompt, max_new_tokens=4, return_dict_in_generate=True)
    assert spy.calls == []
