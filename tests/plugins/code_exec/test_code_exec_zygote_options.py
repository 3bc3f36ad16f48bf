"""The zygote's command line and the modules its runs inherit.

The zygote reads its options without argparse and imports tempfile/shutil only at the opt-out level: every module
it holds is heap that each run's fork copies (argparse alone was 1.3 MB of the zygote's 7 MB, about 0.3 ms of CPU
per run; see the README's "The cost of one run")."""

from __future__ import annotations

import importlib
import sys

import pytest
from hfplug_code_exec.isolation import SANDBOX_FOLDER, bwrap_command, plain_command
from hfplug_code_exec.pool import Job

HEAVY_UNNEEDED = ("argparse", "tempfile", "shutil", "gettext", "random")


@pytest.fixture(scope="module")
def zygote():
    sys.path.insert(0, str(SANDBOX_FOLDER))
    try:
        yield importlib.import_module("zygote")
    finally:
        while str(SANDBOX_FOLDER) in sys.path:  # the zygote puts its folder there too, as inside the sandbox
            sys.path.remove(str(SANDBOX_FOLDER))


def options_of(argv: list[str]) -> list[str]:
    return argv[next(i for i, arg in enumerate(argv) if arg.endswith("zygote.py")) + 1 :]


def test_the_zygote_reads_the_command_lines_that_isolation_writes(zygote):
    judge = zygote.parse_options(options_of(bwrap_command(5, 6, 61000, role="judge", peer=(7, 8))))
    assert (judge.mode, judge.role, judge.chan_in, judge.chan_out, judge.uid) == ("plain", "judge", 5, 6, 61000)
    assert (judge.peer_in, judge.peer_out, judge.plain_root) == (7, 8, None)
    program = zygote.parse_options(options_of(bwrap_command(3, 4, None)))
    assert (program.mode, program.role, program.uid, program.peer_in, program.peer_out) == (
        "ns",
        "candidate",
        -1,
        -1,
        -1,
    )
    plain = zygote.parse_options(options_of(plain_command(3, 4, "/srv/runs", peer=(9, 10))))
    assert (plain.mode, plain.plain_root, plain.peer_in, plain.peer_out) == ("plain", "/srv/runs", 9, 10)
    assert plain.libraries == sorted(plain.libraries) and all(isinstance(f, str) for f in plain.libraries)
    twice = zygote.parse_options(
        ["--mode", "ns", "--chan-in", "1", "--chan-out", "2", "--libraries", "/a", "--libraries", "/b"]
    )
    assert twice.libraries == ["/a", "/b"]


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--mode", "ns", "--chan-in", "1"], r"missing \['chan_out'\]"),
        (["--mode", "fork", "--chan-in", "1", "--chan-out", "2"], r"not allowed \['mode=fork'\]"),
        (["--mode", "ns", "--chan-in", "1", "--chan-out", "2", "--colour", "red"], "unknown option --colour"),
        (["--mode", "ns", "--chan-in"], "expected --name value pairs"),
        (["--mode", "ns", "--chan-in", "one", "--chan-out", "2"], "--chan-in takes a number, got 'one'"),
    ],
)
def test_a_bad_zygote_command_line_stops_it_naming_the_problem(zygote, argv, named):
    with pytest.raises(SystemExit, match=named):
        zygote.parse_options(argv)


def test_a_run_inherits_none_of_the_modules_only_the_zygote_start_needed(pool):
    program = "import sys\ndef loaded():\n    return sorted(sys.modules)\n"
    check = f"def check(candidate):\n    assert not set({HEAVY_UNNEEDED!r}) & set(candidate())\n"
    sanity = "def check(candidate):\n    assert {'typing', 're', 'collections', 'json'} <= set(candidate())\n"
    results = pool.run_many([Job(program, check, "loaded"), Job(program, sanity, "loaded")])
    assert [r.status for r in results] == ["passed", "passed"], [r.feedback for r in results]
