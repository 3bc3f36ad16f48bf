"""Compiled against eager decoding of the HiSpec strategies (``compile=True``), in one run on one model,
against transformers' greedy decoding (dynamic cache; static cache eager and compiled) and transformers'
own self-speculation (``assistant_early_exit``), with tokens/s ratios.

The model is trained here (``--train-seconds S``: an early-exit Llama of ``--layers`` x
``--hidden-size`` trained on Shakespeare for at most S seconds with the early-exit objective in a plain
PyTorch loop, so its exits agree as a trained model's do), loaded (``--load DIR``), or, by default, a
random Llama whose exits never agree: speculation then rejects almost everything and only the loop's
overhead is compared. A trained model's exits are chosen on tuning prompts (first half of the held-out
play) by the layer-choice helper; the table is timed on other prompts (its second half). Every output
is checked against transformers' greedy decoding (dynamic cache). Compiling happens in one untimed
warm-up call per method; its seconds are printed apart from the timings. transformers compiles its
static-cache forward by itself on a GPU (its own ``reduce-overhead`` configuration); on a CPU the
compiled row asks it to (``CompileConfig``, inductor's default mode, as our steps get there).

    python benchmarks/hispec_compiled.py                                  # CPU, random 4 x 128 model
    python benchmarks/hispec_compiled.py --layers 12 --train-seconds 240  # CPU, trained 12 x 128 model

On a GPU host with only torch and transformers (no trl, datasets or hfplug: the training loop is plain
PyTorch and the strategies load by path), sized for a 15-minute call including the training:

    python benchmarks/hispec_speed.py --write-text .carry/shakespeare.txt       # here, once
    python benchmarks/hispec_compiled.py --device cuda --text-file .carry/shakespeare.txt \\
        --layers 24 --hidden-size 512 --batch-size 32 --max-steps 3000 --train-seconds 150 \\
        --output "$OUT/hispec_compiled_gpu.md" --json "$OUT/hispec_compiled_gpu.json"  # there
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.generation import CompileConfig

# The sibling modules; hispec_model first: it finds the plugin where it is not installed (a bare GPU host).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from hispec_model import add_model_arguments, prepare_model, training_and_held_out_text

# isort: split
from hfplug_hispec.layer_choice import suggest_exit_layers
from hfplug_hispec.strategy_folders import load_strategy
from hispec_timing import Inputs, acceptance_summary, agreement, agreement_text, measure_position_cost, timed_runs

REFERENCE = "transformers greedy (dynamic cache)"
STATIC_EAGER = "transformers greedy (static cache, eager)"
STATIC_COMPILED = "transformers greedy (static cache, compiled)"
ASSISTANT = "transformers assistant_early_exit"
OUR_EAGER_GREEDY = "hfplug greedy (eager)"
PROMPT_WINDOW = 400  # characters of held-out text per prompt: more than --prompt-length tokens


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], help="default: float32 on cpu, bfloat16 on cuda")
    add_model_arguments(parser, layers=4, train_seconds=0, trainer="plain")
    parser.add_argument("--draft-layer", type=int, help="l_d (default: chosen on tuning prompts, or L/8 if random)")
    parser.add_argument("--verify-layer", type=int, help="l_i of hispec (default: chosen likewise, or L/4)")
    parser.add_argument("--self-spec-layer", type=int, help="exit of self_spec and assistant_early_exit")
    parser.add_argument("--draft-length", type=int, default=2, help="N_d of hispec")
    parser.add_argument("--verify-window", type=int, default=4, help="N_i of hispec")
    parser.add_argument("--self-spec-drafts", type=int, default=4, help="drafts per round, self_spec and assistant")
    parser.add_argument(
        "--strategies", nargs="+", default=["greedy", "self_spec", "hispec"], choices=["greedy", "self_spec", "hispec"]
    )
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--prompt-length", type=int, default=32, help="tokens per prompt (all equal)")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timing rounds (best counts)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (small models: 1 is fastest)")
    parser.add_argument(
        "--compile-backend", help="torch.compile backend for every compiled row (default: inductor); eager: smoke test"
    )
    parser.add_argument("--output", help="write the table (markdown) here")
    parser.add_argument("--json", help="also write the results here")
    options = parser.parse_args()
    trains = options.train_seconds > 0 or options.load
    if trains and options.layers < 3 and not options.load:
        parser.error("--layers must be >= 3 for hispec (draft < verify < full)")
    return options


def random_model(options: argparse.Namespace) -> Any:
    """A random Llama of the benchmark's shape: its exits never agree."""
    config = LlamaConfig(
        vocab_size=options.vocab_size,
        hidden_size=options.hidden_size,
        intermediate_size=options.hidden_size * 3,
        num_hidden_layers=options.layers,
        num_attention_heads=max(1, options.hidden_size // options.head_dim),
        num_key_value_heads=max(1, options.hidden_size // options.head_dim),
        max_position_embeddings=2048,
        eos_token_id=None,
        bos_token_id=None,
        pad_token_id=0,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    dtype = getattr(torch, options.dtype or ("bfloat16" if options.device == "cuda" else "float32"))
    return model.to(options.device, dtype)


def text_prompts(text: str, count: int, tokenizer: Any, options: argparse.Namespace) -> list[Inputs]:
    """``count`` evenly spaced windows of ``text``, each cut to ``--prompt-length`` tokens."""
    step = len(text) // (count + 1)
    prompts = []
    for i in range(count):
        ids = tokenizer(text[(i + 1) * step : (i + 1) * step + PROMPT_WINDOW], return_tensors="pt").input_ids
        if ids.shape[1] < options.prompt_length:
            raise SystemExit(f"a prompt window has only {ids.shape[1]} tokens; lower --prompt-length")
        prompts.append({"input_ids": ids[:, : options.prompt_length].to(options.device)})
    return prompts


def random_prompts(model: Any, options: argparse.Namespace) -> list[Inputs]:
    generator = torch.Generator().manual_seed(1)
    shape = (1, options.prompt_length)
    return [
        {"input_ids": torch.randint(1, model.config.vocab_size, shape, generator=generator).to(options.device)}
        for _ in range(options.prompts)
    ]


def choose_exits(model: Any, tokenizer: Any, tuning: list[str], options: argparse.Namespace) -> dict[str, int]:
    """Exits given on the command line; else, for a trained model, the layer-choice helper's on the tuning
    prompts (exits 1..max(3, L/4), each extra position costing what it measurably costs here); else L/8, L/4."""
    layers = model.config.num_hidden_layers
    chosen = {"draft": options.draft_layer, "verify": options.verify_layer, "self_spec": options.self_spec_layer}
    if all(chosen.values()):
        return chosen
    if tokenizer is None:
        draft = options.draft_layer or max(1, layers // 8)
        verify = options.verify_layer or max(draft + 1, layers // 4)
        return {"draft": draft, "verify": verify, "self_spec": options.self_spec_layer or draft}
    probe = tokenizer(tuning[0], return_tensors="pt").input_ids[:, : options.prompt_length].to(options.device)
    position_cost = measure_position_cost(model, probe)
    choice = suggest_exit_layers(
        model,
        tokenizer,
        tuning,
        max_new_tokens=16,
        draft_length=options.draft_length,
        verify_window=options.verify_window,
        self_spec_draft_length=options.self_spec_drafts,
        position_cost=position_cost,
        candidates=list(range(1, max(3, layers // 4) + 1)),
    )
    print(f"position cost {position_cost:.2f}; exit agreement:", {k: round(v, 2) for k, v in choice.agreement.items()})
    return {
        "draft": options.draft_layer or choice.draft_layer,
        "verify": options.verify_layer or choice.verify_layer,
        "self_spec": options.self_spec_layer or choice.ranked_single_exits()[0],
    }


def transformers_compile_config(options: argparse.Namespace) -> CompileConfig | None:
    """transformers' own on a GPU; on a CPU it compiles only when asked to (inductor's default mode there)."""
    if options.device == "cuda" and not options.compile_backend:
        return None
    config = CompileConfig(mode="reduce-overhead" if options.device == "cuda" else "default")
    if options.compile_backend:
        config = CompileConfig(backend=options.compile_backend, mode=None)
    config._compile_all_devices = True  # transformers' switch for compiling off the GPU
    return config


def methods(model: Any, exits: dict[str, int], options: argparse.Namespace) -> dict[str, Any]:
    """Each method as a function of one prompt's inputs."""
    common = {"do_sample": False, "max_new_tokens": options.max_new_tokens}
    compile_config = transformers_compile_config(options)
    static_compiled = {"compile_config": compile_config} if compile_config else {}
    runs: dict[str, Any] = {
        REFERENCE: lambda inputs: model.generate(**inputs, **common),
        STATIC_EAGER: lambda inputs: model.generate(
            **inputs, **common, cache_implementation="static", disable_compile=True
        ),
        STATIC_COMPILED: lambda inputs: model.generate(
            **inputs, **common, cache_implementation="static", **static_compiled
        ),
        ASSISTANT: lambda inputs: model.generate(
            **inputs,
            **common,
            assistant_early_exit=exits["self_spec"],
            num_assistant_tokens=options.self_spec_drafts,
        ),
    }
    settings = {
        "greedy": {},
        "self_spec": {"draft_layer": exits["self_spec"], "draft_length": options.self_spec_drafts},
        "hispec": {
            "draft_layer": exits["draft"],
            "verify_layer": exits["verify"],
            "draft_length": options.draft_length,
            "verify_window": options.verify_window,
        },
    }
    compile_options = {"backend": options.compile_backend} if options.compile_backend else None
    for name in dict.fromkeys(["greedy", *options.strategies]):  # our eager greedy is always a baseline
        strategy = load_strategy(model, name)
        for compiled in (False, True):
            extra = {**settings[name], "compile": compiled, "return_dict_in_generate": True}
            if compiled and compile_options:
                extra["compile_options"] = compile_options
            label = f"hfplug {name} ({'compiled' if compiled else 'eager'})"
            runs[label] = lambda inputs, strategy=strategy, extra=extra: strategy(
                model=model, **inputs, **common, **extra
            )
    return runs


def table(rows: list[dict], heading: str) -> str:
    """The markdown table: each method's speed and its ratios to the baselines."""
    speed = {row["method"]: row["tokens_per_second"] for row in rows}
    bases = (STATIC_COMPILED, STATIC_EAGER, ASSISTANT, OUR_EAGER_GREEDY)
    columns = ["method", "warm-up s", "tokens/s", *(f"vs {base}" for base in bases), "vs its eager self"]
    lines = [heading, "", "| " + " | ".join([*columns, "identical to greedy", "acceptance"]) + " |"]
    lines.append("|" + "---|" * (len(columns) + 2))
    for row in rows:
        name, tokens_per_second = row["method"], row["tokens_per_second"]
        ratios = [f"{tokens_per_second / speed[base]:.2f}x" for base in bases]
        eager_self = name.replace("(compiled)", "(eager)")
        own = f"{tokens_per_second / speed[eager_self]:.2f}x" if eager_self != name else ""
        cells = [name, f"{row['warm_up_seconds']:.1f}", f"{tokens_per_second:.1f}", *ratios, own]
        lines.append("| " + " | ".join([*cells, row["identical"], row["acceptance"]]) + " |")
    return "\n".join(lines)


def main() -> None:
    options = parse_arguments()
    started = time.monotonic()
    # The table shows every method's acceptance; the strategies' warning about poor exits would repeat it.
    warnings.filterwarnings("ignore", message=".*early exits look untrained")
    # One thread for the training too: several threads spin-wait for each other on a shared CPU.
    torch.set_num_threads(options.threads)
    tokenizer, tuning_texts = None, []
    if options.load or options.train_seconds > 0:
        train_text, held_out = training_and_held_out_text(options.text_file)
        model, tokenizer, _ = prepare_model(options, (train_text, held_out))
        middle = len(held_out) // 2
        step = middle // 3
        tuning_texts = [held_out[k * step : k * step + PROMPT_WINDOW] for k in (1, 2)]
        prompts = text_prompts(held_out[middle:], options.prompts, tokenizer, options)
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    else:
        model = random_model(options)
        prompts = random_prompts(model, options)
    model.eval()
    print(f"[{time.monotonic() - started:6.0f} s] model ready", flush=True)
    exits = choose_exits(model, tokenizer, tuning_texts, options)
    print(f"[{time.monotonic() - started:6.0f} s] exits {exits}", flush=True)
    runs = methods(model, exits, options)
    warm_up = {}
    for name, run in runs.items():
        began = time.perf_counter()
        run(prompts[0])  # compiles where the method compiles
        warm_up[name] = time.perf_counter() - began
        print(f"[{time.monotonic() - started:6.0f} s] warmed up {name} ({warm_up[name]:.1f} s)", flush=True)
    eos = model.generation_config.eos_token_id
    eos_ids = set() if eos is None else set(eos if isinstance(eos, list) else [eos])
    speeds, outputs, stats = timed_runs(runs, prompts, options.device, options.repeats, eos_ids)
    rows = [
        {
            "method": name,
            "tokens_per_second": speed,
            "warm_up_seconds": warm_up[name],
            "identical": agreement_text(agreement(outputs[name], outputs[REFERENCE], prompts)),
            "acceptance": acceptance_summary(stats[name]),
        }
        for name, speed in speeds.items()
    ]
    origin = f"loaded from {options.load}" if options.load else "random"
    if options.train_seconds > 0 and not options.load:
        origin = f"trained here (at most {options.train_seconds:.0f} s)"
    heading = (
        f"{model.config.num_hidden_layers} layers x {model.config.hidden_size}, {origin}, {options.device}, "
        f"{str(model.dtype).removeprefix('torch.')}, exits {exits}, N_d={options.draft_length}, "
        f"N_i={options.verify_window}, self_spec drafts {options.self_spec_drafts}; {options.prompts} prompts x "
        f"{options.prompt_length} tokens, {options.max_new_tokens} new tokens, best of {options.repeats}; "
        f"torch {torch.__version__}, transformers {__import__('transformers').__version__}"
    )
    text = table(rows, heading)
    print(text)
    # What a bare GPU host lacks must not have been needed.
    absent = [name for name in ("trl", "datasets") if name not in sys.modules]
    print(f"not imported: {', '.join(absent) or 'none'}; total {time.monotonic() - started:.0f} s", flush=True)
    if options.output:
        Path(options.output).parent.mkdir(parents=True, exist_ok=True)
        Path(options.output).write_text(text + "\n")
    if options.json:
        Path(options.json).parent.mkdir(parents=True, exist_ok=True)
        document = {"options": vars(options), "exits": exits, "results": rows, "seconds": time.monotonic() - started}
        Path(options.json).write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
