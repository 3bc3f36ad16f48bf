"""The sampler layer against a from-scratch transformer layer (pre-norm attention over the unpadded
positions, then a pre-norm GELU MLP, both residual), in its batched (training) and incremental
(generation) forms; an untrained sampler is the marginal through the real generation loop at every K; the
loop's reported statistics against counted passes; and the loop's own contract (called directly)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from hfplug_diffusion_sampler.loop import Denoiser, MaskedDiffusionModel, TokenDraw
from hfplug_diffusion_sampler.sampler import JointSampler, SamplerStep
from hfplug_diffusion_sampler.strategies.joint_sampler.custom_generate.generation_call import run_diffusion_generation
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import ToyMaskedLM, count_calls, random_sampler_for

HIDDEN, VOCAB, HEADS = 16, 12, 4


def random_sampler(seed: int, fusion: str = "add") -> JointSampler:
    generator = torch.Generator().manual_seed(seed)
    sampler = JointSampler(hidden_size=HIDDEN, vocab_size=VOCAB, num_attention_heads=HEADS, fusion=fusion)
    with torch.no_grad():
        for parameter in sampler.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=torch.float64).float() * 0.7)
    return sampler.double().eval()


def layer_norm(values, norm):
    mean = values.mean(dim=-1, keepdim=True)
    variance = ((values - mean) ** 2).mean(dim=-1, keepdim=True)
    return (values - mean) / torch.sqrt(variance + norm.eps) * norm.weight + norm.bias


def from_scratch(sampler, hidden, revealed, query, key_mask):
    """u at ``query`` of one example: hidden ``(L, H)``, revealed ``(L, H)``, key_mask ``(L,)`` bool or None."""
    states = hidden + sampler.revealed_scale * revealed if sampler.fusion == "add" else hidden
    normed = layer_norm(states, sampler.input_norm)
    keys_values = normed @ sampler.key_value.weight.T + sampler.key_value.bias
    keys, values = keys_values[:, :HIDDEN], keys_values[:, HIDDEN:]
    queries = normed[query] @ sampler.query.weight.T + sampler.query.bias
    head_dim = HIDDEN // HEADS
    heads = []
    for head in range(HEADS):
        part = slice(head * head_dim, (head + 1) * head_dim)
        scores = keys[:, part] @ queries[part] / math.sqrt(head_dim)
        if key_mask is not None:
            scores = scores.masked_fill(~key_mask, float("-inf"))
        heads.append(torch.softmax(scores, dim=0) @ values[:, part])
    attended = torch.cat(heads) @ sampler.attention_output.weight.T + sampler.attention_output.bias
    residual = states[query] + attended
    inner = layer_norm(residual, sampler.mlp_norm) @ sampler.mlp_up.weight.T + sampler.mlp_up.bias
    gelu = 0.5 * inner * (1 + torch.erf(inner / math.sqrt(2)))
    return residual + gelu @ sampler.mlp_down.weight.T + sampler.mlp_down.bias


@settings(deadline=None)
@given(
    seed=st.integers(0, 2**16),
    examples=st.integers(1, 4),
    length=st.integers(2, 9),
    padded=st.booleans(),
    fusion=st.sampled_from(("add", "none")),
)
def test_batched_and_incremental_forms_equal_a_from_scratch_layer(seed, examples, length, padded, fusion):
    sampler = random_sampler(seed, fusion)
    generator = torch.Generator().manual_seed(seed + 1)
    hidden = torch.randn(examples, length, HIDDEN, generator=generator, dtype=torch.float64)
    revealed = torch.zeros_like(hidden)
    revealed_at = torch.randint(0, length, (examples,), generator=generator)
    tokens = torch.randn(examples, HIDDEN, generator=generator, dtype=torch.float64)
    rows = torch.arange(examples)
    revealed[rows, revealed_at] = tokens
    query = torch.randint(0, length, (examples,), generator=generator)
    key_mask = None
    if padded:  # left padding, never the query's own column
        padding = torch.randint(0, length, (examples,), generator=generator).minimum(query)
        key_mask = torch.arange(length)[None] >= padding[:, None]
        hidden = hidden.masked_fill(~key_mask[..., None], 1e3)  # padding holds garbage: it must not count
    with torch.no_grad():
        batched = sampler(hidden, revealed, query, key_mask)
        step = SamplerStep(sampler, hidden, key_mask)
        step.reveal(revealed_at, tokens)
        incremental = step.read(query)
        for example in range(examples):
            mask = None if key_mask is None else key_mask[example]
            wanted = from_scratch(sampler, hidden[example], revealed[example], int(query[example]), mask)
            torch.testing.assert_close(batched[example], wanted)
            torch.testing.assert_close(incremental[example], wanted)


def test_keys_and_values_take_any_leading_shape():
    """One example's ``(L, hidden)`` states give that example's slice of the batched keys and values."""
    sampler = random_sampler(2)
    states = torch.randn(3, 5, HIDDEN, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    with torch.no_grad():
        keys, values = sampler.keys_values(states)
        assert keys.shape == values.shape == (3, HEADS, 5, HIDDEN // HEADS)
        for example in range(3):
            one_keys, one_values = sampler.keys_values(states[example])
            torch.testing.assert_close(one_keys, keys[example])
            torch.testing.assert_close(one_values, values[example])


def test_padding_never_reaches_the_sampler_output():
    """Changing the hidden states at padded columns leaves u unchanged; changing an attended column does not
    (random changes: a constant shift would vanish in the layer norm)."""
    sampler = random_sampler(1)
    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(1, 6, HIDDEN, generator=generator, dtype=torch.float64)
    key_mask = torch.tensor([[False, False, True, True, True, True]])
    query = torch.tensor([4])
    with torch.no_grad():
        before = sampler(hidden, torch.zeros_like(hidden), query, key_mask)
        changed = hidden.clone()
        changed[0, :2] += 5.0 * torch.randn(2, HIDDEN, generator=generator, dtype=torch.float64)
        after = sampler(changed, torch.zeros_like(hidden), query, key_mask)
        changed[0, 3] += 5.0 * torch.randn(HIDDEN, generator=generator, dtype=torch.float64)
        attended = sampler(changed, torch.zeros_like(hidden), query, key_mask)
    torch.testing.assert_close(after, before)
    assert not torch.allclose(attended, before)
    with torch.no_grad():  # a 0/1 integer mask, as tokenizers return attention masks, is the same mask
        torch.testing.assert_close(sampler(hidden, torch.zeros_like(hidden), query, key_mask.long()), before)
        step = SamplerStep(sampler, hidden, key_mask.long())
        torch.testing.assert_close(step.read(query), before)


def test_untrained_sampler_outputs_h_plus_revealed_only_at_revealed_columns():
    """Zero output projections: u at a column is H there (plus the revealed embedding if that column was revealed)."""
    sampler = JointSampler(hidden_size=HIDDEN, vocab_size=VOCAB, num_attention_heads=HEADS).double()
    with torch.no_grad():
        sampler.revealed_scale.fill_(0.5)
    hidden = torch.randn(2, 5, HIDDEN, dtype=torch.float64)
    revealed = torch.zeros_like(hidden)
    revealed[:, 1] = 1.0
    with torch.no_grad():
        at_revealed = sampler(hidden, revealed, torch.tensor([1, 1]))
        elsewhere = sampler(hidden, revealed, torch.tensor([3, 0]))
    torch.testing.assert_close(at_revealed, hidden[:, 1] + 0.5)
    torch.testing.assert_close(elsewhere, hidden[torch.arange(2), torch.tensor([3, 0])])


def untrained_sampler(model, seed: int) -> JointSampler:
    """Zero output projections (as built), but revealed tokens do enter H (a scale far from 0)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        sampler = JointSampler(hidden_size=model.hidden_size, vocab_size=model.vocab_size)
    with torch.no_grad():
        sampler.revealed_scale.fill_(1.7)
    return sampler


