"""The toy experiment: does the chosen log-likelihood fall under DPO and not under InfoPO?

A tiny random Llama (``hfplug.testing``) is first fine-tuned with SFT on both responses of every pair (so
it starts, like an instruct model, assigning both a reasonable likelihood); that model is the reference.
Then each method trains a copy of it on the same pairs with the same budget, and a probe scores the
chosen and rejected completions of the training pairs every few steps. Repeated over seeds (data and
initialisation), with bootstrap intervals over seeds.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from datasets import Dataset

from benchmarks.infopo.methods import DPO, INFOPO, INFOPO_SHIFTED, INFOPO_UKL, Method, build_trainer, shared_fields
from benchmarks.infopo.pairs import toy_pairs
from benchmarks.infopo.probe import LikelihoodProbe
from benchmarks.infopo.sizes import Sizes
from benchmarks.infopo.stats import bootstrap, mean

TOY_METHODS = (DPO, INFOPO, INFOPO_SHIFTED, INFOPO_UKL)
WARMUP_STEPS = 30
BATCH = 8


def warmed_up_model(seed: int, pairs: dict[str, list[str]], workdir: str) -> tuple[dict[str, torch.Tensor], Any]:
    """The weights of a tiny Llama after SFT on the chosen and the rejected completions (the shared reference).

    Weights, not the model: trl patches the forward of a model it trains, and a deep copy of a patched model
    would still run the original's plain forward (the patch closes over the original's bound method).
    """
    from trl import SFTConfig, SFTTrainer

    from hfplug.testing import make_tiny_model, make_tiny_tokenizer

    tokenizer = make_tiny_tokenizer()
    model = make_tiny_model(tokenizer, seed=seed, hidden_size=64)
    rows = {
        "prompt": pairs["prompt"] * 2,
        "completion": pairs["chosen"] + pairs["rejected"],
    }
    fields = shared_fields(workdir, max_steps=WARMUP_STEPS, per_device_train_batch_size=BATCH, learning_rate=3e-3)
    fields.pop("precompute_ref_log_probs")
    trainer = SFTTrainer(
        model, args=SFTConfig(**fields), train_dataset=Dataset.from_dict(rows), processing_class=tokenizer
    )
    trainer.train()
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}, tokenizer


def model_from(weights: dict[str, torch.Tensor], tokenizer: Any) -> Any:
    from hfplug.testing import make_tiny_model

    model = make_tiny_model(tokenizer, hidden_size=64)
    model.load_state_dict(weights)
    return model


def train_one(method: Method, reference: dict, tokenizer: Any, pairs: dict, lr: float, sizes: Sizes, workdir: str):
    """The probe's curve for one method, starting from the reference weights."""
    probe = LikelihoodProbe(tokenizer, pairs, sizes.toy_probe_every)
    fields = shared_fields(workdir, max_steps=sizes.toy_steps, per_device_train_batch_size=BATCH, learning_rate=lr)
    trainer = build_trainer(method, model_from(reference, tokenizer), tokenizer, Dataset.from_dict(pairs), fields)
    trainer.add_callback(probe)
    trainer.train()
    return probe.curve


def run_toy(sizes: Sizes, workdir: str, log: Any = print) -> dict[str, Any]:
    """Curves for every (learning rate, method, seed) and the change of the chosen log-likelihood."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    curves: dict[str, dict[str, list]] = {}
    for seed in range(sizes.toy_seeds):
        pairs = toy_pairs(sizes.toy_pairs, seed=seed)
        reference, tokenizer = warmed_up_model(seed, pairs, f"{workdir}/warmup")
        for lr in sizes.toy_learning_rates:
            for method in TOY_METHODS:
                curve = train_one(method, reference, tokenizer, pairs, lr, sizes, f"{workdir}/{method.name}")
                curves.setdefault(f"{lr:g}", {}).setdefault(method.name, []).append(curve)
                first, last = curve[0], curve[-1]
                log(
                    f"toy seed {seed} lr {lr:g} {method.name:15s} chosen {first['chosen']:.3f} -> {last['chosen']:.3f}"
                    f"  rejected {first['rejected']:.3f} -> {last['rejected']:.3f}"
                )
    summary = {
        lr: {name: summarize_curves(runs) for name, runs in by_method.items()} for lr, by_method in curves.items()
    }
    return {"curves": curves, "summary": summary, "seconds": time.perf_counter() - start}


def summarize_curves(runs: list[list[dict[str, float]]]) -> dict[str, Any]:
    """Over seeds: the final change of the chosen and rejected log-likelihoods, and how many runs ever went
    below their starting chosen log-likelihood (by more than 0.01 nats per token)."""
    chosen_change = [run[-1]["chosen"] - run[0]["chosen"] for run in runs]
    rejected_change = [run[-1]["rejected"] - run[0]["rejected"] for run in runs]
    min_chosen_change = [min(p["chosen"] for p in run) - run[0]["chosen"] for run in runs]
    return {
        "chosen_change": bootstrap(chosen_change, mean).as_dict(),
        "rejected_change": bootstrap(rejected_change, mean).as_dict(),
        "lowest_chosen_change": bootstrap(min_chosen_change, mean).as_dict(),
        "runs_with_chosen_drop": sum(change < -0.01 for change in min_chosen_change),
        "runs": len(runs),
    }
