"""A message longer than one read of a pipe (64 KB, ``wire.READ_CHUNK``; a pipe holds no more) is put together
from several reads: a returned value of about 1 MB reaches the judge whole, and is compared as the program sent it."""

from __future__ import annotations

from hfplug_code_exec.pool import Job
from hfplug_code_exec.sandbox import wire

SIZE = 16 * wire.READ_CHUNK + 7
PROGRAM = "def long_text(n):\n    return 'ab' * (n // 2) + {last!r}\n"
CHECK = f"def check(candidate):\n    assert candidate({SIZE - 1}) == 'ab' * {(SIZE - 1) // 2} + 'c'\n"


def test_a_value_of_many_reads_reaches_the_judge_whole(pool):
    right, wrong = (Job(PROGRAM.format(last=last), CHECK, "long_text") for last in ("c", "d"))
    results = pool.run_many([right, wrong])
    assert [r.status for r in results] == ["passed", "failed"], [r.feedback for r in results]
    assert results[1].reason == "wrong answer"  # compared, not cut off (a cut line would be a protocol error)
