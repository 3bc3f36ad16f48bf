"""The conftest the check writes next to trl's test file in the work dir (never inside this repository).

It makes the Hub ids resolve to the stand-ins (the work dir's ``hub/`` is the current directory;
``load_dataset("trl-internal-testing/zen", ...)`` reads the rebuilt zen), records every trained
trainer's ``state.log_history`` to ``$LOGDIR/<test>.json``, runs both trainers on CPU in fp32
(``GRPOConfig`` defaults to bf16, which a machine without a GPU refuses), and with ``MURPHY=1``
puts ``MurphyTrainer`` and ``MurphyConfig(max_turns=1)`` in place of ``GRPOTrainer`` and ``GRPOConfig``.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

import datasets
import torch
import transformers
from trl import GRPOConfig

HUB = Path(__file__).resolve().parent.parent / "hub"
os.chdir(HUB)
torch.set_num_threads(1)
_load_dataset = datasets.load_dataset
_train = transformers.Trainer.train


def offline_load_dataset(path, name=None, split=None, streaming=False, **kwargs):
    if path != "trl-internal-testing/zen":
        return _load_dataset(path, name, split=split, streaming=streaming, **kwargs)
    dataset = datasets.load_from_disk(str(HUB / path / name))
    if split is not None:
        dataset = dataset[split]
    if streaming:
        if split is not None:
            return dataset.to_iterable_dataset()
        return datasets.IterableDatasetDict({key: value.to_iterable_dataset() for key, value in dataset.items()})
    return dataset


def recording_train(self, *args, **kwargs):
    output = _train(self, *args, **kwargs)
    if os.environ.get("LOGDIR"):
        test = os.environ.get("PYTEST_CURRENT_TEST", "unknown").split(" ")[0].split("::", 1)[-1].replace("/", "_")
        folder = Path(os.environ["LOGDIR"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{test}.json").write_text(json.dumps(self.state.log_history, default=str))
    return output


transformers.Trainer.train = recording_train


@dataclass
class CpuGRPOConfig(GRPOConfig):
    use_cpu: bool = True
    bf16: bool = False


if os.environ.get("MURPHY") == "1":
    from hfplug_murphy import MurphyConfig, MurphyTrainer

    @dataclass
    class MurphyOneTurnConfig(MurphyConfig):
        max_turns: int = 1
        use_cpu: bool = True
        bf16: bool = False


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        item.module.load_dataset = offline_load_dataset
        item.module.GRPOConfig = CpuGRPOConfig
        if os.environ.get("MURPHY") == "1":
            item.module.GRPOTrainer = MurphyTrainer
            item.module.GRPOConfig = MurphyOneTurnConfig
