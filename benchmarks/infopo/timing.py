"""Step time of InfoPO against DPO, measured in the same run on identical batches (goal: ratio <= 1.02).

Both trainers are built on identical copies of the model with the same data; one "step" is
``training_step`` (forward, loss, backward, metrics) on one collated batch. The optimizer update is the
same for both and left out, which makes the ratio stricter. Steps alternate one by one and take turns going
first (an even number of timed steps, so each goes first equally often: the second run of a batch shape
reuses memory the first one allocated), so load changes on a shared machine hit both; the ratio is the
median over steps of InfoPO time / DPO time on the same batch, after two warm-up steps each, with a
bootstrap interval over steps.
"""

from __future__ import annotations

import copy
import statistics
import time
from typing import Any

import torch
from datasets import Dataset

from benchmarks.infopo.methods import DPO, INFOPO, build_trainer, shared_fields
from benchmarks.infopo.stats import bootstrap

WARMUP = 2


def one_step(trainer: Any, batch: dict) -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    trainer.training_step(trainer.model, dict(batch))
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    trainer.model.zero_grad(set_to_none=True)
    return elapsed


def step_time_ratio(model: Any, tokenizer: Any, pairs: Dataset, batch_size: int, steps: int, workdir: str) -> dict:
    """Median paired InfoPO/DPO step-time ratio over ``steps`` batches (rounded up to even, plus warm-up)."""
    steps += steps % 2
    trainers = {}
    for method in (DPO, INFOPO):
        fields = shared_fields(
            f"{workdir}/{method.name}", per_device_train_batch_size=batch_size, max_steps=steps + WARMUP
        )
        trainers[method.name] = build_trainer(method, copy.deepcopy(model), tokenizer, pairs, fields)
    dpo, infopo = trainers[DPO.name], trainers[INFOPO.name]
    for trainer in (dpo, infopo):
        trainer.model.train()
        # What the training loop sets up before it calls training_step.
        trainer.create_optimizer_and_scheduler(num_training_steps=steps + WARMUP)
        trainer.current_gradient_accumulation_steps = 1
    loader = list(dpo.get_train_dataloader())
    batches = [dpo._prepare_inputs(loader[i % len(loader)]) for i in range(steps + WARMUP)]
    dpo_times, infopo_times = [], []
    for index, batch in enumerate(batches):
        if index % 2 == 0:
            dpo_time, infopo_time = one_step(dpo, batch), one_step(infopo, batch)
        else:
            infopo_time, dpo_time = one_step(infopo, batch), one_step(dpo, batch)
        if index >= WARMUP:
            dpo_times.append(dpo_time)
            infopo_times.append(infopo_time)
    ratios = [i / d for i, d in zip(infopo_times, dpo_times, strict=True)]
    overhead = post_forward_cost(infopo, batches[0])
    return {
        "infopo_post_forward_seconds": overhead,
        "post_forward_fraction_of_dpo_step": overhead / statistics.median(dpo_times),
        "dpo_seconds": statistics.median(dpo_times),
        "infopo_seconds": statistics.median(infopo_times),
        "ratio": statistics.median(ratios),
        "ratio_ci": bootstrap(ratios, statistics.median).as_dict(),
        "steps": steps,
        "batch_pairs": batch_size,
    }


def toy_model_timing(steps: int, workdir: str) -> dict:
    """The same measurement on a small random Llama (hidden 256, 4 layers), many steps: a low-noise ratio."""
    from benchmarks.infopo.pairs import toy_pairs
    from hfplug.testing import make_tiny_model, make_tiny_tokenizer

    tokenizer = make_tiny_tokenizer()
    model = make_tiny_model(tokenizer, hidden_size=256, num_hidden_layers=4, num_attention_heads=8)
    pairs = Dataset.from_dict(toy_pairs(64, seed=0))
    return step_time_ratio(model, tokenizer, pairs, batch_size=8, steps=steps, workdir=workdir)


def post_forward_cost(trainer: Any, batch: dict, repeats: int = 200) -> float:
    """Median seconds of what InfoPO adds after the shared forward pass (log-ratios, the loss, the metric sums
    and their one collective), on the outputs of one real forward: a noise-free bound on its overhead."""
    from hfplug_infopo.losses import infopo_loss
    from hfplug_infopo.metrics import PairStatistics, metric_values, reduce_step_sums, step_sums

    shift_mask = batch["completion_mask"][:, 1:]
    labels = batch["input_ids"].masked_fill(batch["completion_mask"] == 0, -100)
    model_inputs = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask")}
    with torch.no_grad():
        outputs = trainer.model(**model_inputs, labels=labels, fused_lm_head=True)
    args = trainer.args

    def after_forward() -> None:
        logps = outputs.log_probs[:, -shift_mask.size(1) :].sum(dim=1)
        chosen, rejected = logps.chunk(2, dim=0)
        chosen_ratio, rejected_ratio = chosen - batch["ref_chosen_logps"], rejected - batch["ref_rejected_logps"]
        infopo_loss(chosen_ratio, rejected_ratio, args.beta, args.infopo_variant).mean()
        pairs = PairStatistics(chosen, rejected, args.beta * chosen_ratio, args.beta * rejected_ratio)
        sums = step_sums(outputs, shift_mask, batch["attention_mask"], pairs)
        metric_values(reduce_step_sums(sums, trainer.accelerator.gather))

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        after_forward()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
