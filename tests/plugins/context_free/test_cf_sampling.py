"""Sampling: the input is exactly the start token, samples are reproducible and cached atomically."""

from __future__ import annotations

import re
import threading

import torch
from hfplug_context_free import ContextFreeConfig, draw_context_free_samples, generate_context_free
from hfplug_context_free.sampling import end_token_ids
from tqdm.auto import tqdm

from hfplug.testing import make_tiny_model, make_tiny_tokenizer

SMALL = ContextFreeConfig(max_new_tokens=6, batch_size=4, progress=False)


def record_generate_inputs(model):
    """Wrap ``model.generate`` to record the input ids of every call."""
    calls = []
    original = model.generate

    def recording_generate(*args, **kwargs):
        calls.append(kwargs["input_ids"].clone())
        return original(*args, **kwargs)

    model.generate = recording_generate
    return calls


def test_generation_input_is_exactly_bos(tiny_model, tiny_tokenizer):
    calls = record_generate_inputs(tiny_model)
    first_forward_inputs = []
    hook = tiny_model.model.embed_tokens.register_forward_hook(
        lambda module, args, output: first_forward_inputs.append(args[0].clone())
    )
    samples = draw_context_free_samples(tiny_model, tiny_tokenizer, 10, SMALL, seed=1)
    hook.remove()
    assert len(samples) == 10
    assert [call.shape[0] for call in calls] == [4, 4, 2]
    for call in calls:
        assert call.shape[1] == 1
        assert torch.all(call == tiny_tokenizer.bos_token_id)
    # The first forward pass of the model (the prefill) sees only the BOS column.
    assert first_forward_inputs[0].shape == (4, 1)
    assert torch.all(first_forward_inputs[0] == tiny_tokenizer.bos_token_id)


def test_samples_end_at_the_first_eos_and_have_no_padding(tiny_model, tiny_tokenizer):
    config = ContextFreeConfig(max_new_tokens=12, batch_size=8, progress=False)
    samples = draw_context_free_samples(tiny_model, tiny_tokenizer, 40, config, seed=3)
    eos = tiny_tokenizer.eos_token_id
    for sample in samples:
        assert 1 <= len(sample) <= 12
        assert eos not in sample[:-1]
        if len(sample) < 12:
            assert sample[-1] == eos


def test_configured_start_token_is_used_for_tokenizer_without_bos():
    tokenizer = make_tiny_tokenizer(bos=False)
    model = make_tiny_model(tokenizer)
    calls = record_generate_inputs(model)
    config = ContextFreeConfig(max_new_tokens=3, batch_size=4, start_token="<|im_end|>", progress=False)
    draw_context_free_samples(model, tokenizer, 4, config, seed=0)
    assert torch.all(calls[0] == tokenizer.convert_tokens_to_ids("<|im_end|>"))


def test_same_seed_same_samples_and_caller_rng_untouched(tiny_model, tiny_tokenizer):
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = generate_context_free(tiny_model, tiny_tokenizer.bos_token_id, 9, SMALL, seed=7)
    assert torch.equal(torch.rand(1), expected_next)
    again = generate_context_free(tiny_model, tiny_tokenizer.bos_token_id, 9, SMALL, seed=7)
    other = generate_context_free(tiny_model, tiny_tokenizer.bos_token_id, 9, SMALL, seed=8)
    assert first == again
    assert first != other


def test_every_batch_draws_new_samples(tiny_model, tiny_tokenizer):
    # Seeding each generate call with the same seed would make every batch a copy of the first one.
    samples = generate_context_free(tiny_model, tiny_tokenizer.bos_token_id, 16, SMALL, seed=0)
    batches = [tuple(map(tuple, samples[i : i + SMALL.batch_size])) for i in range(0, 16, SMALL.batch_size)]
    assert len(set(batches)) == len(batches)
    assert len({tuple(sample) for sample in samples}) == len(samples)  # 6 tokens over a 320-token vocabulary


def test_another_seed_gives_other_samples_and_its_own_cache_entry(tmp_path, tiny_model, tiny_tokenizer):
    first = draw_context_free_samples(tiny_model, tiny_tokenizer, 8, SMALL, seed=0, cache_dir=tmp_path)
    calls = record_generate_inputs(tiny_model)
    second = draw_context_free_samples(tiny_model, tiny_tokenizer, 8, SMALL, seed=1, cache_dir=tmp_path)
    assert len(calls) == 2  # generated afresh, not served from seed 0's entry
    assert second != first
    assert second == generate_context_free(tiny_model, tiny_tokenizer.bos_token_id, 8, SMALL, seed=1)
    assert len(list((tmp_path / "context_free").iterdir())) == 2


