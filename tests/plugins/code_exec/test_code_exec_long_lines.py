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


def test_the_line_buffer_joins_reads_splits_lines_and_refuses_an_endless_line():
    """``wire.LineBuffer``, the one reader all three processes use: a line spanning several reads comes out whole,
    two lines in one read come out one at a time, end of file reads as b"", and a line without its newline
    past ``max_line`` raises the caller's error."""
    import os
    import threading

    read_end, write_end = os.pipe()
    long = b"x" * (3 * wire.READ_CHUNK)  # more than a pipe holds: written from a thread while we read

    def write_then_close():
        with os.fdopen(write_end, "wb") as writer:
            writer.write(long + b"\nshort\nlast\n")

    writing = threading.Thread(target=write_then_close)
    writing.start()
    lines = wire.LineBuffer(read_end)
    assert [lines.readline(), lines.readline(), lines.readline(), lines.readline()] == [long, b"short", b"last", b""]
    writing.join()
    os.close(read_end)

    class TooLong(Exception):
        pass

    read_end, write_end = os.pipe()
    os.write(write_end, b"y" * 100)
    capped = wire.LineBuffer(read_end, max_line=99, too_long=TooLong)
    try:
        capped.feed()
    except TooLong:
        pass
    else:
        raise AssertionError("a 100-byte line passed a 99-byte cap")
    os.write(write_end, b"\nleft over\n")
    capped.drain()
    assert capped.buffer == b"" and not capped.has_line()
    os.write(write_end, b"fresh\n")
    assert capped.readline() == b"fresh"
    os.close(read_end)
    os.close(write_end)
