"""Generate with HiSpec and compare with plain greedy decoding on the same model.

python examples/hispec/hispec_generate.py                       # a tiny early-exit model trained here (~1 min)
python examples/hispec/hispec_generate.py --model PATH          # an early-exit checkpoint (e.g. from
                                                                # examples/hispec/early_exit_smollm2.yaml)
"""

from __future__ import annotations

import argparse
import time

import torch
from datasets import Dataset
from hfplug_hispec.layer_choice import suggest_exit_layers
from transformers import AutoModelForCausalLM, AutoTokenizer

import hfplug
from hfplug.testing import make_tiny_model, make_tiny_tokenizer
from hfplug.testing.models import TINY_CORPUS


def tiny_early_exit_model() -> tuple:
    """An 8-layer toy Llama trained for a minute with the early_exit trainer on a tiny corpus."""
    tokenizer = make_tiny_tokenizer()
    model = make_tiny_model(tokenizer, num_hidden_layers=8, hidden_size=64)
    config = hfplug.load_config("trainer", "early_exit")(
        output_dir="/tmp/hispec-example",
        max_steps=150,
        learning_rate=1e-2,
        per_device_train_batch_size=8,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        max_length=64,
        activation_checkpointing=False,
        disable_tqdm=True,
        logging_steps=50,
    )
    trainer = hfplug.load("trainer", "early_exit")(
        model=model,
        args=config,
        train_dataset=Dataset.from_dict({"text": list(TINY_CORPUS) * 8}),
        processing_class=tokenizer,
    )
    trainer.train()
    return trainer.model.eval(), tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="early-exit checkpoint folder (default: train a toy one)")
    parser.add_argument("--prompt", default="Once upon a time")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    options = parser.parse_args()
    if options.model:
        tokenizer = AutoTokenizer.from_pretrained(options.model)
        model = AutoModelForCausalLM.from_pretrained(options.model).eval()
    else:
        model, tokenizer = tiny_early_exit_model()

    choice = suggest_exit_layers(model, tokenizer, [options.prompt], max_new_tokens=24)
    print(
        f"suggested l_d={choice.draft_layer}, l_i={choice.verify_layer}; agreement per exit:",
        {layer: round(rate, 2) for layer, rate in choice.agreement.items()},
    )

    inputs = tokenizer(options.prompt, return_tensors="pt")
    model.generate(**inputs, do_sample=False, max_new_tokens=2)  # warm-up, so the timings compare decoding
    started = time.perf_counter()
    plain = model.generate(**inputs, do_sample=False, max_new_tokens=options.max_new_tokens)
    plain_seconds = time.perf_counter() - started
    started = time.perf_counter()
    output = model.generate(
        **inputs,
        custom_generate=hfplug.load("generation", "hispec"),
        trust_remote_code=True,
        do_sample=False,
        max_new_tokens=options.max_new_tokens,
        draft_layer=choice.draft_layer,
        verify_layer=choice.verify_layer,
        return_dict_in_generate=True,
    )
    hispec_seconds = time.perf_counter() - started
    print("text:", tokenizer.decode(output.sequences[0, inputs["input_ids"].shape[1] :]))
    print("identical to plain greedy:", torch.equal(output.sequences, plain))
    print(f"plain greedy {plain_seconds:.2f} s, hispec {hispec_seconds:.2f} s")
    print("statistics:", output.speculation_stats)


if __name__ == "__main__":
    main()
