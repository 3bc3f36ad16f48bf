"""Shared fixtures for the code_exec tests: one sandboxed pool for the whole session (it is the slow part)."""

from __future__ import annotations

import importlib
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from hfplug_code_exec.limits import ExecutionLimits
from hfplug_code_exec.pool import ExecutorPool

# CPU time above the wall clock: on an idle core a busy loop's CPU time keeps up with the wall clock, and with both
# at 3 s either limit could stop it first ("timed out" or "CPU time limit"); tests of a hang expect the wall limit.
SHORT_LIMITS = ExecutionLimits(wall_time_s=3.0, cpu_time_s=6.0, memory_mb=512, max_processes=16)


@pytest.fixture(scope="session")
def pool():
    with ExecutorPool(2, SHORT_LIMITS, isolation_level="bubblewrap") as executor:
        yield executor


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), to check that runs leave nothing behind."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _is_judge_sandbox(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"--role\0judge" in handle.read()
    except OSError:
        return False


@pytest.fixture
def pool_processes(pool):
    """A callable: how many processes live in the pool's program sandboxes (bwrap, its init, the zygote, runs).

    The judges' sandboxes are left out: a judge process may stay alive between runs of the same row."""

    def count() -> int:
        pids = [p for w in pool._workers if w.process is not None for p in descendants(w.process.pid)]
        return sum(not _is_judge_sandbox(pid) for pid in pids)

    return count


class LocalProgram:
    """The program as the judge's tests see it, run in this process: plain functions of the test
    stand in for the program's (trusted test code; model-written code never runs here). Calls return
    values as the sandboxed program's do, so the judge's suites can run without a sandbox, under their
    package names (what mutation testing needs to switch their mutants on)."""

    def __init__(self, judge, stdio=None, **functions) -> None:
        self.stdio = stdio  # text in -> the run's reply ({"stdout", "status", "exit", ...}) for stdin/stdout tests
        self.functions = functions
        self.names = {name: "function" for name in functions}
        self.recorder = judge.Recorder()
        self.aborted = None
        self.test_started = 0.0

    def function(self, name: str):
        return lambda *args, **kwargs: self.invoke({"name": name}, args, kwargs)

    def request(self, message: dict) -> dict:
        return self.stdio(message["stdio"])

    def invoke(self, message: dict, args: tuple, kwargs: dict):
        self.recorder.last_args, self.recorder.last_kwargs = args, kwargs
        value = self.functions[message["name"]](*args, **kwargs)
        self.recorder.last_value, self.recorder.has_value = value, True
        return value


@pytest.fixture(scope="module")
def judge_modules():
    """The judge's ``suites`` (as ``hfplug_code_exec.sandbox.suites``) and ``judge`` modules, importable
    in this process: they import their siblings by plain name, as inside the sandbox."""
    import hfplug_code_exec

    sandbox = str(Path(hfplug_code_exec.__file__).parent / "sandbox")
    sys.path.insert(0, sandbox)
    try:
        suites = importlib.import_module("hfplug_code_exec.sandbox.suites")
        yield types.SimpleNamespace(suites=suites, judge=sys.modules["judge"])
    finally:
        sys.path.remove(sandbox)


@pytest.fixture
def run_suite(judge_modules):
    """``run_suite(spec, program, strict=True)``: build, prepare and run one test suite in this process;
    returns the suite and its outcomes (``[{"source", "status", ...}]``). The judge's stand-in ``solution`` and
    ``leetcode_py`` modules are taken out of ``sys.modules`` afterwards."""

    def run(spec: dict, program: LocalProgram, strict: bool = True, entry_point: str = "", visibility: str = "public"):
        saved = {name: sys.modules.get(name) for name in ("solution", "leetcode_py")}
        try:
            suite = judge_modules.suites.build({"visibility": visibility, **spec}, {"entry_point": entry_point})
            suite.prepare(program)
            outcomes = judge_modules.judge.Outcomes(suite, program)
            aborted = None
            try:
                suite.run(program, outcomes, strict)
            except judge_modules.judge.RunAborted as error:  # as the judge does when the program's run ends early
                aborted = error
            return suite, outcomes.finish(aborted)
        finally:
            for name, module in saved.items():
                if module is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = module

    return run


def one_step_grpo_args(output_dir: Path) -> Any:
    """trl's GRPOConfig for one CPU step of the tests' GRPO runs (2 rows, 2 generations of 8 tokens, nothing saved)."""
    from trl import GRPOConfig

    return GRPOConfig(
        output_dir=str(output_dir),
        max_steps=1,
        per_device_train_batch_size=2,
        num_generations=2,
        max_completion_length=8,
        report_to=[],
        use_cpu=True,
        save_strategy="no",
    )
