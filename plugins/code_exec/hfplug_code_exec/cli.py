"""``hfplug eval humaneval|mbpp``: generate with a local model, execute in the sandbox pool, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from hfplug_code_exec.humaneval import Conversation, Generator


def resolve_model(path: str) -> str:
    """An ``asset:`` name or a local path -> a local path (the host resolver when it exists)."""
    try:
        from hfplug.assets import resolve_model_path
    except ImportError:
        return path
    return str(resolve_model_path(path))


def render_prompt(tokenizer: Any, conversation: Conversation) -> str:
    """The chat template when the tokenizer has one, else the turns as plain text (base models)."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    return "\n\n".join(message["content"] for message in conversation)


def transformers_generator(
    model_path: str,
    *,
    temperature: float,
    max_new_tokens: int,
    device: str,
    seed: int,
    stop_strings: list[str] | None = None,
) -> Generator:
    """A batched ``generate(conversations) -> completions`` over a local transformers model."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(model_path).to(device).eval()

    def generate(conversations: list[Conversation]) -> list[str]:
        texts = [render_prompt(tokenizer, c) for c in conversations]
        batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        if stop_strings:  # e.g. the closing fence of a code block: nothing after it is graded
            sampling.update(stop_strings=stop_strings, tokenizer=tokenizer)
        with torch.no_grad():
            out = model.generate(
                **batch, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id, **sampling
            )
        return tokenizer.batch_decode(out[:, batch["input_ids"].shape[1] :], skip_special_tokens=True)

    return generate


def eval_command(task_set: str) -> click.Command:
    """``hfplug eval humaneval`` / ``hfplug eval mbpp``: pass@k and Iter-k on one offline task set."""

    @click.command(task_set)
    @click.option("--model", "model_path", required=True, help="Local model folder (or an asset: name).")
    @click.option(
        "--iterations",
        "--attempts",
        "attempts",
        default=1,
        show_default=True,
        type=click.IntRange(1, 20),
        help="Iter-k: attempts per sample, each after feedback from the PUBLIC tests (--attempts is an alias).",
    )
    @click.option(
        "--samples",
        default=1,
        show_default=True,
        type=click.IntRange(1, 200),
        help="Samples per problem (n); pass@k for every k <= n. n > 1 samples with --temperature.",
    )
    @click.option("--temperature", default=None, type=float, help="Sampling temperature (default 0 for n=1, else 0.8).")
    @click.option("--max-new-tokens", default=512, show_default=True, type=click.IntRange(1, 32768))
    @click.option("--batch-size", default=8, show_default=True, type=click.IntRange(1, 1024))
    @click.option("--limit", default=None, type=click.IntRange(1, 10000), help="Only the first N problems.")
    @click.option(
        "--workers", default=None, type=click.IntRange(1, 256), help="Executor pool size (default: 2 x CPUs)."
    )
    @click.option(
        "--executor",
        type=click.Choice(["local", "ray"]),
        default="local",
        show_default=True,
        help="Where programs run: this machine's sandbox pool, or the pools of a Ray cluster (hfplug-code-exec[ray]).",
    )
    @click.option("--ray-address", default=None, help="The Ray cluster for --executor ray (default: RAY_ADDRESS).")
    @click.option(
        "--strict-types/--reference-equality",
        default=False,
        show_default=True,
        help="Identical types in comparisons, or Python's == as the reference harnesses (comparable numbers).",
    )
    @click.option("--device", default="cpu", show_default=True)
    @click.option("--seed", default=0, show_default=True, type=int)
    @click.option(
        "--output",
        "output_dir",
        default=f"{task_set}_results",
        show_default=True,
        type=click.Path(file_okay=False),
        help="Folder for results.json and results.md.",
    )
    def command(
        model_path: str,
        attempts: int,
        samples: int,
        temperature: float | None,
        max_new_tokens: int,
        batch_size: int,
        limit: int | None,
        workers: int | None,
        executor: str,
        ray_address: str | None,
        strict_types: bool,
        device: str,
        seed: int,
        output_dir: str,
    ) -> None:
        from hfplug_code_exec.humaneval import load_task_set

        path = resolve_model(model_path)
        if not Path(path).exists():
            raise click.BadParameter(f"no model folder at {path!r}", param_hint="--model")
        if temperature is None:
            temperature = 0.0 if samples == 1 else 0.8
        if samples > 1 and temperature <= 0:
            raise click.BadParameter("more than one sample needs --temperature > 0", param_hint="--temperature")
        if executor == "ray" and workers is not None:
            raise click.BadParameter(
                "--workers sizes the local pool; a Ray node's pool follows its CPUs", param_hint="--workers"
            )
        problems = load_task_set(task_set, limit)
        generate = transformers_generator(
            path, temperature=temperature, max_new_tokens=max_new_tokens, device=device, seed=seed
        )
        write_report(
            problems,
            generate,
            Path(output_dir),
            model_path,
            samples=samples,
            attempts=attempts,
            batch_size=batch_size,
            workers=workers,
            strict_types=strict_types,
            label=task_set,
            executor=executor,
            ray_address=ray_address,
        )

    command.help = f"Evaluate a model on {'HumanEval' if task_set == 'humaneval' else 'MBPP'}: pass@k and Iter-k."
    return command


humaneval_command = eval_command("humaneval")
mbpp_command = eval_command("mbpp")


def write_report(
    problems: list[dict[str, Any]],
    generate: Generator,
    output_dir: Path,
    model_name: str,
    *,
    samples: int,
    attempts: int,
    batch_size: int,
    workers: int | None,
    strict_types: bool = False,
    label: str = "humaneval",
    executor: str = "local",
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Run the evaluation with a progress bar and write results.json + results.md into ``output_dir``.

    ``executor``: ``local`` (a pool of ``workers`` on this machine) or ``ray`` (the cluster at ``ray_address``).
    """
    from hfplug_code_exec.humaneval import evaluate, markdown_table

    output_dir.mkdir(parents=True, exist_ok=True)
    total = len(problems) * samples * attempts
    if executor == "ray":
        from hfplug_code_exec.ray_executor import RayExecutor

        runner = RayExecutor(ray_address)
    else:
        from hfplug_code_exec.pool import ExecutorPool

        runner = ExecutorPool(workers)
    with runner as pool, click.progressbar(length=total, label=label) as bar:
        summary = evaluate(
            problems,
            generate,
            pool,
            samples=samples,
            attempts=attempts,
            batch_size=batch_size,
            progress=bar.update,
            strict_types=strict_types,
        )
    summary["model"] = model_name
    (output_dir / "results.json").write_text(json.dumps(summary, indent=2))
    table = markdown_table(summary, model_name)
    (output_dir / "results.md").write_text(table)
    click.echo(table)
    click.echo(f"Wrote {output_dir / 'results.json'} and {output_dir / 'results.md'}")
    return summary
