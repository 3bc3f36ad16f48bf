"""CPU training step time on a shared machine: torch's thread defaults against hfplug's, with and without a
competing CPU-bound job.

    python benchmarks/cpu_contention_step_time.py                 # 2 rounds, 2 competitors, 4 layers
    python benchmarks/cpu_contention_step_time.py --rounds 3 --layers 30 --steps 2   # the full SmolLM2 shape

One run is a fresh process that builds a random model of SmolLM2-135M-Instruct's shape (its config from
``asset:smollm2-135m-instruct``, with ``--layers`` of its 30 layers: every matrix the size the demo trains)
and times ``--steps`` training steps (forward, backward, AdamW) on the demo's batch (8 rows of 96 tokens),
after one warm-up step. A fresh process per run because OpenMP reads its settings once, at torch's import.

Settings:
  torch      OMP_WAIT_POLICY unset, torch's default threads (one per core): what a plain script gets.
  1-thread   the same with torch.set_num_threads(1).
  hfplug     ``import hfplug`` before torch, nothing else: whatever the host defaults to (hfplug.cpu_threads).

Conditions: ``ambient`` (whatever else the machine runs; the 1-minute load average is printed with every
number) and ``competing`` (ambient plus ``--competitors`` processes running ``while True: pass``). Runs are
interleaved (every round runs each condition, each setting in a rotated order), so a change in the
ambient load hits every setting alike; ratios are against ``torch`` in the same condition of the same
invocation. Wall and CPU seconds are per step (median over a run's steps, then over rounds).

Measured 2026-12-07 on 2 cores shared with ~6 other people's test runs (defaults; output in
benchmarks/results/cpu_contention_step_time.txt). The machine never came near load 1 that day:

    condition  setting   load  wall s/step  CPU-s/step  wall vs torch  wall vs own ambient
    ambient    torch     14.0        33.54        7.26           1.00                 1.00
    ambient    1-thread  14.1        17.58        3.38           0.52                 1.00
    ambient    hfplug    14.0        15.55        3.35           0.46                 1.00
    competing  torch     19.9        88.77        7.96           1.00                 2.65
    competing  1-thread  17.7        43.77        3.34           0.49                 2.49
    competing  hfplug    18.2        31.60        3.28           0.36                 2.03

torch's default (two threads that spin while waiting) spends twice the CPU on the same step: the spinning
thread takes the core its partner, descheduled by the other load, needs to finish. hfplug's default
(OMP_WAIT_POLICY=PASSIVE, set on import) does the same work in the CPU time of one thread, while still
using both cores when they are free. A second invocation (--rounds 1, load 17-21) gave the same picture:
40.1 / 19.4 / 18.7 s/step ambient and 77.8 / 43.7 / 20.1 competing (torch / 1-thread / hfplug).
On the idle machine after that (--rounds 1, load 1.1-1.2 ambient, 1.7-2.7 with the 2 competitors), wall
s/step torch / 1-thread / hfplug: ambient 1.74 / 2.99 / 1.87 (hfplug 1.07x torch: PASSIVE's wake-up cost,
or noise of one round); competing 4.96 / 4.89 / 3.85 (0.78x). Idle, the spinning default costs no extra CPU
(3.38 vs 3.40 CPU-s/step); the gap opens with the load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SETTINGS = ("torch", "1-thread", "hfplug")
CONDITIONS = ("ambient", "competing")
BATCH, SEQUENCE = 8, 96  # examples/quickstart/dates.yaml: per_device_train_batch_size 8, max_length 96


def worker(setting: str, layers: int, steps: int) -> None:
    """One run in this process: build the model, time the steps, print one JSON line."""
    if setting == "hfplug":
        import hfplug  # noqa: F401  (its import sets the host's defaults, before torch loads)
    import torch

    if setting == "1-thread":
        torch.set_num_threads(1)
    from transformers import AutoConfig, AutoModelForCausalLM

    from hfplug.assets import resolve_model_path

    config = AutoConfig.from_pretrained(resolve_model_path("asset:smollm2-135m-instruct"))
    config.num_hidden_layers = layers
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).train()
    ids = torch.randint(0, config.vocab_size, (BATCH, SEQUENCE))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    wall, cpu = [], []
    for _ in range(steps + 1):
        start, start_cpu = time.perf_counter(), time.process_time()
        model(input_ids=ids, labels=ids).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    record = {
        "threads": torch.get_num_threads(),
        "wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset"),
        "wall": statistics.median(wall[1:]),
        "cpu": statistics.median(cpu[1:]),
    }
    print(json.dumps(record))


def run_once(setting: str, layers: int, steps: int) -> dict:
    """One worker process with a clean OpenMP environment; its record plus the load before and after."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "GOMP_SPINCOUNT")}
    load_before = os.getloadavg()[0]
    command = [sys.executable, __file__, "--worker", setting, "--layers", str(layers), "--steps", str(steps)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"worker {setting} failed:\n{result.stderr[-3000:]}")
    record = json.loads(result.stdout.strip().splitlines()[-1])
    record.update(setting=setting, load=(load_before + os.getloadavg()[0]) / 2)
    return record


