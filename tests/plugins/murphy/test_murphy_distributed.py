"""Murphy under a two-process data-parallel launch (torchrun, the launcher ``accelerate launch`` uses; gloo on
CPU): one SGD step equals one process on the same global batch of four tasks.

Each process grows the trees of its own two tasks, and the tasks are chosen so that the processes' trees differ:
process 0's tasks fail often (seven refinement groups), process 1's rarely (two), so every refinement turn and
every scoring call is padded to a common count on process 1, each process trains on a different number of rows,
and a statistic taken over one process's trees differs from the global one. Checked against one process:
every node's credit and advantage, trl's reward metrics and Murphy's own metrics as logged, the loss and the
parameters after the step. Generation is a scripted stand-in for trl's, behind two greedy tokens the model
itself generates (under FSDP2 from sharded weights, through trl's ``unwrap_model_for_generation``).

The check runs under DDP and under FSDP2 (accelerate's fully_shard path on CPU, see
``hfplug.testing.distributed``): under DDP with ``scale_rewards="batch"`` (the advantages depend on every
process's credits), under FSDP2 with ``loss_type="grpo"`` (a mean over rows, which the processes hold in
different numbers).
"""

from __future__ import annotations

import json

import pytest

from hfplug.testing.distributed import assert_two_processes_match_one

SOURCE = """
import json
from datasets import Dataset
from transformers import TrainerCallback
from hfplug.feedback import GradedCompletion
from hfplug.testing import make_tiny_model, make_tiny_tokenizer
from hfplug.testing.distributed import exact_sgd_config, greedy_tokens
from hfplug_murphy.config import MurphyConfig
from hfplug_murphy.trainer import MurphyTrainer

REFINE_MARK = "Feedback from running it"
ANSWERS = {"add": "return a + b", "neg": "return -x", "mul": "return a * b", "sub": "return a - b"}
# Turn-1 programs per task (position in the sibling group -> text). "add" and "neg" (process 0) fail often,
# "mul" and "sub" (process 1) rarely; "INFRA" is a grading failure (reward None).
TURN_ONE = {
    "add": ["return a + b", "half a + b", "wrong", "wrong again"],
    "neg": ["wrong", "half -x", "nope", "still no"],
    "mul": ["return a * b", "return a * b", "return a * b", "half a*b"],
    "sub": ["return a - b", "INFRA", "wrong", "return a - b"],
}
DATA = Dataset.from_dict({"prompt": [f"Write {name}." for name in ANSWERS], "answer": list(ANSWERS.values())})


class Exact:
    \"\"\"Grading reward: a program solves its task when it ends with the answer (the model's own two tokens
    come first); the feedback names what it got.\"\"\"

    __name__ = "exact"

    def grade(self, prompts, completions, answer, **columns):
        graded = []
        for completion, expected in zip(completions, answer):
            if "INFRA" in completion:
                graded.append(GradedCompletion(None, False, ""))
            elif completion.endswith(expected):
                graded.append(GradedCompletion(1.0, True, "All tests passed.", True))
            else:
                reward = 0.5 if "half" in completion else 0.0
                graded.append(GradedCompletion(reward, False, f"Public test failed: got {completion[-12:]!r}.", False))
        return graded

    def __call__(self, prompts, completions, **columns):
        return [graded.reward for graded in self.grade(prompts, completions, **columns)]


def task_of(text):
    return next(name for name in ANSWERS if f"Write {name}." in text)


def scripted_generation(trainer):
    tokenizer = trainer.processing_class

    def generate(prompt_ids, images, multimodal_fields, num_generations, has_tool_images=False):
        greedy = greedy_tokens(trainer, prompt_ids, 2)  # every process equally often: Murphy pads each turn
        completions = []
        for index, (ids, generated) in enumerate(zip(prompt_ids, greedy)):
            text, k = tokenizer.decode(ids), index % num_generations
            name = task_of(text)
            if REFINE_MARK in text:
                script = ANSWERS[name] if k == 0 and name in ("neg", "mul") else f"still wrong {k}"
            else:
                script = TURN_ONE[name][k]
            script_ids = tokenizer(" " + script, add_special_tokens=False)["input_ids"]
            completions.append(generated + script_ids + [tokenizer.eos_token_id])
        return completions, None

    return generate


class RecordTrees(TrainerCallback):
    \"\"\"Writes every node's credit and advantage of the step's trees (this process's) for the test.\"\"\"

    def __init__(self, trainer, out):
        self.trainer, self.out = trainer, out

    def on_train_end(self, args, state, control, **kwargs):
        nodes = [
            [tree.task_prompt, node.depth, node.group, node.kept, node.reward, node.credit, node.advantage]
            for tree in self.trainer.last_rollout for node in tree.nodes
        ]
        with open(f"{self.out}/trees{args.process_index}.json", "w") as handle:
            json.dump(nodes, handle)
        logs = self.trainer._logs  # trl's completions table (its latest generation_batch_size rows)
        table = {
            "completion": list(logs["completion"]), "advantage": list(logs["advantages"]),
            "turn": list(logs["extra"]["turn"]), "credit": list(logs["extra"]["credit"]),
        }
        with open(f"{self.out}/table{args.process_index}.json", "w") as handle:
            json.dump(table, handle)


def make_trainer(out, **fields):
    tokenizer = make_tiny_tokenizer()
    args = exact_sgd_config(
        MurphyConfig, out, num_generations=4, max_turns=2, max_completion_length=24, beta=0.0, learning_rate=1.0,
        shuffle_dataset=False, **fields,
    )
    trainer = MurphyTrainer(
        make_tiny_model(tokenizer), reward_funcs=[Exact()], args=args, train_dataset=DATA,
        processing_class=tokenizer,
    )
    trainer._generate_single_turn = scripted_generation(trainer)
    trainer.add_callback(RecordTrees(trainer, out))
    return trainer
"""