def test_cache_is_reused_and_keyed_by_weights_and_settings(tmp_path, tiny_model, tiny_tokenizer):
    first = draw_context_free_samples(tiny_model, tiny_tokenizer, 8, SMALL, seed=0, cache_dir=tmp_path)
    files = list((tmp_path / "context_free").iterdir())
    assert len(files) == 1 and files[0].suffix == ".json"  # no temporary file left behind

    calls = record_generate_inputs(tiny_model)
    assert draw_context_free_samples(tiny_model, tiny_tokenizer, 8, SMALL, seed=0, cache_dir=tmp_path) == first
    assert calls == []  # served from the cache

    hotter = ContextFreeConfig(max_new_tokens=6, batch_size=4, temperature=1.5, progress=False)
    draw_context_free_samples(tiny_model, tiny_tokenizer, 8, hotter, seed=0, cache_dir=tmp_path)
    assert len(calls) == 2
    with torch.no_grad():
        tiny_model.lm_head.weight.add_(0.5)
    draw_context_free_samples(tiny_model, tiny_tokenizer, 8, SMALL, seed=0, cache_dir=tmp_path)
    assert len(calls) == 4
    assert len(list((tmp_path / "context_free").iterdir())) == 3


def test_corrupt_cache_file_is_regenerated(tmp_path, tiny_model, tiny_tokenizer):
    first = draw_context_free_samples(tiny_model, tiny_tokenizer, 4, SMALL, seed=0, cache_dir=tmp_path)
    (cache,) = (tmp_path / "context_free").iterdir()
    cache.write_text("{not json")
    assert draw_context_free_samples(tiny_model, tiny_tokenizer, 4, SMALL, seed=0, cache_dir=tmp_path) == first


def bias_head_towards(model, token_ids: list[int], bias: float) -> None:
    """Give the model's head a bias towards ``token_ids``: samples end early, so end-token checks have power."""
    head = model.lm_head
    biased = torch.nn.Linear(head.in_features, head.out_features, bias=True)
    with torch.no_grad():
        biased.weight.copy_(head.weight)
        biased.bias.zero_()
        biased.bias[token_ids] = bias
    model.lm_head = biased


def test_samples_end_at_the_tokenizers_eos_and_at_the_models_own(tiny_model, tiny_tokenizer):
    """A checkpoint whose generation config names another end token than its tokenizer: either one ends a sample."""
    tokenizer_eos = tiny_tokenizer.eos_token_id
    model_eos = tiny_tokenizer.convert_tokens_to_ids("<|im_start|>")
    tiny_model.generation_config.eos_token_id = model_eos
    bias_head_towards(tiny_model, [tokenizer_eos, model_eos], 4.0)
    config = ContextFreeConfig(max_new_tokens=12, batch_size=8, progress=False)
    samples = draw_context_free_samples(tiny_model, tiny_tokenizer, 40, config, seed=3)
    endings = [sample[-1] for sample in samples]
    assert endings.count(tokenizer_eos) >= 5 and endings.count(model_eos) >= 5
    for sample in samples:
        assert tokenizer_eos not in sample[:-1] and model_eos not in sample[:-1]


def test_generation_stops_once_every_sample_has_ended(tiny_model, tiny_tokenizer):
    """The tokenizer's EOS stops generate itself (not only the trimming after it): with every sample ending at
    once, a batch costs a forward pass or two, not max_new_tokens of them."""
    tiny_model.generation_config.eos_token_id = None  # the end token is known from the tokenizer only
    bias_head_towards(tiny_model, [tiny_tokenizer.eos_token_id], 30.0)
    forwards = []
    tiny_model.register_forward_hook(lambda module, args, output: forwards.append(1))
    config = ContextFreeConfig(max_new_tokens=12, batch_size=4, progress=False)
    samples = draw_context_free_samples(tiny_model, tiny_tokenizer, 4, config, seed=0)
    assert samples == [[tiny_tokenizer.eos_token_id]] * 4
    assert len(forwards) <= 2


