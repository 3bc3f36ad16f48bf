"""The distillation half of the early-exit loss against a from-scratch computation on a padded
batch: the teacher (the full model's next-token distribution) is a constant target, so no gradient
reaches what only the teacher reads, and the soft term is averaged over the scored positions only
(prompt and padding positions, labelled -100, are not targets)."""

from __future__ import annotations

import pytest
import torch
from hfplug_hispec.early_exit.objective import EarlyExitObjective

from hfplug.testing import make_tiny_model

NUM_LAYERS = 4
EXIT_WEIGHTS = {1: 0.25, 3: 0.75}
PROMPT_TOKENS = 3  # the first tokens of every row are prompt: not scored


@pytest.fixture(scope="module")
def model(tokenizer, device):
    model = make_tiny_model(tokenizer, num_hidden_layers=NUM_LAYERS, seed=1).to(device, torch.float64).eval()
    with torch.no_grad():
        # A final norm that is not the identity (Head(h) is not lm_head(h)), and a head large enough
        # that the predictions differ from position to position, so which positions are scored shows.
        model.model.norm.weight.copy_(torch.linspace(0.5, 1.5, model.config.hidden_size, dtype=torch.float64))
        model.lm_head.weight.mul_(30.0)
    return model


@pytest.fixture(scope="module")
def batch(tokenizer, device):
    """Two right-padded rows (trl's collator pads on the right) with the prompt and padding unscored."""
    texts = ["the cat sat on the mat and the dog sat on the log", "once upon a time"]
    encoded = tokenizer(texts, return_tensors="pt", padding=True)
    ids, mask = encoded.input_ids.to(device), encoded.attention_mask.to(device)
    assert bool((mask == 0).any()), "the test needs a padded row"
    labels = ids.masked_fill(mask == 0, -100)
    labels[:, :PROMPT_TOKENS] = -100
    return ids, mask, labels


def _objective_loss(model, ids, mask, labels, distillation):
    objective = EarlyExitObjective.for_model(
        model, list(EXIT_WEIGHTS), list(EXIT_WEIGHTS.values()), distillation=distillation
    )
    with objective.capture(model) as states:
        model(input_ids=ids, attention_mask=mask)
    return objective.exit_loss(model, states, labels[:, 1:])


def _reference_loss(model, ids, mask, labels, distillation):
    """exit_l = (1 - d) CE(labels, Head(h_l)) + d CE(p_L, Head(h_l)), each a mean over scored positions,
    p_L the full model's softmax taken as a constant."""
    output = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    teacher = torch.softmax(output.logits[:, :-1], dim=-1).detach()
    targets = labels[:, 1:]
    scored = targets != -100
    total = torch.zeros((), dtype=torch.float64, device=ids.device)
    for layer, weight in EXIT_WEIGHTS.items():
        head = model.lm_head(model.model.norm(output.hidden_states[layer]))[:, :-1]
        log_probabilities = torch.log_softmax(head, dim=-1)
        hard = -log_probabilities.gather(-1, targets.clamp(min=0)[..., None])[..., 0][scored].mean()
        soft = -(teacher * log_probabilities).sum(-1)[scored].mean()
        total = total + weight * ((1 - distillation) * hard + distillation * soft)
    return total


def _gradients(model, loss):
    model.zero_grad(set_to_none=True)
    loss.backward()
    return {
        name: torch.zeros_like(p) if p.grad is None else p.grad.detach().clone() for name, p in model.named_parameters()
    }


@pytest.mark.parametrize("distillation", [0.5, 1.0])
def test_distilled_exit_loss_and_its_gradients_match_a_from_scratch_computation(distillation, model, batch):
    ids, mask, labels = batch
    ours = _objective_loss(model, ids, mask, labels, distillation)
    reference = _reference_loss(model, ids, mask, labels, distillation)
    torch.testing.assert_close(ours.double(), reference, rtol=1e-6, atol=1e-8)
    ours_gradients, reference_gradients = _gradients(model, ours), _gradients(model, reference)
    for name, gradient in reference_gradients.items():
        torch.testing.assert_close(ours_gradients[name].double(), gradient, rtol=1e-4, atol=1e-6, msg=name)


def test_the_teacher_passes_no_gradient(model, batch):
    """The last layer feeds only the teacher (exits read layers 1..L-1): it must get no gradient at all."""
    ids, mask, labels = batch
    _objective_loss(model, ids, mask, labels, 1.0).backward()
    last_layer = model.model.layers[-1]
    assert all(p.grad is None or not bool(p.grad.any()) for p in last_layer.parameters())
    assert model.model.layers[0].self_attn.q_proj.weight.grad.abs().sum() > 0  # the students do learn
    model.zero_grad(set_to_none=True)


def test_unscored_positions_do_not_enter_the_soft_term(model, batch):
    """Changing what the prompt and padding positions are labelled with (as long as it stays -100)
    changes nothing; scoring them too changes the distillation loss."""
    ids, mask, labels = batch
    with torch.no_grad():
        masked = _objective_loss(model, ids, mask, labels, 1.0)
        everything = _objective_loss(model, ids, mask, ids.clone(), 1.0)
        reference_everything = _reference_loss(model, ids, mask, ids.clone(), 1.0)
    torch.testing.assert_close(everything.double(), reference_everything, rtol=1e-6, atol=1e-8)
    assert abs(float(masked) - float(everything)) > 0.1
