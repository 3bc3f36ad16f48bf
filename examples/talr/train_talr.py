"""TALR from Python: fine-tune with token-adaptive loss reweighting and print what it logged.

python examples/talr/train_talr.py            # the offline SmolLM2-135M-Instruct, 10 steps
python examples/talr/train_talr.py --tiny     # a tiny random model, a few seconds
"""

from __future__ import annotations

import argparse

import torch

import hfplug
from hfplug.datasets_io import load_split
from hfplug.models import load_causal_lm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="use a tiny random model instead of SmolLM2")
    parser.add_argument("--max_steps", type=int, default=10)
    parser.add_argument("--output_dir", default="outputs/talr-example")
    cli = parser.parse_args()

    model, tokenizer = load_causal_lm("tiny" if cli.tiny else "asset:smollm2-135m-instruct")
    dataset = load_split("asset:gsm8k", config=None, split="train").select_columns(["messages"])

    TALRTrainer = hfplug.load("trainer", "talr")  # the class, found by name
    TALRConfig = hfplug.load_config("trainer", "talr")
    args = TALRConfig(
        output_dir=cli.output_dir,
        max_steps=cli.max_steps,
        per_device_train_batch_size=4,
        learning_rate=1e-5,
        max_length=1024,
        logging_steps=2,
        save_strategy="no",
        report_to="none",
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),  # trl's bf16 default fails on CPU
        tau=None,  # batch median, recomputed every step
        w_min=0.01,
    )
    trainer = TALRTrainer(model, args=args, train_dataset=dataset, processing_class=tokenizer)
    trainer.train()
    for entry in trainer.state.log_history:
        if "talr/tau" in entry:
            print(
                f"step {entry['step']:>3}  loss {entry['loss']:.3f}  tau {entry['talr/tau']:.3f}  "
                f"weights mean {entry['talr/weight_mean']:.3f} min {entry['talr/weight_min']:.3f} "
                f"floored {entry['talr/floored_fraction']:.1%}"
            )


if __name__ == "__main__":
    main()
