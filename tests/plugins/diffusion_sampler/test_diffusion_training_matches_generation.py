"""Training sees the states generation builds (property-based, K >= 3).

Within a step the sampler's input is H plus the embeddings of every token revealed so far in that step,
at its own column. Both sides are checked against that definition, computed here from scratch:

- generation: at each sampler pass of the real loop (``Denoiser``, joint mode) the sampler's states,
  keys and values, read from the canvas as it stands; the queried column is the next one of the
  position rule's order, computed here from the model's own logits;
- training: every (step, k) example ``distillation_batch`` builds from a teacher rollout, including
  its teacher target (a fresh full pass with t_<k revealed) and the marginal baseline's logits.

and then against each other: the incremental ``SamplerStep`` walked through a recorded step gives
the states and outputs the batched training form gives.
"""

from __future__ import annotations

import math
from unittest import mock

import pytest
import torch
from hfplug_diffusion_sampler.loop import Denoiser, MaskedDiffusionModel, TokenDraw
from hfplug_diffusion_sampler.sampler import SamplerStep
from hfplug_diffusion_sampler.strategies.joint_sampler.custom_generate import denoising
from hfplug_diffusion_sampler.trainer.objective import distillation_batch
from hfplug_diffusion_sampler.trainer.trajectories import RolloutSettings, teacher_rollout
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import prompts_with_left_padding, random_sampler_for

TEMPERATURE = 0.7
DETERMINISTIC_RULES = ("confidence", "margin", "entropy", "left_to_right")


def independent_logits(model, canvas, attention, mask_id):
    """The model's logits straight from its forward, mask token excluded (the loop never draws it)."""
    with torch.no_grad():
        logits = model(input_ids=canvas, attention_mask=attention).logits.double()
    logits[..., mask_id] = float("-inf")
    return logits


def independent_scores(
    rule: str, logits_row, masked_columns: list[int], temperature: float = TEMPERATURE
) -> dict[int, float]:
    """Each masked column's priority under ``rule`` (higher first), scored on softmax(logits / T)."""
    scores = {}
    for column in masked_columns:
        probabilities = sorted(torch.softmax(logits_row[column] / temperature, dim=-1).tolist(), reverse=True)
        if rule == "confidence":
            scores[column] = probabilities[0]
        elif rule == "margin":
            scores[column] = probabilities[0] - probabilities[1]
        elif rule == "entropy":  # least uncertain first: minus the entropy
            scores[column] = sum(p * math.log(p) for p in probabilities if p > 0)
        else:  # left_to_right
            scores[column] = -column
    return scores


def assert_same_ranks(columns: list[int], wanted: list[int], scores: dict[int, float]) -> None:
    """Same columns, or columns whose scores tie to float precision (float32 in the loop, float64 here)."""
    got, expected = sorted(scores[column] for column in columns), sorted(scores[column] for column in wanted)
    assert got == pytest.approx(expected, abs=1e-6), f"columns {columns}, rule's {wanted}"


def sampler_input(sampler, hidden_row, embeddings, revealed_columns, revealed_tokens):
    """H plus scale * Emb(token) at every revealed column: the sampler's input by definition."""
    states = hidden_row.clone()
    for column, token in zip(revealed_columns, revealed_tokens, strict=True):
        states[column] = states[column] + sampler.revealed_scale * embeddings(torch.tensor(token))
    return states


class RecordingStep(SamplerStep):
    """``SamplerStep`` that records, at every read, what the loop built and the canvas as it stands."""

    log: list[dict] = []
    canvas: torch.Tensor | None = None

    def __init__(self, sampler, hidden, key_mask) -> None:
        super().__init__(sampler, hidden, key_mask)
        self.log.append({"hidden": hidden.clone(), "key_mask": key_mask, "start": self.canvas.clone(), "reads": []})

    def read(self, positions):
        output = super().read(positions)
        self.log[-1]["reads"].append(
            {
                "positions": positions.clone(),
                "states": self.states.clone(),
                "keys": self.keys.clone(),
                "values": self.values.clone(),
                "canvas": self.canvas.clone(),
                "output": output.clone(),
            }
        )
        return output


