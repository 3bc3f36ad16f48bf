"""The sample cache's key and file: the same key in another order is the same file, weights with the same bytes
in another dtype are other weights, and a cache folder that does not exist yet is created."""

from __future__ import annotations

import copy

import torch
from hfplug_context_free import ContextFreeConfig, draw_context_free_samples
from hfplug_context_free.cache import cache_file, model_fingerprint

SMALL = ContextFreeConfig(max_new_tokens=4, batch_size=4, progress=False)


def test_the_cache_file_does_not_depend_on_the_keys_order(tmp_path):
    key = {"model": "abc", "seed": 3, "num_samples": 8, "temperature": 1.0}
    reordered = dict(reversed(list(key.items())))
    assert list(reordered) != list(key)
    assert cache_file(tmp_path, reordered) == cache_file(tmp_path, key)
    assert cache_file(tmp_path, {**key, "seed": 4}) != cache_file(tmp_path, key)


def test_the_same_bytes_in_another_dtype_are_other_weights(tiny_model):
    half = tiny_model.to(torch.float16)
    reinterpreted = copy.deepcopy(half)
    with torch.no_grad():
        for parameter in reinterpreted.parameters():
            parameter.data = parameter.data.view(torch.bfloat16)  # every byte kept, read as another number
    assert reinterpreted.config.to_json_string() == half.config.to_json_string()
    assert model_fingerprint(reinterpreted) != model_fingerprint(half)


def test_samples_are_cached_in_a_folder_that_does_not_exist_yet(tmp_path, tiny_model, tiny_tokenizer):
    cache_dir = tmp_path / "new" / "cache"
    first = draw_context_free_samples(tiny_model, tiny_tokenizer, 4, SMALL, seed=0, cache_dir=cache_dir)
    (stored,) = (cache_dir / "context_free").iterdir()
    assert stored.suffix == ".json"
    assert draw_context_free_samples(tiny_model, tiny_tokenizer, 4, SMALL, seed=0, cache_dir=cache_dir) == first