def start_competitors(count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per run, after one warm-up step")
    parser.add_argument("--layers", type=int, default=4, help="of SmolLM2-135M's 30 layers")
    parser.add_argument("--competitors", type=int, default=2, help="busy-loop processes in the competing condition")
    parser.add_argument("--worker", choices=SETTINGS, help=argparse.SUPPRESS)
    cli = parser.parse_args()
    if cli.worker:
        worker(cli.worker, cli.layers, cli.steps)
        return

    print(f"{os.cpu_count()} CPUs, {len(os.sched_getaffinity(0))} usable; {cli.rounds} rounds, {cli.steps} steps/run")
    records: list[dict] = []
    for round_index in range(cli.rounds):
        for condition in CONDITIONS:
            competitors = start_competitors(cli.competitors) if condition == "competing" else []
            try:
                order = SETTINGS[round_index % len(SETTINGS) :] + SETTINGS[: round_index % len(SETTINGS)]
                for setting in order:
                    record = run_once(setting, cli.layers, cli.steps)
                    record.update(condition=condition, round=round_index)
                    records.append(record)
                    print(
                        f"round {round_index} {condition:9} {setting:8} threads {record['threads']} "
                        f"wait {record['wait_policy']:7} load {record['load']:5.1f}  "
                        f"{record['wall']:6.2f} s/step wall  {record['cpu']:6.2f} CPU-s/step",
                        flush=True,
                    )
            finally:
                stop(competitors)
    summarise(records)


def summarise(records: list[dict]) -> None:
    """Median per (condition, setting), and its ratio to torch's defaults in the same condition."""
    print("\ncondition  setting   load  wall s/step  CPU-s/step  wall vs torch  wall vs own ambient")
    table = {}
    for condition in CONDITIONS:
        for setting in SETTINGS:
            runs = [r for r in records if r["condition"] == condition and r["setting"] == setting]
            table[condition, setting] = {
                "wall": statistics.median(r["wall"] for r in runs),
                "cpu": statistics.median(r["cpu"] for r in runs),
                "load": statistics.mean(r["load"] for r in runs),
            }
    for condition in CONDITIONS:
        for setting in SETTINGS:
            row = table[condition, setting]
            versus_torch = row["wall"] / table[condition, "torch"]["wall"]
            versus_ambient = row["wall"] / table["ambient", setting]["wall"]
            print(
                f"{condition:9}  {setting:8} {row['load']:5.1f}  {row['wall']:11.2f}  {row['cpu']:10.2f}  "
                f"{versus_torch:13.2f}  {versus_ambient:19.2f}"
            )


if __name__ == "__main__":
    main()