LOGGED = [
    "loss",
    "reward",
    "reward_std",
    "rewards/exact/mean",
    "rewards/exact/std",
    "frac_reward_zero_std",
    "murphy/solved_turn1",
    "murphy/reward_all_turns",
    "murphy/credit_mean",
    "murphy/tasks_solved",
    "murphy/tree_nodes",
    "murphy/trained_nodes",
    "murphy/refinement_groups",
    "murphy/executions",
    "murphy/generated_tokens",
]


def trees(path):
    return json.loads(path.read_text())


def assert_same_nodes(got, expected):
    """Same nodes in the same order (task, turn, group, kept); reward, credit and advantage equal."""
    assert [row[:4] for row in got] == [row[:4] for row in expected]
    numbers = [[float("nan") if value is None else value for value in row[4:]] for row in got + expected]
    for got_row, expected_row in zip(numbers[: len(got)], numbers[len(got) :], strict=True):
        assert got_row == pytest.approx(expected_row, rel=1e-5, abs=1e-6, nan_ok=True)


# Under DDP: batch scaling (advantages then depend on every process's credits) and trl's default loss, divided by
# every process's tokens. Under FSDP2: group scaling and the grpo loss, a mean over rows, which each process takes
# over its own rows unless Murphy rescales it. The rest of the step (trees, padding, metrics) is the same code.
@pytest.mark.parametrize(
    ("backend", "fields"),
    [
        ("ddp", {"scale_rewards": "batch", "loss_type": "dapo"}),
        ("fsdp2", {"scale_rewards": "group", "loss_type": "grpo"}),
    ],
    ids=["ddp-batch-dapo", "fsdp2-group-grpo"],
)
def test_two_processes_match_one_process_on_the_global_batch(tmp_path, backend, fields):
    ranks = assert_two_processes_match_one(
        SOURCE,
        tmp_path,
        backend=backend,
        per_process={"per_device_train_batch_size": 8, **fields},
        single={"per_device_train_batch_size": 16, **fields},
        # grpo's first loss is the mean of zero-sum advantages, 0 up to rounding: the parameters check that step.
        logged=[name for name in LOGGED if name != "loss" or fields["loss_type"] != "grpo"],
    )
    per_process = [trees(tmp_path / f"trees{rank}.json") for rank in range(2)]
    single = trees(tmp_path / "single" / "trees0.json")
    assert [len(nodes) for nodes in per_process] == [4 * 2 + 4 * 7, 4 * 2 + 4 * 2]  # the processes' trees differ
    assert_same_nodes(per_process[0] + per_process[1], single)
    assert ranks[0]["log"]["murphy/refinement_groups"] == 9
    # The main process's completions table: every process's nodes, row for row the single run's.
    table, expected = trees(tmp_path / "table0.json"), trees(tmp_path / "single" / "table0.json")
    assert table["completion"] == expected["completion"] and table["turn"] == expected["turn"]
    assert set(table["turn"]) == {2} and len(table["completion"]) == 16  # 8 of each process's refinements
    for column in ("advantage", "credit"):
        assert table[column] == pytest.approx(expected[column], rel=1e-5, abs=1e-6, nan_ok=True)
