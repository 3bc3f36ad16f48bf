"""The joint_sampler trainer under a two-process data-parallel launch (torchrun, the launcher `accelerate launch`
uses; gloo on CPU): one SGD step of the sampler equals one process training on the same global batch, and the
logged ``kl`` and ``kl_marginal`` are those of the whole batch, not of the main process's share.

The teacher rollouts draw tokens; at a rollout temperature of 1e-3 every draw is the base model's argmax, so
both runs see the same trajectories however the random stream is split between processes.

The check runs twice: under DDP and under FSDP2 (accelerate's fully_shard path on CPU, see
``hfplug.testing.distributed``).
"""

from __future__ import annotations

import pytest

from hfplug.testing.distributed import assert_two_processes_match_one

SOURCE = """
import torch
from datasets import Dataset
import hfplug
from hfplug.testing.distributed import exact_sgd_config
from hfplug.testing.models import TINY_CORPUS
from hfplug_diffusion_sampler.tiny_lm import new_tiny_diffusion_lm, train_tokenizer

# Four prompts of at least prompt_length tokens: no padding, so every row's rollout is the same alone or batched.
PROMPTS = Dataset.from_dict({"text": list(TINY_CORPUS[:4])})


def make_trainer(out, **sizes):
    tokenizer = train_tokenizer(list(TINY_CORPUS) * 4, vocab_size=300)
    base = new_tiny_diffusion_lm(tokenizer, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, seed=3)
    torch.manual_seed(3)
    with torch.no_grad():  # wide weights: revealing a token moves the others' conditionals (KL about 0.4)
        for weight in (parameter for parameter in base.parameters() if parameter.dim() > 1):
            weight.normal_(0, 0.3)
    args = exact_sgd_config(
        hfplug.load_config("trainer", "joint_sampler"), out, max_new_tokens=6, prompt_length=4, tokens_per_step=3,
        rollout_temperature=1e-3, sampler_num_attention_heads=2, learning_rate=1.0, **sizes,
    )
    torch.manual_seed(0)  # the sampler's initial weights, the same in every run
    return hfplug.load("trainer", "joint_sampler")(
        model=base.eval(), args=args, train_dataset=PROMPTS, processing_class=tokenizer
    )
"""


@pytest.mark.parametrize("backend", ["ddp", "fsdp2"])
def test_two_processes_match_one_process_on_the_global_batch(tmp_path, backend):
    """FSDP2 shards the sampler (the trainer's model); each process keeps its own full copy of the frozen base."""
    assert_two_processes_match_one(
        SOURCE,
        tmp_path,
        backend=backend,
        per_process={"per_device_train_batch_size": 1, "gradient_accumulation_steps": 2},
        single={"per_device_train_batch_size": 4},
        logged=["loss", "kl", "kl_marginal"],
    )
