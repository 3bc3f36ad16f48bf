"""FLOW's weighting cost: the one-off no-grad pass of the frozen model against one epoch of training.

    python benchmarks/flow_weighting_cost.py                   # CPU or the local GPU, a small Llama
    python benchmarks/flow_weighting_cost.py --rows 256 --hidden 512 --layers 8

Prints the forward passes per sample the weighting made (counted by a hook; the spec allows at
most one), the weighting time, the time of one FlowTrainer epoch over the same data and batch
size, and their ratio. Weighting and training alternate over the repetitions; medians are shown.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from datasets import Dataset
from hfplug_flow.config import FlowConfig
from hfplug_flow.trainer import FlowTrainer
from hfplug_flow.weighting import compute_flow_weights

from hfplug.testing import TINY_CORPUS, make_tiny_model, make_tiny_tokenizer


def make_dataset(rows: int) -> Dataset:
    prompts = [f"Q{i}: {TINY_CORPUS[i % len(TINY_CORPUS)]}" for i in range(rows)]
    completions = [" " + " ".join(TINY_CORPUS[(i + k) % len(TINY_CORPUS)] for k in range(1, 3)) for i in range(rows)]
    return Dataset.from_dict({"prompt": prompts, "completion": completions})


def synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def new_model(tokenizer, cli):
    model = make_tiny_model(tokenizer, hidden_size=cli.hidden, num_hidden_layers=cli.layers, num_attention_heads=8)
    return model.to("cuda" if torch.cuda.is_available() else "cpu")


def time_weighting(tokenizer, dataset, cli) -> tuple[float, float, Dataset]:
    """Seconds for the weighting pass, forwards per sample, and the weighted dataset."""
    model = new_model(tokenizer, cli)
    rows_forwarded = []
    model.register_forward_pre_hook(lambda m, a, k: rows_forwarded.append(k["input_ids"].shape[0]), with_kwargs=True)
    synchronize()
    start = time.perf_counter()
    weighted = compute_flow_weights(model, tokenizer, dataset, batch_size=cli.batch, max_length=cli.max_length)
    synchronize()
    return time.perf_counter() - start, sum(rows_forwarded) / len(dataset), weighted


def time_epoch(tokenizer, weighted, cli) -> float:
    """Seconds of one training epoch (trainer.train's own runtime, setup excluded)."""
    on_gpu = torch.cuda.is_available()
    args = FlowConfig(
        output_dir="/tmp/hfplug-bench-flow",
        num_train_epochs=1,
        per_device_train_batch_size=cli.batch,
        learning_rate=1e-5,
        max_length=cli.max_length,
        report_to="none",
        save_strategy="no",
        logging_steps=10_000,
        use_cpu=not on_gpu,
        bf16=on_gpu and torch.cuda.is_bf16_supported(),
        activation_checkpointing=False,
        dataloader_num_workers=0,
        disable_tqdm=True,
        seed=0,
    )
    trainer = FlowTrainer(new_model(tokenizer, cli), args=args, train_dataset=weighted, processing_class=tokenizer)
    return trainer.train().metrics["train_runtime"]


def main() -> None:
    parser = argparse.ArgumentParser(description="FLOW weighting time / one training epoch")
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max_length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    cli = parser.parse_args()
    torch.set_num_threads(cli.threads)

    tokenizer = make_tiny_tokenizer()
    dataset = make_dataset(cli.rows)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({cli.threads} threads)"
    print(f"device: {device}; Llama hidden {cli.hidden} x {cli.layers} layers, {cli.rows} samples, batch {cli.batch}")
    weighting_times, epoch_times, forwards = [], [], []
    for _ in range(cli.repeats):
        seconds, per_sample, weighted = time_weighting(tokenizer, dataset, cli)
        weighting_times.append(seconds)
        forwards.append(per_sample)
        epoch_times.append(time_epoch(tokenizer, weighted, cli))
    weighting, epoch = statistics.median(weighting_times), statistics.median(epoch_times)
    print(f"forward passes per sample in the weighting: {max(forwards):.2f} (spec: at most 1)")
    print(f"weighting {weighting:.2f} s, one training epoch {epoch:.2f} s, ratio {weighting / epoch:.3f}")


if __name__ == "__main__":
    main()
