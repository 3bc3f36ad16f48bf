"""InfoPO under FSDP2 (accelerate's fully_shard path, two gloo processes on CPU): one SGD step of the sharded
policy, with its reference model prepared by the trainer, equals one process on the same global batch.
(Under DDP, against log-probabilities computed without trl: test_infopo_distributed.py.)"""

from __future__ import annotations

from hfplug.testing.distributed import assert_two_processes_match_one

SOURCE = """
from datasets import Dataset
from hfplug.testing import make_tiny_model, make_tiny_tokenizer
from hfplug.testing.distributed import exact_sgd_config
from hfplug_infopo.config import InfoPOConfig
from hfplug_infopo.trainer import InfoPOTrainer

PROMPTS = ["Question: What is 2 plus 3? Answer:", "Question: Who jumps over the lazy dog? Answer:"] * 2
ROWS = {"prompt": PROMPTS, "chosen": [" 5", " the quick brown fox", " 5", " a fox"],
        "rejected": [" six, I think", " a cat", " 42 is the answer", " the lazy dog jumps"]}


def make_trainer(out, **sizes):
    tokenizer = make_tiny_tokenizer()
    spread = {"initializer_range": 0.5}
    args = exact_sgd_config(InfoPOConfig, out, beta=0.1, learning_rate=1.0, **sizes)
    return InfoPOTrainer(
        make_tiny_model(tokenizer, seed=0, **spread), ref_model=make_tiny_model(tokenizer, seed=1, **spread),
        args=args, train_dataset=Dataset.from_dict(ROWS), processing_class=tokenizer,
    )
"""


def test_fsdp2_on_two_processes_matches_one_process_on_the_global_batch(tmp_path):
    assert_two_processes_match_one(
        SOURCE,
        tmp_path,
        backend="fsdp2",
        per_process={"per_device_train_batch_size": 2},
        single={"per_device_train_batch_size": 4},
        logged=["loss", "rewards/chosen", "rewards/rejected"],
    )