def generation_settings(**overrides):
    prompt = torch.tensor([[3, 1, 4, 1, 5], [0, 0, 2, 7, 1]])
    settings = {"input_ids": prompt, "attention_mask": (prompt != 0).long(), "do_sample": True}
    return {**settings, "return_dict_in_generate": True, **overrides}


@settings(deadline=None)
@given(
    tokens_per_step=st.integers(1, 8),
    new_tokens=st.integers(1, 12),
    block_length=st.one_of(st.none(), st.integers(1, 6)),
    rule=st.sampled_from(("confidence", "margin", "entropy", "random", "left_to_right")),
    temperature=st.sampled_from((0.5, 1.0, 2.0)),
    seed=st.integers(0, 2**16),
)
def test_untrained_joint_sampler_is_the_marginal_through_the_real_loop(
    toy_mdlm, tokens_per_step, new_tokens, block_length, rule, temperature, seed
):
    """Same seed, same settings: the joint mode with a freshly built sampler returns exactly the marginal mode's
    sequences, at every K, with or without blocks, for every position rule. Called through the function every
    strategy folder's ``generate`` calls (imported from the package, so mutation testing reaches it)."""
    settings = generation_settings(
        max_new_tokens=new_tokens,
        block_length=block_length,
        position_choice=rule,
        temperature=temperature,
    )
    torch.manual_seed(seed)
    marginal = run_diffusion_generation(toy_mdlm, dict(settings), mode="marginal", tokens_per_step=tokens_per_step)
    torch.manual_seed(seed)
    joint = run_diffusion_generation(
        toy_mdlm,
        dict(settings),
        mode="joint",
        tokens_per_step=tokens_per_step,
        sampler=untrained_sampler(toy_mdlm, seed),
    )
    assert torch.equal(joint.sequences, marginal.sequences)
    assert joint.diffusion_stats["full_passes"] == marginal.diffusion_stats["full_passes"]
    assert not bool((joint.sequences == toy_mdlm.mask_token_id).any())


