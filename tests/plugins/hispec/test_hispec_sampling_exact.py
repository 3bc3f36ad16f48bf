"""Spec property 4: sampling HiSpec is distributed exactly as the full model (chi-square test on
a 6-token vocabulary), and the test is strong enough to reject the draft exit's distribution."""

from __future__ import annotations

import torch

from .conftest import NEW_TOKENS, VOCAB, chi_square_p_value, exact_joint, sampled_counts

SAMPLES = 2000


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
    full_joint = exact_joint(small_vocab_model, prompt, None)
    draft_joint = exact_joint(small_vocab_model, prompt, 1)
    # The exits really disagree, so a sampler that let drafts through unchecked would be caught.
    assert 0.5 * (full_joint - draft_joint).abs().sum() > 0.2

    generate = strategy("hispec")
    torch.manual_seed(0)
    counts, rejections = sampled_counts(
        lambda: _sample(generate, small_vocab_model, torch.tensor([prompt], device=device), draft_length=2),
        SAMPLES,
        len(prompt),
    )
    assert min(rejections) > 100, f"both levels must reject often for the test to mean something: {rejections}"
    assert chi_square_p_value(counts, full_joint) > 1e-3
    assert chi_square_p_value(counts, draft_joint) < 1e-6


def test_each_row_of_a_padded_batch_follows_the_full_model(small_vocab_model, strategy, device):
    model = small_vocab_model
    prompts = [[1, 4, 2], [3, 0, 5, 1, 2]]
    # Row 0 is left-padded by two columns (their token is arbitrary: they are masked out).
    input_ids = torch.tensor([[0, 0, *prompts[0]], prompts[1]], device=device)
    attention_mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], device=device)
    joints = [exact_joint(model, prompt, None) for prompt in prompts]
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