def test_a_checkpoint_without_a_pad_token_samples_as_one_with(tiny_model, tiny_tokenizer):
    config = ContextFreeConfig(max_new_tokens=8, batch_size=4, progress=False)
    expected = draw_context_free_samples(tiny_model, tiny_tokenizer, 8, config, seed=2)
    tiny_model.generation_config.pad_token_id = None
    assert draw_context_free_samples(tiny_model, tiny_tokenizer, 8, config, seed=2) == expected


def test_without_end_or_pad_tokens_every_sample_runs_to_the_length_cap(tiny_model, tiny_tokenizer):
    """No end token anywhere and no pad token: nothing to pad with but the start token, nothing ends a sample."""
    tiny_model.generation_config.eos_token_id = None
    tiny_model.generation_config.pad_token_id = None
    config = ContextFreeConfig(max_new_tokens=5, batch_size=4, progress=False)
    samples = generate_context_free(tiny_model, tiny_tokenizer.bos_token_id, 6, config, seed=0, end_ids=[])
    assert [len(sample) for sample in samples] == [5] * 6


def test_batch_b_is_seeded_with_seed_plus_b(tiny_model, tiny_tokenizer):
    """The documented seeding: the second batch of a seed-5 run is the first batch of a seed-6 run."""
    bos = tiny_tokenizer.bos_token_id
    two_batches = generate_context_free(tiny_model, bos, 8, SMALL, seed=5)
    assert two_batches[:4] == generate_context_free(tiny_model, bos, 4, SMALL, seed=5)
    assert two_batches[4:] == generate_context_free(tiny_model, bos, 4, SMALL, seed=6)


def test_a_list_or_tuple_of_end_tokens_in_the_generation_config_gives_each_id(tiny_model, tiny_tokenizer):
    eos, im_start = tiny_tokenizer.eos_token_id, tiny_tokenizer.convert_tokens_to_ids("<|im_start|>")
    for configured in ([im_start, 10, eos], (im_start, 10, eos)):
        tiny_model.generation_config.eos_token_id = configured
        assert end_token_ids(tiny_model, tiny_tokenizer) == [eos, im_start, 10]  # the tokenizer's first, no repeats


def test_the_start_token_is_attended_when_it_is_also_the_checkpoints_pad_token(tiny_model, tiny_tokenizer):
    """Given no attention mask, generate masks every input equal to the pad token: a checkpoint that pads with
    its start token would then sample with the start token hidden from the model."""
    bos = tiny_tokenizer.bos_token_id
    expected = generate_context_free(tiny_model, bos, 8, SMALL, seed=2)
    tiny_model.generation_config.pad_token_id = bos
    assert generate_context_free(tiny_model, bos, 8, SMALL, seed=2) == expected


def test_the_start_tokens_go_to_the_models_device_not_torchs_default(tiny_model, tiny_tokenizer):
    """A default device the model is not on ('meta' stands in, on a CPU machine, for a model on a GPU while
    torch's default is the CPU): the input must still be built on the model's device."""
    bos = tiny_tokenizer.bos_token_id
    expected = generate_context_free(tiny_model, bos, 4, SMALL, seed=2)
    with torch.device("meta"):
        assert generate_context_free(tiny_model, bos, 4, SMALL, seed=2) == expected


def test_the_progress_bar_is_shown_on_stderr_when_asked_and_only_then(tiny_model, tiny_tokenizer, capsys, monkeypatch):
    # A lock of this test's own: tqdm's is a semaphore shared with every process forked later (mutmut's test
    # runners), and a bar that fails while drawing (a broken unit, say) leaves it held, which hangs them all.
    tqdm.get_lock()  # so that the original is there to be put back, for a half-drawn bar's clean-up to find
    monkeypatch.setattr(tqdm, "_lock", threading.RLock())
    bos = tiny_tokenizer.bos_token_id
    shown = ContextFreeConfig(max_new_tokens=2, batch_size=4, progress=True)
    generate_context_free(tiny_model, bos, 8, shown, seed=0)
    bar = capsys.readouterr().err
    assert re.search(r"(^|\r)context-free samples: 100%", bar), bar
    assert re.search(r"2/2 \[.*(?<![A-Za-z])batch(?![A-Za-z])", bar), bar  # counted in batches: 10.2batch/s
    generate_context_free(tiny_model, bos, 8, ContextFreeConfig(max_new_tokens=2, batch_size=4, progress=False))
    assert "context-free samples" not in capsys.readouterr().err