@pytest.mark.parametrize("tokens_per_step", [3, 5])
def test_untrained_joint_sampler_is_the_marginal_through_the_strategy_folders(toy_mdlm, strategies, tokens_per_step):
    """The same through the registered custom_generate folders, as users call them."""
    settings = generation_settings(max_new_tokens=9, block_length=6, tokens_per_step=tokens_per_step)
    torch.manual_seed(4)
    marginal = strategies["marginal"](model=toy_mdlm, **settings)
    torch.manual_seed(4)
    joint = strategies["joint_sampler"](model=toy_mdlm, sampler=untrained_sampler(toy_mdlm, 4), **settings)
    assert torch.equal(joint.sequences, marginal.sequences)


def test_logits_of_is_the_frozen_head_without_the_mask_token(toy_mdlm):
    base = MaskedDiffusionModel(toy_mdlm, toy_mdlm.mask_token_id)
    states = torch.randn(3, toy_mdlm.hidden_size)
    logits = base.logits_of(states)
    wanted = states @ toy_mdlm.head.weight.T + toy_mdlm.head.bias
    torch.testing.assert_close(logits[:, : toy_mdlm.mask_token_id], wanted[:, : toy_mdlm.mask_token_id])
    assert bool((logits[:, toy_mdlm.mask_token_id] == float("-inf")).all())


@pytest.mark.parametrize(
    ("mode", "new_tokens", "k", "block_length", "steps"),
    [
        ("joint", 10, 4, None, 3),
        ("joint", 7, 2, 3, 5),
        ("exact", 10, 4, None, 3),
        ("marginal", 5, 8, None, 1),  # one full pass: tokens per full pass is the whole region
    ],
)
def test_reported_stats_are_the_counted_passes(
    tiny_mdlm, prompt, random_sampler, mode, new_tokens, k, block_length, steps
):
    """``diffusion_stats`` (what ``return_dict_in_generate`` users read) against the hooks' counts, every key,
    through the function every strategy folder calls (imported from the package, so mutation runs reach it)."""
    counts, handles = count_calls(tiny_mdlm, random_sampler)
    settings = {"input_ids": prompt.repeat(2, 1), "max_new_tokens": new_tokens, "block_length": block_length}
    try:
        output = run_diffusion_generation(
            tiny_mdlm,
            {**settings, "return_dict_in_generate": True},
            mode=mode,
            tokens_per_step=k,
            sampler=random_sampler if mode == "joint" else None,
        )
    finally:
        for handle in handles:
            handle.remove()
    assert output.diffusion_stats == {
        "steps": steps,
        "full_passes": counts["full"],
        "sampler_passes": counts["sampler"],
        "tokens": new_tokens,
        "tokens_per_full_pass": pytest.approx(new_tokens / counts["full"]),
    }


# The denoising loop's own contract, called directly (as the trainer's rollouts and every strategy do): the
# settings it refuses, its default rule, statistics that add up over runs, rows that disagree on how many masks
# they hold, and the LM-head check that only the sampler needs.


def denoiser(model, **settings) -> Denoiser:
    base = MaskedDiffusionModel(model, model.mask_token_id)
    return Denoiser(base, TokenDraw(True, None, None, None), **settings)


def masked_canvas(model, rows: int, prompt_length: int, new_tokens: int) -> torch.Tensor:
    prompt = torch.randint(1, model.mask_token_id, (rows, prompt_length), generator=torch.Generator().manual_seed(0))
    return torch.cat([prompt, torch.full((rows, new_tokens), model.mask_token_id)], dim=1)