@settings(deadline=None)
@given(
    tokens_per_step=st.integers(3, 6),
    extra_tokens=st.integers(0, 5),
    prompt_length=st.integers(2, 5),
    rows=st.integers(1, 3),
    rule=st.sampled_from(DETERMINISTIC_RULES),
    seed=st.integers(0, 2**16),
)
def test_generation_loop_builds_the_sampler_input_from_the_revealed_tokens(
    toy_mdlm, tokens_per_step, extra_tokens, prompt_length, rows, rule, seed
):
    mask_id = toy_mdlm.config.mask_token_id
    base = MaskedDiffusionModel(toy_mdlm, mask_id)
    sampler = random_sampler_for(toy_mdlm, seed)
    prompts, attention = prompts_with_left_padding(toy_mdlm, seed, rows, prompt_length)
    new_tokens = tokens_per_step + extra_tokens
    canvas = torch.cat([prompts, torch.full((rows, new_tokens), mask_id)], dim=1)
    full_attention = torch.cat([attention, torch.ones(rows, new_tokens, dtype=torch.long)], dim=1)
    padded = not bool(attention.bool().all())
    denoiser = Denoiser(
        base,
        TokenDraw(True, TEMPERATURE, None, None),
        mode="joint",
        tokens_per_step=tokens_per_step,
        position_choice=rule,
        sampler=sampler,
    )
    torch.manual_seed(seed)
    with mock.patch.object(denoising, "SamplerStep", RecordingStep), mock.patch.object(RecordingStep, "log", []):
        RecordingStep.canvas = canvas
        with torch.no_grad():
            denoiser.run(canvas, full_attention if padded else None, prompt_length)
        log = RecordingStep.log
    RecordingStep.canvas = None

    embeddings = toy_mdlm.get_input_embeddings()
    expected_steps = -(-new_tokens // tokens_per_step)
    assert len(log) == sum(
        min(tokens_per_step, new_tokens - step * tokens_per_step) > 1 for step in range(expected_steps)
    )
    for step in log:
        start = step["start"]
        logits = independent_logits(toy_mdlm, start, full_attention, mask_id)
        count = len(step["reads"]) + 1
        if padded:
            assert torch.equal(step["key_mask"], full_attention.bool())
        else:
            assert step["key_mask"] is None
        for row in range(rows):
            masked = [column for column in range(canvas.shape[1]) if start[row, column] == mask_id]
            scores = independent_scores(rule, logits[row], masked)
            order = sorted(masked, key=scores.__getitem__, reverse=True)[:count]
            for k, read in enumerate(step["reads"], start=1):
                now = read["canvas"][row]
                revealed = [column for column in range(canvas.shape[1]) if now[column] != start[row, column]]
                # Exactly j_1..j_k are revealed, the k-th read asks about j_(k+1), still masked.
                assert len(revealed) == k
                assert_same_ranks(revealed, order[:k], scores)
                query = int(read["positions"][row])
                assert_same_ranks([query], [order[k]], scores)
                assert int(now[query]) == mask_id
                wanted = sampler_input(sampler, step["hidden"][row], embeddings, revealed, now[revealed].tolist())
                torch.testing.assert_close(read["states"][row], wanted, atol=1e-5, rtol=1e-5)
                keys, values = sampler.keys_values(wanted[None])
                torch.testing.assert_close(read["keys"][row], keys[0], atol=1e-5, rtol=1e-5)
                torch.testing.assert_close(read["values"][row], values[0], atol=1e-5, rtol=1e-5)


@settings(deadline=None)
@given(
    tokens_per_step=st.integers(3, 6),
    extra_tokens=st.integers(0, 5),
    block_length=st.one_of(st.none(), st.integers(3, 6)),
    prompt_length=st.integers(2, 4),
    rows=st.integers(1, 3),
    rule=st.sampled_from((*DETERMINISTIC_RULES, "random")),
    temperature=st.sampled_from((0.5, 1.0, 3.0)),
    seed=st.integers(0, 2**16),
)
def test_training_examples_hold_every_earlier_token_of_the_step(
    toy_mdlm, tokens_per_step, extra_tokens, block_length, prompt_length, rows, rule, temperature, seed
):
    mask_id = toy_mdlm.config.mask_token_id
    base = MaskedDiffusionModel(toy_mdlm, mask_id)
    prompts, attention = prompts_with_left_padding(toy_mdlm, seed, rows, prompt_length)
    new_tokens = tokens_per_step + extra_tokens
    rollout = RolloutSettings(
        tokens_per_step=tokens_per_step,
        max_new_tokens=new_tokens,
        block_length=block_length,
        position_choice=rule,
        temperature=temperature,
    )
    torch.manual_seed(seed)
    records = teacher_rollout(base, prompts, attention, rollout)
    batch = distillation_batch(records, base)

    padded = not bool(attention.bool().all())
    full_attention = torch.cat([attention, torch.ones(rows, new_tokens, dtype=torch.long)], dim=1)
    embeddings = toy_mdlm.get_input_embeddings()
    example = 0
    for index, record in enumerate(records):
        after = records[index + 1].canvas if index + 1 < len(records) else None
        first_logits = independent_logits(toy_mdlm, record.canvas, full_attention, mask_id)
        count = record.positions.shape[1]
        # Teacher logits for tokens 2..K: none (an empty axis) on a step of one token.
        assert record.teacher_logits.shape == (rows, count - 1, toy_mdlm.vocab_size)
        for row in range(rows):
            columns = record.positions[row].tolist()
            assert all(int(record.canvas[row, column]) == mask_id for column in columns)
            assert len(set(columns)) == count
            masked = [column for column in range(record.canvas.shape[1]) if record.canvas[row, column] == mask_id]
            if block_length:  # the step's candidates: the masks of the first block that has any
                block = (masked[0] - prompt_length) // block_length
                masked = [column for column in masked if (column - prompt_length) // block_length == block]
            assert count == min(tokens_per_step, len(masked))
            if rule != "random":  # j_1..j_K: the rule's top K on the rollout's warped marginals, in order
                scores = independent_scores(rule, first_logits[row], masked, temperature)
                wanted = sorted(masked, key=scores.__getitem__, reverse=True)[:count]
                got = [scores[column] for column in columns]
                assert got == pytest.approx([scores[column] for column in wanted], abs=1e-6)
            else:
                assert set(columns) <= set(masked)
            if after is not None:  # the step wrote its tokens at its positions, nothing else
                changed = (after[row] != record.canvas[row]).nonzero()[:, 0].tolist()
                assert sorted(changed) == sorted(columns)
                assert after[row, columns].tolist() == record.tokens[row].tolist()
        for k in range(1, count):
            teacher_canvas = record.canvas.clone()
            for earlier in range(k):
                teacher_canvas[torch.arange(rows), record.positions[:, earlier]] = record.tokens[:, earlier]
            teacher_logits = independent_logits(toy_mdlm, teacher_canvas, full_attention, mask_id)
            for row in range(rows):
                j_k = int(record.positions[row, k])
                revealed_columns = record.positions[row, :k].tolist()
                wanted = torch.zeros_like(record.hidden[row])
                for column, token in zip(revealed_columns, record.tokens[row, :k].tolist(), strict=True):
                    wanted[column] = embeddings(torch.tensor(token))
                at = example + row
                torch.testing.assert_close(batch.revealed[at], wanted)
                torch.testing.assert_close(batch.hidden[at], record.hidden[row])
                assert int(batch.query_positions[at]) == j_k
                torch.testing.assert_close(batch.teacher_logits[at].double(), teacher_logits[row, j_k])
                # The marginal baseline: the step's first pass at the same position j_k.
                torch.testing.assert_close(batch.marginal_logits[at].double(), first_logits[row, j_k])
                if padded:
                    assert torch.equal(batch.key_mask[at], full_attention[row].bool())
            example += rows
    assert example == len(batch)
    if not padded:
        assert batch.key_mask is None


@settings(deadline=None)
@given(tokens_per_step=st.integers(3, 6), rows=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_incremental_generation_form_equals_the_training_form_on_recorded_steps(toy_mdlm, tokens_per_step, rows, seed):
    """Walk ``SamplerStep`` (generation) through each recorded teacher step: at every k its states and its
    output equal those of the batched ``forward`` (training) on the matching training example."""
    mask_id = toy_mdlm.config.mask_token_id
    base = MaskedDiffusionModel(toy_mdlm, mask_id)
    sampler = random_sampler_for(toy_mdlm, seed)
    prompts, attention = prompts_with_left_padding(toy_mdlm, seed, rows, 3)
    torch.manual_seed(seed)
    records = teacher_rollout(
        base, prompts, attention, RolloutSettings(tokens_per_step=tokens_per_step, max_new_tokens=tokens_per_step + 2)
    )
    batch = distillation_batch(records, base)
    example = 0
    with torch.no_grad():
        trained = sampler(batch.hidden, batch.revealed, batch.query_positions, batch.key_mask)
        fused = sampler.fuse(batch.hidden, batch.revealed)
        for record in records:
            step = SamplerStep(sampler, record.hidden, record.key_mask)
            for k in range(1, record.positions.shape[1]):
                step.reveal(record.positions[:, k - 1], base.embed(record.tokens[:, k - 1]))
                part = slice(example, example + rows)
                torch.testing.assert_close(step.states, fused[part], atol=1e-5, rtol=1e-5)
                torch.testing.assert_close(step.read(record.positions[:, k]), trained[part], atol=1e-5, rtol=1e-5)
                example += rows
    assert example == len(batch)


def test_teacher_draws_stay_in_the_rollouts_top_p_set_at_its_temperature(toy_mdlm):
    """Every token a teacher rollout draws lies in the nucleus of its conditional, computed from scratch: the
    tokens more likely than it (softmax(logits / T), earlier tokens of the step revealed) hold less than top_p."""
    mask_id, temperature, top_p = toy_mdlm.config.mask_token_id, 0.5, 0.6
    base = MaskedDiffusionModel(toy_mdlm, mask_id)
    prompts = torch.randint(1, mask_id, (64, 3), generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    settings = RolloutSettings(tokens_per_step=3, max_new_tokens=6, temperature=temperature, top_p=top_p)
    records = teacher_rollout(base, prompts, None, settings)
    rows = torch.arange(prompts.shape[0])
    for record in records:
        canvas = record.canvas.clone()
        for k in range(record.positions.shape[1]):
            position, token = record.positions[:, k], record.tokens[:, k]
            logits = independent_logits(toy_mdlm, canvas, None, mask_id)[rows, position]
            probabilities = torch.softmax(logits / temperature, dim=-1)
            own = probabilities[rows, token]
            more_likely = (probabilities * (probabilities > own[:, None])).sum(dim=-1)
            assert bool((more_likely < top_p + 1e-9).all()), more_likely.max()
            canvas[rows, position] = token
