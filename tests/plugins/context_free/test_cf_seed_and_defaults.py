"""The transform's seed: an explicit ``seed`` (0 included) wins over the run's, and only an absent one falls
back to it; and every default of the README's config table."""

from __future__ import annotations

import pytest
from datasets import Dataset
from hfplug_context_free import ContextFreeConfig, draw_context_free_samples, generate_context_free, mix_context_free

import hfplug
from hfplug.data import DataContext

TEXTS = Dataset.from_dict({"text": [f"Once upon a time {i} foxes jumped." for i in range(12)]})
SMALL = {"max_new_tokens": 4, "batch_size": 8, "progress": False, "use_cache": False, "ratio": 0.25}


def transform(tokenizer, model, tmp_path, run_seed: int, **fields):
    config = hfplug.load_config("data", "context_free")(**{**SMALL, **fields})
    context = DataContext(tokenizer=tokenizer, model=model, cache_dir=tmp_path, seed=run_seed)
    return hfplug.load("data", "context_free")(TEXTS, config, context)


def direct(tokenizer, model, seed: int):
    """What the transform must return with ``seed``: its two steps called with that seed."""
    config = ContextFreeConfig(**SMALL)
    samples = draw_context_free_samples(model, tokenizer, 4, config, seed=seed)
    return mix_context_free(TEXTS, samples, tokenizer, start_token_id=tokenizer.bos_token_id, ratio=0.25, seed=seed)


@pytest.mark.parametrize("seed", [0, 3])
def test_an_explicit_seed_wins_over_the_runs_seed(tmp_path, tiny_model, tiny_tokenizer, seed):
    wanted = direct(tiny_tokenizer, tiny_model, seed)["input_ids"]
    for run_seed in (11, 42):
        got = transform(tiny_tokenizer, tiny_model, tmp_path, run_seed, seed=seed)["input_ids"]
        assert got == wanted, f"seed={seed} was replaced by the run's seed {run_seed}"


def test_no_seed_uses_the_runs_seed(tmp_path, tiny_model, tiny_tokenizer):
    assert (
        transform(tiny_tokenizer, tiny_model, tmp_path, 0)["input_ids"]
        == direct(tiny_tokenizer, tiny_model, 0)["input_ids"]
    )
    assert (
        transform(tiny_tokenizer, tiny_model, tmp_path, 7)["input_ids"]
        == direct(tiny_tokenizer, tiny_model, 7)["input_ids"]
    )


def test_the_python_apis_seed_defaults_to_zero(tiny_model, tiny_tokenizer):
    """generate_context_free, draw_context_free_samples and mix_context_free without a seed are the calls with
    seed=0 (their signatures)."""
    config = ContextFreeConfig(**SMALL)
    samples = draw_context_free_samples(tiny_model, tiny_tokenizer, 4, config)
    assert samples == draw_context_free_samples(tiny_model, tiny_tokenizer, 4, config, seed=0)
    assert samples != draw_context_free_samples(tiny_model, tiny_tokenizer, 4, config, seed=1)
    bos = tiny_tokenizer.bos_token_id
    assert generate_context_free(tiny_model, bos, 4, config) == samples
    mixed = mix_context_free(TEXTS, samples, tiny_tokenizer, start_token_id=bos, ratio=0.25)
    assert (
        mixed["input_ids"]
        == mix_context_free(TEXTS, samples, tiny_tokenizer, start_token_id=bos, ratio=0.25, seed=0)["input_ids"]
    )
    assert (
        mixed["input_ids"]
        != mix_context_free(TEXTS, samples, tiny_tokenizer, start_token_id=bos, ratio=0.25, seed=1)["input_ids"]
    )


def test_readme_defaults():
    """README config table: temperature 1.0 and start_token None (the BOS) [paper]; the rest [ours]."""
    config = ContextFreeConfig()
    assert (config.temperature, config.start_token) == (1.0, None)
    assert (config.ratio, config.top_p, config.top_k, config.max_new_tokens) == (0.25, 1.0, 0, 256)
    assert (config.num_samples, config.batch_size, config.seed, config.use_cache, config.progress) == (
        None,
        16,
        None,
        True,
        True,
    )


def test_the_generation_config_turns_every_reshaping_setting_off_itself():
    """Every setting that would reshape p_model is given explicitly at its "off" value (none left to a checkpoint's
    saved config or transformers' global defaults, whose top_k is 50); the configured ones pass through."""
    from hfplug_context_free.sampling import unbiased_generation_config

    config = ContextFreeConfig(temperature=0.7, top_p=0.9, top_k=3, max_new_tokens=5)
    generation = unbiased_generation_config(config, [2, 3], 0)
    assert generation.do_sample is True
    assert (generation.temperature, generation.top_p, generation.top_k) == (0.7, 0.9, 3)
    assert generation.min_p is None
    off = ("typical_p", "epsilon_cutoff", "eta_cutoff", "repetition_penalty", "no_repeat_ngram_size", "min_length")
    assert [getattr(generation, name) for name in off] == [1.0, 0.0, 0.0, 1.0, 0, 0]
    assert (generation.max_new_tokens, generation.eos_token_id, generation.pad_token_id) == (5, [2, 3], 0)
    assert unbiased_generation_config(ContextFreeConfig(), [], 0).eos_token_id is None
