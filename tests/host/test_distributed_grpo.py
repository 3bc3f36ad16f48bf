"""trl's GRPO with the built-in gsm8k_answer reward under a two-process data-parallel launch (torchrun, the
launcher `accelerate launch` uses; gloo on CPU): one SGD step equals one process on the same global batch.

Completions come from a ``rollout_func`` (trl's hook for custom generation): three tokens the model generates
greedily (under FSDP2 from sharded weights, through trl's unwrap_model_for_generation), then a scripted answer.
Sampled completions of a tiny random model would all score 0 (no advantage, no step) and would differ with how
the random stream is split between processes. Everything after generation is trl's and ours as shipped: rewards
on each process, gathered for the group advantages, the token-normalised loss, the logged reward.

The check runs twice: under DDP and under FSDP2 (accelerate's fully_shard path on CPU, see
``hfplug.testing.distributed``).
"""

from __future__ import annotations

import pytest

from hfplug.testing.distributed import assert_two_processes_match_one

SOURCE = """
import os
from collections import defaultdict
from datasets import Dataset
import hfplug
from hfplug.testing import make_tiny_model, make_tiny_tokenizer
from hfplug.testing.distributed import exact_sgd_config, greedy_tokens

os.environ["TRL_EXPERIMENTAL_SILENCE"] = "1"
PROMPTS = {"What is 2 + 3?": "5", "What is 4 + 4?": "8"}
# Per prompt, the two members of its group: one right, one wrong, of different lengths.
COMPLETIONS = {
    "What is 2 + 3?": [" 2 plus 3 is 5, so #### 5", " I think 6"],
    "What is 4 + 4?": [" 8", " it is 9, or maybe 10 or so"],
}
DATA = Dataset.from_dict({"prompt": list(PROMPTS), "answer": list(PROMPTS.values())})


def scripted_rollout(prompts, trainer):
    tokenizer = trainer.processing_class
    prompt_ids = [tokenizer(prompt, add_special_tokens=False)["input_ids"] for prompt in prompts]
    greedy = greedy_tokens(trainer, prompt_ids, 3)  # every process generates as often, as FSDP's gathers need
    seen = defaultdict(int)
    completion_ids = []
    for prompt, generated in zip(prompts, greedy):
        text = COMPLETIONS[prompt][seen[prompt] % 2]  # its final number decides the reward
        seen[prompt] += 1
        answer = tokenizer(text, add_special_tokens=False)["input_ids"]
        completion_ids.append(generated + answer + [tokenizer.eos_token_id])
    return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": None}


def make_trainer(out, **sizes):
    tokenizer = make_tiny_tokenizer()
    args = exact_sgd_config(
        hfplug.load_config("trainer", "grpo"), out, num_generations=2, max_completion_length=16, beta=0.0,
        learning_rate=1.0, **sizes,
    )
    return hfplug.load("trainer", "grpo")(
        model=make_tiny_model(tokenizer), reward_funcs=[hfplug.load("reward", "gsm8k_answer")], args=args,
        train_dataset=DATA, processing_class=tokenizer, rollout_func=scripted_rollout,
    )
"""


@pytest.mark.parametrize("backend", ["ddp", "fsdp2"])
def test_two_processes_match_one_process_on_the_global_batch(tmp_path, backend):
    ranks = assert_two_processes_match_one(
        SOURCE,
        tmp_path,
        backend=backend,
        per_process={"per_device_train_batch_size": 2},
        single={"per_device_train_batch_size": 4},
        logged=["loss", "reward", "reward_std", "completions/mean_length"],
    )
    assert ranks[0]["log"]["reward"] == 0.5  # one right answer in each group of two
