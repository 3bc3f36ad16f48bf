"""Compiled against eager decoding of the HiSpec strategies (``compile=True``), against transformers'
greedy decoding with its dynamic and static caches, in one run on one model, with tokens/s ratios.

The model is a saved early-exit model (``--load DIR``, e.g. the one ``hispec_speed.py`` trains and
saves) or, without ``--load``, a random Llama of ``--layers`` x ``--hidden-size``: its exits never
agree, so the speculative strategies reject almost everything there and only the loop's overhead is
compared. Every output is checked against transformers' greedy decoding (dynamic cache). Compiling
happens in one untimed warm-up call per method; its seconds are printed apart from the timings.
transformers compiles its static-cache forward by itself on a GPU, not on a CPU (its default).

    python benchmarks/hispec_compiled.py                                  # CPU, random 4 x 128 model
    python benchmarks/hispec_compiled.py --load /tmp/hfplug_hispec_bench/model --draft-layer 2 --verify-layer 6
    python benchmarks/hispec_compiled.py --device cuda --layers 24 --hidden-size 512  # GPU: torch + transformers only
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch
from transformers import LlamaConfig, LlamaForCausalLM

# The sibling modules, and the plugin where it is not installed (a bare GPU host).
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parents[1] / "plugins" / "hispec"))
# isort: split
from hfplug_hispec.strategy_folders import load_strategy
from hispec_timing import Inputs, acceptance_summary, agreement, agreement_text, timed_runs


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], help="default: float32 on cpu, bfloat16 on cuda")
    parser.add_argument("--load", help="a saved early-exit model (its exits agree); default: a random Llama")
    parser.add_argument("--layers", type=int, default=4, help="random model: decoder layers")
    parser.add_argument("--hidden-size", type=int, default=128, help="random model: width (head dim 64)")
    parser.add_argument("--vocab-size", type=int, default=512, help="random model: vocabulary")
    parser.add_argument("--draft-layer", type=int, help="l_d (default L/8, at least 1)")
    parser.add_argument("--verify-layer", type=int, help="l_i of hispec (default L/4, above l_d)")
    parser.add_argument("--draft-length", type=int, default=2)
    parser.add_argument("--verify-window", type=int, default=4)
    parser.add_argument(
        "--strategies", nargs="+", default=["greedy", "self_spec", "hispec"], choices=["greedy", "self_spec", "hispec"]
    )
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--prompt-length", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timing rounds (best counts)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (tiny models: 1 is fastest)")
    parser.add_argument("--json", help="also write the results here")
    return parser.parse_args()


def build_model(options: argparse.Namespace) -> Any:
    if options.load:
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(options.load, dtype=torch.float32)
    else:
        config = LlamaConfig(
            vocab_size=options.vocab_size,
            hidden_size=options.hidden_size,
            intermediate_size=options.hidden_size * 3,
            num_hidden_layers=options.layers,
            num_attention_heads=max(1, options.hidden_size // 64),
            num_key_value_heads=max(1, options.hidden_size // 64),
            max_position_embeddings=2048,
            eos_token_id=None,
            bos_token_id=None,
            pad_token_id=0,
        )
        torch.manual_seed(0)
        model = LlamaForCausalLM(config)
    dtype = getattr(torch, options.dtype or ("bfloat16" if options.device == "cuda" else "float32"))
    return model.to(options.device, dtype).eval()


def methods(model: Any, options: argparse.Namespace) -> dict[str, Any]:
    """Each method as a function of one prompt's inputs."""
    layers = model.config.num_hidden_layers
    draft = options.draft_layer or max(1, layers // 8)
    verify = options.verify_layer or max(draft + 1, layers // 4)
    common = {"do_sample": False, "max_new_tokens": options.max_new_tokens}
    settings = {
        "greedy": {},
        "self_spec": {"draft_layer": draft, "draft_length": options.draft_length},
        "hispec": {
            "draft_layer": draft,
            "verify_layer": verify,
            "draft_length": options.draft_length,
            "verify_window": options.verify_window,
        },
    }
    runs: dict[str, Any] = {
        "transformers greedy (dynamic cache)": lambda inputs: model.generate(**inputs, **common),
        "transformers greedy (static cache)": lambda inputs: model.generate(
            **inputs, **common, cache_implementation="static"
        ),
    }
    for name in options.strategies:
        extra = settings[name]
        strategy = load_strategy(model, name)
        for compiled in (False, True):
            label = f"hfplug {name} ({'compiled' if compiled else 'eager'})"
            runs[label] = lambda inputs, strategy=strategy, extra=extra, compiled=compiled: strategy(
                model=model, **inputs, **common, **extra, compile=compiled, return_dict_in_generate=True
            )
    return runs


def main() -> None:
    options = parse_arguments()
    torch.set_num_threads(options.threads)
    model = build_model(options)
    generator = torch.Generator().manual_seed(1)
    prompts: list[Inputs] = [
        {
            "input_ids": torch.randint(1, model.config.vocab_size, (1, options.prompt_length), generator=generator).to(
                options.device
            )
        }
        for _ in range(options.prompts)
    ]
    runs = methods(model, options)
    warm_up = {}
    for name, run in runs.items():
        started = time.perf_counter()
        run(prompts[0])  # compiles where the method compiles
        warm_up[name] = time.perf_counter() - started
    eos = model.generation_config.eos_token_id
    eos_ids = set() if eos is None else set(eos if isinstance(eos, list) else [eos])
    speeds, outputs, stats = timed_runs(runs, prompts, options.device, options.repeats, eos_ids)
    reference = outputs["transformers greedy (dynamic cache)"]
    static_speed = speeds["transformers greedy (static cache)"]
    eager_greedy = speeds["hfplug greedy (eager)"]
    print(
        f"{model.config.num_hidden_layers} layers x {model.config.hidden_size}, {options.device}, {model.dtype}, "
        f"{options.prompts} prompts x {options.max_new_tokens} new tokens, best of {options.repeats}"
    )
    columns = ["method", "warm-up s", "tokens/s", "vs transformers static", "vs our eager greedy", "vs its eager self"]
    print("| " + " | ".join([*columns, "identical", "acceptance"]) + " |")
    print("|" + "---|" * 8)
    results = []
    for name, speed in speeds.items():
        eager_self = name.replace("(compiled)", "(eager)")
        own = f"{speed / speeds[eager_self]:.2f}x" if "(compiled)" in name else ""
        identical = agreement_text(agreement(outputs[name], reference, prompts))
        summary = acceptance_summary(stats[name])
        print(
            f"| {name} | {warm_up[name]:.1f} | {speed:.1f} | {speed / static_speed:.2f}x | {speed / eager_greedy:.2f}x"
            f" | {own} | {identical} | {summary} |"
        )
        results.append(
            {"method": name, "tokens_per_second": speed, "warm_up_seconds": warm_up[name], "identical": identical}
        )
    if options.json:
        Path(options.json).parent.mkdir(parents=True, exist_ok=True)
        Path(options.json).write_text(json.dumps({"options": vars(options), "results": results}, indent=2))


if __name__ == "__main__":
    main()
