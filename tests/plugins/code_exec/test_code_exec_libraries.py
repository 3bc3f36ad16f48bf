"""The libraries code datasets import (numpy, pytest, ...) inside both sandboxes: usable, read-only, and
nothing more of the host visible because of them (no other package, no host file, no network)."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy
import pytest
from hfplug_code_exec.pool import Job

NUMPY_PROGRAM = "import numpy as np\n\ndef mean(values):\n    return float(np.mean(np.array(values)))\n"
NUMPY_WRONG = "import numpy as np\n\ndef mean(values):\n    return float(np.median(np.array(values)))\n"
NUMPY_TEST = (
    "import numpy as np\n\ndef check(candidate):\n"
    "    assert candidate([1, 2, 6]) == float(np.float64(3.0))\n    assert candidate([2, 2]) == 2.0\n"
)
NUMPY_PYTEST = (
    "import numpy as np\nimport pytest\nfrom solution import mean\n\n"
    "@pytest.mark.parametrize('values', [[1, 2, 6], [0.1, 0.2]])\n"
    "def test_mean(values):\n    assert mean(values) == pytest.approx(np.mean(values).item())\n"
)


@pytest.mark.parametrize("test_format, test", [("humaneval", NUMPY_TEST), ("pytest", NUMPY_PYTEST)])
def test_programs_and_tests_that_import_numpy_are_graded(pool, test_format, test):
    right = pool.run(Job(NUMPY_PROGRAM, test, "mean", test_format=test_format))
    wrong = pool.run(Job(NUMPY_WRONG, test, "mean", test_format=test_format))
    assert right.all_passed, right
    assert wrong.status == "failed" and wrong.pass_fraction == 0.5, wrong


def test_a_program_may_load_the_shared_libraries_of_the_standard_library(pool):
    """sqlite3 loads /usr/lib's libsqlite3 after the sandbox has switched to its own uid (bwrap made /usr 0700)."""
    program = "import sqlite3\n\ndef f():\n    return sqlite3.connect(':memory:').execute('select 2').fetchone()[0]\n"
    result = pool.run(Job(program, "def check(candidate):\n    assert candidate() == 2\n", "f"))
    assert result.all_passed, result.feedback


def _probe_source(host_file: str, port: int) -> str:
    """A function that reports, from inside a sandbox, what it can reach (run by the program AND by the tests)."""
    return (
        "import os, socket, sys\n"
        "import numpy\n\n"
        "def probe():\n"
        "    folder = os.path.dirname(numpy.__file__)\n"
        "    facts = {'read_only': bool(os.statvfs(folder).f_flag & os.ST_RDONLY)}\n"
        "    try:\n"
        "        with open(os.path.join(folder, 'written_by_the_sandbox.txt'), 'w') as handle:\n"
        "            handle.write('x')\n"
        "        facts['write'] = 'written'\n"
        "    except OSError:\n"
        "        facts['write'] = 'refused'\n"
        "    try:\n"
        f"        open({host_file!r}).read()\n"
        "        facts['host file'] = 'read'\n"
        "    except OSError:\n"
        "        facts['host file'] = 'refused'\n"
        "    try:\n"
        "        import torch\n"
        "        facts['other packages'] = 'imported'\n"
        "    except ImportError:\n"
        "        facts['other packages'] = 'absent'\n"
        "    try:\n"
        f"        socket.create_connection(('127.0.0.1', {port}), timeout=1).close()\n"
        "        facts['network'] = 'connected'\n"
        "    except OSError:\n"
        "        facts['network'] = 'refused'\n"
        "    return facts\n"
    )


EXPECTED_FACTS = {
    "read_only": True,
    "write": "refused",
    "host file": "refused",
    "other packages": "absent",
    "network": "refused",
}


def test_the_libraries_are_read_only_and_open_nothing_else_to_either_sandbox(pool):
    site_packages = Path(numpy.__file__).parent.parent
    host_file = site_packages / "torch" / "__init__.py"  # beside numpy on the host, hidden in the sandbox
    assert host_file.exists()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    probe = _probe_source(str(host_file), server.getsockname()[1])
    # The tests run the same probe in the judge's sandbox and compare both with what isolation promises.
    test = (
        f"{probe}\ndef check(candidate):\n    assert probe() == {EXPECTED_FACTS!r}\n"
        f"    assert candidate() == {EXPECTED_FACTS!r}\n"
    )
    try:
        result = pool.run(Job(probe, test, "probe", public_test=test))
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()
    assert not (Path(numpy.__file__).parent / "written_by_the_sandbox.txt").exists()
    assert result.all_passed, result.feedback
