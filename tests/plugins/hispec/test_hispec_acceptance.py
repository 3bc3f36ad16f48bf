"""The acceptance rules on their own, against their definitions: greedy keeps the longest prefix that
matches the target's argmax and adds the target's next token; sampling (Leviathan et al.) keeps a
candidate x drawn from q with probability min(1, p(x)/q(x)), replaces the first rejected one by a draw
from normalise(max(0, p - q)), adds a bonus from the next target row when all survive, and hands the
level above the target rows of every emitted position, so that each emitted token is distributed as p."""

from __future__ import annotations

import math

import pytest
import torch

from .conftest import chi_square_p_value

# A target p and a proposal q that differ everywhere (p is 0 at the last token, q is not).
P = torch.tensor([0.10, 0.40, 0.20, 0.30, 0.00], dtype=torch.float64)
Q = torch.tensor([0.30, 0.10, 0.40, 0.10, 0.10], dtype=torch.float64)
BONUS = torch.tensor([0.05, 0.05, 0.10, 0.20, 0.60], dtype=torch.float64)
SAMPLES = 20_000


@pytest.fixture(scope="module")
def acceptance():
    # The strategy folder is plain files (transformers loads it by path); inside the installed package
    # it is importable as a namespace module, which is also what mutation testing needs.
    from hfplug_hispec.strategies.hispec.custom_generate import acceptance

    return acceptance


def _logits(*rows: torch.Tensor) -> torch.Tensor:
    return torch.stack([row.log() for row in rows])  # softmax(log p) = p, and log 0 = -inf stays 0


def test_greedy_keeps_the_matching_prefix_and_adds_the_targets_next_token(acceptance):
    chooser = acceptance.GreedyChooser()
    # The target's argmax per row: 2, 4, 1, 3.
    target = torch.tensor([[0.0, 0, 5, 0, 0], [0, 0, 0, 0, 5], [0, 5, 0, 0, 0], [0, 0, 0, 5, 0]])
    assert chooser.verify([2, 4, 1], [None] * 3, target) == (3, 3, [None] * 4)  # all kept, the bonus is 3
    assert chooser.verify([2, 4, 0], [None] * 3, target) == (2, 1, [None] * 3)  # the third corrected to 1
    assert chooser.verify([2, 0, 1], [None] * 3, target) == (1, 4, [None] * 2)  # a later match does not count
    assert chooser.verify([3, 4, 1], [None] * 3, target) == (0, 2, [None])
    assert chooser.verify([], [], target[:1]) == (0, 2, [None])
    assert chooser.pick_rows(target) == [(2, None), (4, None), (1, None), (3, None)]


def test_sampling_picks_from_the_warped_softmax(acceptance):
    torch.manual_seed(0)
    chooser = acceptance.SamplingChooser(lambda logits: logits / 0.5)  # temperature 0.5: p^2, normalised
    logits = _logits(P, Q)
    picked = chooser.pick_rows(logits)
    for (token, probabilities), row in zip(picked, (P, Q), strict=True):
        torch.testing.assert_close(probabilities, row**2 / (row**2).sum())
        assert probabilities[token] > 0
    counts = torch.zeros(5, dtype=torch.float64)
    for _ in range(4000):
        counts[chooser.pick_rows(_logits(P))[0][0]] += 1
    assert chi_square_p_value(counts, P**2 / (P**2).sum()) > 1e-3


def _emitted_first_tokens(chooser, samples: int) -> tuple[torch.Tensor, int, torch.Tensor]:
    """Counts of the first emitted token (the kept candidate or its replacement), how often the
    candidate was kept, and counts of the bonus token on those occasions."""
    first, bonus = torch.zeros(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)
    kept = 0
    logits = _logits(P, BONUS)
    for candidate in torch.multinomial(Q, samples, replacement=True).tolist():
        accepted, token, rows = chooser.verify([candidate], [Q], logits)
        assert len(rows) == accepted + 1
        if accepted:
            kept += 1
            first[candidate] += 1
            bonus[token] += 1
        else:
            first[token] += 1
    return first, kept, bonus


