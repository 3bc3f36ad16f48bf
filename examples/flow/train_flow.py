"""FLOW from Python, without the host: weights from the frozen base model, then weighted SFT.

python examples/flow/train_flow.py            # the offline SmolLM2-135M-Instruct, 10 steps
python examples/flow/train_flow.py --tiny     # a tiny random model, a few seconds
"""

from __future__ import annotations

import argparse

import torch
from hfplug_flow.weighting import compute_flow_weights

import hfplug
from hfplug.datasets_io import load_split
from hfplug.models import load_causal_lm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="use a tiny random model instead of SmolLM2")
    parser.add_argument("--max_steps", type=int, default=10)
    parser.add_argument("--output_dir", default="outputs/flow-example")
    cli = parser.parse_args()

    model, tokenizer = load_causal_lm("tiny" if cli.tiny else "asset:smollm2-135m-instruct")
    dataset = load_split("asset:gsm8k", config=None, split="train").select_columns(["messages"])

    # Step 1, once, before training: the model is still theta_0 here.
    weighted = compute_flow_weights(model, tokenizer, dataset, batch_size=8, max_length=1024)
    weights = sorted(weighted["flow_weight"])
    print(f"FLOW weights: min {weights[0]:.3f}  median {weights[len(weights) // 2]:.3f}  max {weights[-1]:.3f}")

    # Step 2: weighted fine-tuning (the trainer reads the flow_weight column).
    FlowTrainer, FlowConfig = hfplug.load("trainer", "flow"), hfplug.load_config("trainer", "flow")
    args = FlowConfig(
        output_dir=cli.output_dir,
        max_steps=cli.max_steps,
        per_device_train_batch_size=4,
        learning_rate=1e-5,
        max_length=1024,
        logging_steps=2,
        save_strategy="no",
        report_to="none",
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),  # trl's bf16 default fails on CPU
    )
    trainer = FlowTrainer(model, args=args, train_dataset=weighted, processing_class=tokenizer)
    trainer.train()
    for entry in trainer.state.log_history:
        if "flow/weight_mean" in entry:
            print(
                f"step {entry['step']:>3}  loss {entry['loss']:.3f}  mean token weight {entry['flow/weight_mean']:.3f}"
            )


if __name__ == "__main__":
    main()
