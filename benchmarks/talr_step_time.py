"""TALR step time against trl's SFTTrainer on the same model, data and batch (goal: ratio <= 1.05).

    python benchmarks/talr_step_time.py                  # CPU or the local GPU, a small Llama
    python benchmarks/talr_step_time.py --hidden 512 --layers 8 --batch 16

Both trainers are built on identical copies of the model and fed the same collated batches.
One "step" is what differs between them: collecting the optimizer step's micro-batches
(``get_batch_samples``, where ``tau_scope='step'`` does its extra no-grad pass) plus
``training_step`` (forward, loss, backward) on each. The optimizer update is the same for both
and left out, which makes the ratio stricter, not looser. SFT and TALR steps alternate one by
one (and take turns going first), so load changes on a shared machine hit both; the ratio
printed is the median over steps of TALR time / SFT time on the same batch, after warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from datasets import Dataset
from hfplug_talr.config import TALRConfig
from hfplug_talr.trainer import TALRTrainer
from trl import SFTConfig, SFTTrainer

from hfplug.testing import TINY_CORPUS, make_tiny_model, make_tiny_tokenizer


def make_dataset(rows: int) -> Dataset:
    prompts = [f"Q{i}: {TINY_CORPUS[i % len(TINY_CORPUS)]}" for i in range(rows)]
    completions = [" " + " ".join(TINY_CORPUS[(i + k) % len(TINY_CORPUS)] for k in range(1, 3)) for i in range(rows)]
    return Dataset.from_dict({"prompt": prompts, "completion": completions})


def build(trainer_class, config_class, tokenizer, dataset, cli, **fields):
    on_gpu = torch.cuda.is_available()
    model = make_tiny_model(tokenizer, hidden_size=cli.hidden, num_hidden_layers=cli.layers, num_attention_heads=8)
    args = config_class(
        output_dir="/tmp/hfplug-bench-talr",
        per_device_train_batch_size=cli.batch,
        max_length=cli.max_length,
        report_to="none",
        use_cpu=not on_gpu,
        bf16=on_gpu and torch.cuda.is_bf16_supported(),
        activation_checkpointing=False,
        dataloader_num_workers=0,
        seed=0,
        **fields,
    )
    trainer = trainer_class(model, args=args, train_dataset=dataset, processing_class=tokenizer)
    trainer.model.to(args.device)
    return trainer


def one_step(trainer, batches: list[dict]) -> float:
    """Seconds for get_batch_samples + training_step on every micro-batch of one optimizer step."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    samples, num_items = trainer.get_batch_samples(iter(batches), len(batches), trainer.args.device)
    for inputs in samples:
        trainer.training_step(trainer.model, inputs, num_items)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    trainer.model.zero_grad(set_to_none=True)
    return elapsed


def compare(label: str, tokenizer, dataset, cli, talr_fields: dict, accumulation: int) -> float:
    sft = build(SFTTrainer, SFTConfig, tokenizer, dataset, cli, gradient_accumulation_steps=accumulation)
    talr = build(
        TALRTrainer, TALRConfig, tokenizer, dataset, cli, gradient_accumulation_steps=accumulation, **talr_fields
    )
    loader = list(sft.get_train_dataloader())
    steps = [loader[i : i + accumulation] for i in range(0, len(loader) - accumulation + 1, accumulation)]
    sft_times, talr_times = [], []
    for index in range(cli.warmup + cli.steps):
        batches = steps[index % len(steps)]
        # Alternate which trainer goes first, so neither always runs on a warmer cache.
        if index % 2 == 0:
            sft_time, talr_time = one_step(sft, batches), one_step(talr, batches)
        else:
            talr_time, sft_time = one_step(talr, batches), one_step(sft, batches)
        if index >= cli.warmup:
            sft_times.append(sft_time)
            talr_times.append(talr_time)
    sft_median, talr_median = statistics.median(sft_times), statistics.median(talr_times)
    # Each pair ran back to back on the same batch; the median of their ratios cancels slow load drift.
    ratio = statistics.median(t / s for t, s in zip(talr_times, sft_times, strict=True))
    print(
        f"{label}: SFT {sft_median * 1000:.1f} ms/step, TALR {talr_median * 1000:.1f} ms/step, "
        f"ratio (median of paired ratios) {ratio:.3f}"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description="TALR / SFT step-time ratio")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max_length", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per trainer")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    cli = parser.parse_args()
    torch.set_num_threads(cli.threads)

    tokenizer = make_tiny_tokenizer()
    dataset = make_dataset(cli.batch * 16)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({cli.threads} threads)"
    print(f"device: {device}; Llama hidden {cli.hidden} x {cli.layers} layers, batch {cli.batch}")
    compare("default (dynamic tau, micro_batch scope)", tokenizer, dataset, cli, {}, 1)
    compare("fixed tau", tokenizer, dataset, cli, {"tau": 1.0}, 1)
    compare("tau_scope=step, gradient_accumulation_steps=2", tokenizer, dataset, cli, {"tau_scope": "step"}, 2)


if __name__ == "__main__":
    main()