def test_speculative_sampling_emits_the_targets_distribution(acceptance):
    torch.manual_seed(0)
    chooser = acceptance.SamplingChooser(lambda logits: logits)
    first, kept, bonus = _emitted_first_tokens(chooser, SAMPLES)
    assert first[4] == 0  # p(4) = 0: never emitted, although q proposes it a tenth of the time
    assert chi_square_p_value(first, P) > 1e-3
    assert chi_square_p_value(first, Q) < 1e-6
    # A candidate survives with probability sum_x min(p(x), q(x)) = 0.1 + 0.1 + 0.2 + 0.1 + 0 = 0.5.
    acceptance_rate = float(torch.minimum(P, Q).sum())
    assert abs(kept / SAMPLES - acceptance_rate) < 4 * math.sqrt(acceptance_rate * (1 - acceptance_rate) / SAMPLES)
    assert chi_square_p_value(bonus, BONUS) > 1e-3


def test_a_rejected_candidate_is_replaced_from_the_residual(acceptance):
    """Candidate 4 has p = 0: always rejected, and the replacement follows max(0, p - q) normalised,
    here (0, 0.3, 0, 0.2, 0) / 0.5."""
    torch.manual_seed(1)
    chooser = acceptance.SamplingChooser(lambda logits: logits)
    counts = torch.zeros(5, dtype=torch.float64)
    for _ in range(4000):
        accepted, token, rows = chooser.verify([4], [Q], _logits(P, BONUS))
        assert accepted == 0 and len(rows) == 1
        torch.testing.assert_close(rows[0], P)
        counts[token] += 1
    residual = (P - Q).clamp(min=0)
    assert counts[0] == counts[2] == counts[4] == 0
    assert chi_square_p_value(counts, residual / residual.sum()) > 1e-3


def test_the_rows_handed_up_are_the_targets_of_every_emitted_position(acceptance):
    """Two candidates: the first is certain to survive (p >= q there), the second certain to fail
    (p = 0 there): one kept, and the level above gets the first two target rows."""
    torch.manual_seed(2)
    chooser = acceptance.SamplingChooser(lambda logits: logits)
    second_target = torch.tensor([0.0, 0.0, 0.0, 1.0, 0.0], dtype=torch.float64)  # the residual is all on 3
    accepted, token, rows = chooser.verify([1, 2], [Q, Q], _logits(P, second_target, BONUS))
    assert (accepted, token, len(rows)) == (1, 3, 2)
    torch.testing.assert_close(torch.stack(rows), torch.stack([P, second_target]))
    # Both certain to survive (p >= q at 1 and 3): all three target rows go up, the bonus drawn from the last.
    bonus = torch.zeros(5, dtype=torch.float64)
    for _ in range(2000):
        accepted, token, rows = chooser.verify([1, 3], [Q, Q], _logits(P, second_target, BONUS))
        assert (accepted, len(rows)) == (2, 3)
        bonus[token] += 1
    torch.testing.assert_close(torch.stack(rows), torch.stack([P, second_target, BONUS]))
    assert chi_square_p_value(bonus, BONUS) > 1e-3


def test_equal_distributions_accept_every_candidate(acceptance):
    torch.manual_seed(3)
    chooser = acceptance.SamplingChooser(lambda logits: logits)
    for candidate in torch.multinomial(P, 200, replacement=True).tolist():
        assert chooser.verify([candidate], [P], _logits(P, BONUS))[0] == 1


def test_sampling_from_a_single_possible_token(acceptance):
    """top_k=1 (or a peaked temperature) leaves one token with all the mass: sampling must still work."""
    chooser = acceptance.SamplingChooser(lambda logits: logits)
    one_hot = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    picked = chooser.pick_rows(one_hot.log())
    assert [token for token, _ in picked] == [1, 2]
    torch.testing.assert_close(torch.stack([row for _, row in picked]), one_hot)
