"""FLOW under FSDP2 (accelerate's fully_shard path, two gloo processes on CPU): one SGD step on sharded
parameters equals one process on the same global batch. (Under DDP: test_flow_distributed.py.)"""

from __future__ import annotations

from hfplug.testing.distributed import assert_two_processes_match_one

SOURCE = """
from datasets import Dataset
from hfplug.testing import make_tiny_model, make_tiny_tokenizer
from hfplug.testing.distributed import exact_sgd_config
from hfplug_flow.config import FlowConfig
from hfplug_flow.trainer import FlowTrainer
from hfplug_flow.weighting import compute_flow_weights

COMPLETIONS = [" 5", " six, I think", " 5 is the answer", " the quick brown fox"]
DATA = Dataset.from_dict({"prompt": ["Question: 2 plus 3? Answer:"] * 4, "completion": COMPLETIONS})


def make_trainer(out, **sizes):
    tokenizer = make_tiny_tokenizer()
    data = compute_flow_weights(make_tiny_model(tokenizer), tokenizer, DATA)
    args = exact_sgd_config(FlowConfig, out, **sizes)
    return FlowTrainer(make_tiny_model(tokenizer), args=args, train_dataset=data, processing_class=tokenizer)
"""


def test_fsdp2_on_two_processes_matches_one_process_on_the_global_batch(tmp_path):
    assert_two_processes_match_one(
        SOURCE,
        tmp_path,
        backend="fsdp2",
        per_process={"per_device_train_batch_size": 1, "gradient_accumulation_steps": 2},
        single={"per_device_train_batch_size": 4},
        logged=["loss", "flow/weight_mean"],  # the weight mean is over every process's tokens (GlobalStatistics)
    )