def test_bad_settings_are_refused(toy_mdlm):
    with pytest.raises(ValueError, match="mode must be one of exact, marginal, joint"):
        denoiser(toy_mdlm, mode="parallel", tokens_per_step=2)
    for k in (2, 3):
        with pytest.raises(ValueError, match="needs sampler="):
            denoiser(toy_mdlm, mode="joint", tokens_per_step=k)
    for mode in ("marginal", "joint"):
        with pytest.raises(ValueError, match="Recording teacher targets needs the exact mode"):
            denoiser(toy_mdlm, mode=mode, tokens_per_step=1, record=lambda record: None)


def test_settings_that_need_no_sampler_are_accepted(toy_mdlm):
    """K = 1 samples from the marginal in every mode; exact and marginal never use a sampler; exact may record."""
    denoiser(toy_mdlm, mode="joint", tokens_per_step=1)
    denoiser(toy_mdlm, mode="marginal", tokens_per_step=4)
    denoiser(toy_mdlm, mode="exact", tokens_per_step=4, record=lambda record: None)
    denoiser(toy_mdlm, mode="joint", tokens_per_step=4, sampler=random_sampler_for(toy_mdlm, 0))


def test_default_position_rule_is_confidence(toy_mdlm):
    assert denoiser(toy_mdlm, mode="marginal", tokens_per_step=2).position_choice == "confidence"


def test_statistics_add_up_over_runs(toy_mdlm):
    """Two runs of one loop: steps, passes and tokens per row are the sums of the runs'."""
    loop = denoiser(toy_mdlm, mode="exact", tokens_per_step=3)
    loop.run(masked_canvas(toy_mdlm, 2, 3, 7), None, 3)  # steps of 3, 3, 1 tokens
    loop.run(masked_canvas(toy_mdlm, 2, 4, 2), None, 4)  # one step of 2
    assert loop.stats.as_dict() == {
        "steps": 4,
        "full_passes": 9,
        "sampler_passes": 0,
        "tokens": 9,
        "tokens_per_full_pass": 1.0,
    }


def test_tokens_given_among_the_masks_are_kept_and_the_loop_ends_when_no_mask_is_left(toy_mdlm):
    """Infilling: a step picks only masked columns, so the tokens already in the region stay, and 5 masks at 2
    per step take 3 steps. A cap on the full passes turns a loop that would never end into a failure."""
    canvas = masked_canvas(toy_mdlm, 2, 3, 7)
    canvas[:, [4, 7]] = torch.tensor([5, 6])
    kept = [0, 1, 2, 4, 7]
    given = canvas[:, kept].clone()
    loop = denoiser(toy_mdlm, mode="marginal", tokens_per_step=2)
    full_pass = loop.base.full_pass

    def capped_full_pass(*args):
        if loop.stats.full_passes > 3:
            raise AssertionError("a fourth full pass: the loop did not stop once every mask was filled")
        return full_pass(*args)

    loop.base.full_pass = capped_full_pass
    with torch.no_grad():
        loop.run(canvas, None, 3)
    assert loop.stats.steps == 3
    assert torch.equal(canvas[:, kept], given)
    assert not bool((canvas == toy_mdlm.mask_token_id).any())


def test_rows_with_different_numbers_of_masks_are_refused(toy_mdlm):
    canvas = masked_canvas(toy_mdlm, 2, 3, 4)
    canvas[1, -1] = 1  # the second row has one mask fewer
    with pytest.raises(ValueError, match="different numbers of masked positions"):
        denoiser(toy_mdlm, mode="marginal", tokens_per_step=2).run(canvas, None, 3)


class SoftCappedLM(ToyMaskedLM):
    """Logits soft-capped after the LM head (as Gemma 2 does): Head(hidden) is not the logits."""

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> SimpleNamespace:
        logits = super().forward(input_ids, attention_mask).logits
        return SimpleNamespace(logits=2.0 * torch.tanh(logits / 2.0))


@pytest.mark.parametrize(("mode", "k"), [("marginal", 3), ("exact", 3), ("joint", 1)])
def test_modes_that_need_no_hidden_states_decode_a_soft_capped_model(mode, k):
    """Only the sampler reuses the LM head; the other modes read the logits alone, whatever produced them."""
    model = SoftCappedLM().eval()
    canvas = masked_canvas(model, 2, 3, 5)
    with torch.no_grad():
        denoiser(model, mode=mode, tokens_per_step=k).run(canvas, None, 3)
    assert not bool((canvas == model.mask_token_id).any())


def test_the_sampler_refuses_a_soft_capped_model():
    model = SoftCappedLM().eval()
    loop = denoiser(model, mode="joint", tokens_per_step=2, sampler=random_sampler_for(model, 0))
    with pytest.raises(ValueError, match="changes its logits after the LM head"), torch.no_grad():
        loop.run(masked_canvas(model, 2, 3, 4), None, 3)
