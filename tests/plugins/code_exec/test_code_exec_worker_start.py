"""Workers start from any folder: a file in the caller's working folder named like a module the worker imports
(``selectors.py``, ``json.py``) must not shadow it, as ``python -m`` would let it."""

from __future__ import annotations

from hfplug_code_exec.limits import ExecutionLimits
from hfplug_code_exec.pool import ExecutorPool, Job

GOOD = "def f(x):\n    return x + 1\n"
TEST_ONE = "def check(candidate):\n    assert candidate(1) == 2\n"


def test_a_pool_started_in_a_folder_with_shadowing_files_still_grades(tmp_path, monkeypatch):
    for name in ("selectors", "json", "subprocess"):
        (tmp_path / f"{name}.py").write_text(f"raise ImportError('the {name}.py in the working folder was imported')\n")
    monkeypatch.chdir(tmp_path)
    with ExecutorPool(1, ExecutionLimits(wall_time_s=5)) as executor:
        result = executor.run(Job(GOOD, TEST_ONE, "f"))
    assert result.status == "passed"
