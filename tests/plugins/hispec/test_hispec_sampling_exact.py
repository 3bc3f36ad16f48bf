"""Spec property 4: sampling HiSpec is distributed exactly as the full model (chi-square test on
a 6-token vocabulary), and the test is strong enough to reject the draft exit's distribution."""

from __future__ import annotations

import itertools

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from .conftest import chi_square_p_value

VOCAB = 6
SAMPLES = 2000
NEW_TOKENS = 3


@pytest.fixture(scope="module")
def small_vocab_model(device):
    # The shared tiny-model helper sizes the vocabulary from a real tokenizer; this test needs 6 tokens.
    config = LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=6,
        num_attention_heads=2,
        num_key_value_heads=2,
        initializer_range=0.4,
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
    )
    torch.manual_seed(7)
    return LlamaForCausalLM(config).to(device, torch.float64).eval()


def _exact_joint(model, prompt: list[int], exit_layer: int | None) -> torch.Tensor:
    """P(t1, t2, t3 | prompt) of the model read at ``exit_layer`` (None: the full model)."""
    sequences = [
        prompt + list(prefix) for n in range(NEW_TOKENS) for prefix in itertools.product(range(VOCAB), repeat=n)
    ]
    next_token = {}
    with torch.no_grad():
        for sequence in sequences:
            output = model(torch.tensor([sequence], device=model.device), output_hidden_states=exit_layer is not None)
            if exit_layer is None:
                logits = output.logits[0, -1]
            else:
                logits = model.lm_head(model.model.norm(output.hidden_states[exit_layer][0, -1]))
            next_token[tuple(sequence[len(prompt) :])] = torch.softmax(logits, dim=-1).cpu()
    joint = torch.zeros((VOCAB,) * NEW_TOKENS, dtype=torch.float64)
    for tokens in itertools.product(range(VOCAB), repeat=NEW_TOKENS):
        joint[tokens] = (
            next_token[()][tokens[0]] * next_token[tokens[:1]][tokens[1]] * next_token[tokens[:2]][tokens[2]]
        )
    return joint


def _sample(generate, model, input_ids, draft_length, **extra):
    """NEW_TOKENS sampled tokens (plain softmax) with exits 1 and 3, a verify window of 2."""
    return generate(
        model=model,
        input_ids=input_ids,
        do_sample=True,
        top_k=0,
        max_new_tokens=NEW_TOKENS,
        draft_layer=1,
        verify_layer=3,
        draft_length=draft_length,
        verify_window=2,
        return_dict_in_generate=True,
        **extra,
    )


def test_sampled_sequences_follow_the_full_model(small_vocab_model, strategy, device):
    prompt = [1, 4, 2]
    full_joint = _exact_joint(small_vocab_model, prompt, None)
    draft_joint = _exact_joint(small_vocab_model, prompt, 1)
    # The exits really disagree, so a sampler that let drafts through unchecked would be caught.
    assert 0.5 * (full_joint - draft_joint).abs().sum() > 0.2

    generate = strategy("hispec")
    counts = torch.zeros((VOCAB,) * NEW_TOKENS)
    rejections = [0, 0]
    torch.manual_seed(0)
    for _ in range(SAMPLES):
        output = _sample(generate, small_vocab_model, torch.tensor([prompt], device=device), draft_length=2)
        counts[tuple(output.sequences[0, len(prompt) :].tolist())] += 1
        for index, level in enumerate(output.speculation_stats["acceptance"]):
            rejections[index] += level["proposed"] - level["accepted"]
    assert min(rejections) > 100, f"both levels must reject often for the test to mean something: {rejections}"
    assert chi_square_p_value(counts, full_joint) > 1e-3
    assert chi_square_p_value(counts, draft_joint) < 1e-6


def test_each_row_of_a_padded_batch_follows_the_full_model(small_vocab_model, strategy, device):
    model = small_vocab_model
    prompts = [[1, 4, 2], [3, 0, 5, 1, 2]]
    # Row 0 is left-padded by two columns (their token is arbitrary: they are masked out).
    input_ids = torch.tensor([[0, 0, *prompts[0]], prompts[1]], device=device)
    attention_mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], device=device)
    joints = [_exact_joint(model, prompt, None) for prompt in prompts]
    counts = [torch.zeros((VOCAB,) * NEW_TOKENS) for _ in prompts]
    generate = strategy("hispec")
    torch.manual_seed(1)
    rejected = 0
    # Twice the draws of the single-prompt test: enough to reject a bonus token checked against
    # the wrong proposal distribution (p ~ 1e-5 then, 0.3-0.4 here when correct).
    for _ in range(2 * SAMPLES):
        output = _sample(generate, model, input_ids, draft_length=1, attention_mask=attention_mask)
        for row, count in zip(output.sequences[:, input_ids.shape[1] :].tolist(), counts, strict=True):
            count[tuple(row)] += 1
        rejected += sum(level["proposed"] - level["accepted"] for level in output.speculation_stats["acceptance"])
    assert rejected > 200, "rows must disagree often for the lockstep commit to be exercised"
    for count, joint in zip(counts, joints, strict=True):
        assert chi_square_p_value(count, joint) > 1e-3
    # And the two rows really differ, so a mix-up of rows would be caught.
    assert 0.5 * (joints[0] - joints[1]).abs().sum() > 0.2
