"""InfoPO from Python: preference-tune a model and print what it logged.

python examples/infopo/train_infopo.py            # the offline SmolLM2-135M-Instruct, TruthfulQA-MC1 pairs, 10 steps
python examples/infopo/train_infopo.py --tiny     # a tiny random model, a few seconds
"""

from __future__ import annotations

import argparse

import torch
from datasets import Dataset
from make_truthfulqa_pairs import truthfulqa_pairs

import hfplug
from hfplug.models import load_causal_lm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="use a tiny random model instead of SmolLM2")
    parser.add_argument("--max_steps", type=int, default=10)
    parser.add_argument("--variant", default="nwj", choices=["nwj", "shifted", "ukl"])
    parser.add_argument("--output_dir", default="outputs/infopo-example")
    cli = parser.parse_args()

    model, tokenizer = load_causal_lm("tiny" if cli.tiny else "asset:smollm2-135m-instruct")
    # 40 of the 409 pairs: the reference pass and 10 steps take minutes on a laptop CPU
    dataset = Dataset.from_list(truthfulqa_pairs()).shuffle(seed=0).select(range(40))

    InfoPOTrainer = hfplug.load("trainer", "infopo")  # the class, found by name
    InfoPOConfig = hfplug.load_config("trainer", "infopo")
    args = InfoPOConfig(
        output_dir=cli.output_dir,
        max_steps=cli.max_steps,
        per_device_train_batch_size=4,
        learning_rate=1e-3 if cli.tiny else 1e-5,
        max_length=128,
        logging_steps=2,
        save_strategy="no",
        report_to="none",
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),  # trl's bf16 default fails on CPU
        precompute_ref_log_probs=True,  # the reference pass runs once; no second model in memory
        infopo_variant=cli.variant,
        beta=0.1,
    )
    trainer = InfoPOTrainer(model, args=args, train_dataset=dataset, processing_class=tokenizer)
    trainer.train()
    for entry in trainer.state.log_history:
        if "logps/chosen_per_token" in entry:
            print(
                f"step {entry['step']:>3}  loss {entry['loss']:.4f}  margin {entry['rewards/margins']:+.4f}  "
                f"accuracy {entry['rewards/accuracies']:.2f}  "
                f"log-lik/token chosen {entry['logps/chosen_per_token']:.4f} "
                f"rejected {entry['logps/rejected_per_token']:.4f}"
            )
    trainer.save_model(cli.output_dir)


if __name__ == "__main__":
    main()
