"""Adversarial programs: each must fail with a clear reason, leave nothing behind and disturb nothing."""

from __future__ import annotations

import ast
import dataclasses
import os
import socket
import threading
import time

import pytest
from hfplug_code_exec.pool import Job

TEST_ONE = "def check(candidate):\n    assert candidate(1) == 2\n"
GOOD = "def f(x):\n    return x + 1\n"


def run_attack(pool, program: str, test: str = TEST_ONE, public_test: str | None = None):
    return pool.run(Job(program, test, "f", public_test=public_test))


@pytest.fixture
def no_leftovers(pool, pool_processes):
    """Every attack must leave the pool with exactly the processes it had, and the pool must still work."""
    before = pool_processes()
    yield
    deadline = time.monotonic() + 2.0
    while pool_processes() != before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool_processes() == before, "an attack left processes running"
    assert pool.run(Job(GOOD, TEST_ONE, "f")).status == "passed"


ATTACKS = {
    "infinite loop": ("def f(x):\n    while True:\n        pass\n", "timed out"),
    "sleep forever": ("import time\ndef f(x):\n    time.sleep(1000)\n", "timed out"),
    "loop at import": ("while True:\n    pass\n", "timed out"),
    "memory blow-up": ("def f(x):\n    return len(bytearray(4 * 1024**3))\n", "memory limit"),
    "memory blow-up at import": ("blob = [0] * (2 * 1024**3)\ndef f(x):\n    return x + 1\n", "memory limit"),
    "huge output": ("def f(x):\n    while True:\n        print('y' * 10000)\n", "output limit"),
    "many lines": ("def f(x):\n    while True:\n        print()\n", "output limit"),
    "huge return value": ("def f(x):\n    return 'z' * (50 * 1024**2)\n", "output limit"),
    "sys.exit at import": ("import sys\nsys.exit(0)\ndef f(x):\n    return x + 1\n", "did not load"),
    "os._exit at import": ("import os\nos._exit(0)\ndef f(x):\n    return x + 1\n", "exited early"),
    "os._exit in the function": ("import os\ndef f(x):\n    os._exit(0)\n", "exited early"),
    "sys.exit in the function": ("import sys\ndef f(x):\n    sys.exit(0)\n", "exception"),
    "raise KeyboardInterrupt": ("def f(x):\n    raise KeyboardInterrupt\n", "exception"),
    "kill itself": ("import os, signal\ndef f(x):\n    os.kill(os.getpid(), signal.SIGKILL)\n", "killed"),
    "segfault": ("import ctypes\ndef f(x):\n    return ctypes.string_at(0)\n", "crashed (segfault)"),
    "CPU limit": (
        "import resource\nresource.setrlimit(resource.RLIMIT_CPU, (1, 2))\ndef f(x):\n    while True:\n        pass\n",
        "CPU time limit",
    ),
    # Python ignores SIGXFSZ, so the file-size limit shows up as an OSError in the program.
    "file size limit": ("def f(x):\n    open('big', 'wb').write(b'0' * (64 * 1024**2))\n", "exception"),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_fails_with_a_clear_reason(pool, no_leftovers, name):
    program, reason = ATTACKS[name]
    limits = pool.limits
    if name == "CPU limit":  # one CPU second can take more than 3 s of wall time on a loaded machine
        limits = dataclasses.replace(limits, wall_time_s=30.0, test_time_s=30.0)
    started = time.monotonic()
    result = pool.run(Job(program, TEST_ONE, "f"), limits)
    assert result.status == "failed", name
    assert result.reason == reason, (name, result.reason, result.feedback)
    assert result.feedback and "All tests passed" not in result.feedback
    assert time.monotonic() - started < limits.wall_time_s + 5


def test_fork_bomb_is_contained_and_cleaned_up(pool, no_leftovers):
    program = (
        "import os\n"
        "def f(x):\n"
        "    while True:\n"
        "        try:\n"
        "            os.fork()\n"
        "        except OSError:\n"
        "            pass\n"
    )
    result = run_attack(pool, program)
    assert result.status == "failed" and result.reason in ("timed out", "CPU time limit")


def test_memory_spread_over_processes_is_capped_for_the_whole_run(pool, no_leftovers):
    program = (
        "import os, time\n"
        "def f(x):\n"
        "    for _ in range(10):\n"
        "        if os.fork() == 0:\n"
        "            block = bytearray(400 * 1024 * 1024)\n"
        "            for i in range(0, len(block), 4096):\n"
        "                block[i] = 1\n"
        "            time.sleep(10)\n"
        "            os._exit(0)\n"
        "    time.sleep(10)\n"
    )
    result = run_attack(pool, program)
    assert result.status == "failed"
    # With a memory cgroup (this machine and CI) the whole run is capped and says so; without one,
    # each process is still capped by RLIMIT_AS and the run ends at the wall-clock limit.
    assert result.reason == ("memory limit" if pool.memory_cgroup else "timed out"), result.feedback


def test_closing_a_pool_removes_its_cgroups():
    from hfplug_code_exec.pool import ExecutorPool

    with ExecutorPool(1) as executor:
        folders = [w.cgroup_folder for w in executor._workers]
        assert all(folders) == executor.memory_cgroup
        assert all(os.path.isdir(f) for f in folders if f)
    assert not any(os.path.exists(f) for f in folders if f)


FORK_ALL_YOU_CAN = (  # a program's helper: forks children that stay alive until a fork fails
    "def fork_all_you_can():\n"
    "    forks = 0\n"
    "    for _ in range(100):\n"
    "        try:\n"
    "            if os.fork() == 0:\n"
    "                time.sleep(5)\n"
    "                os._exit(0)\n"
    "            forks += 1\n"
    "        except OSError:\n"
    "            break\n"
    "    return forks\n"
)


def test_nested_user_namespaces_do_not_lift_the_process_limit(pool, no_leftovers):
    program = (
        f"import ctypes, os, time\n{FORK_ALL_YOU_CAN}"
        "def f(x):\n"
        "    unshared = ctypes.CDLL(None, use_errno=True).unshare(0x10000000) == 0\n"
        "    return [unshared, fork_all_you_can()]\n"
    )
    public = "def check(candidate):\n    assert candidate(0) == []\n"
    result = run_attack(pool, program, public, public_test=public)
    unshared, forks = ast.literal_eval(result.feedback.split("Actual: ")[1].split("\n")[0])
    assert forks < pool.limits.max_processes, (unshared, forks)


def test_sibling_user_namespaces_share_one_process_limit(pool, no_leftovers):
    """Four user namespaces side by side, each forking all it can: the run's limit holds for all of them
    together (the run's own user namespace records it as the cap of everything below it)."""
    program = (
        f"import ctypes, os, select, time\n{FORK_ALL_YOU_CAN}"
        "def f(x):\n"
        "    read_end, write_end = os.pipe()\n"
        "    leaders = 0\n"
        "    for _ in range(4):\n"
        "        try:\n"
        "            if os.fork() == 0:\n"
        "                ctypes.CDLL(None, use_errno=True).unshare(0x10000000)\n"
        "                os.write(write_end, bytes([fork_all_you_can()]))\n"
        "                time.sleep(5)\n"
        "                os._exit(0)\n"
        "            leaders += 1\n"
        "        except OSError:\n"
        "            break\n"
        "    counts = b''\n"
        "    while len(counts) < leaders and select.select([read_end], [], [], 1.5)[0]:\n"
        "        counts += os.read(read_end, 16)\n"
        "    return [leaders, sum(counts)]\n"
    )
    public = "def check(candidate):\n    assert candidate(0) == []\n"
    result = run_attack(pool, program, public, public_test=public)
    leaders, forks = ast.literal_eval(result.feedback.split("Actual: ")[1].split("\n")[0])
    assert leaders >= 2 and 1 + leaders + forks <= pool.limits.max_processes, (leaders, forks)


def test_double_forked_daemon_does_not_survive(pool, no_leftovers):
    program = (
        "import os, time\n"
        "def f(x):\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        "            while True:\n"
        "                time.sleep(0.01)\n"
        "        os._exit(0)\n"
        "    return x + 1\n"
    )
    result = run_attack(pool, program)
    assert result.status == "passed"  # the function is right; the daemon must still be gone (fixture)


def test_always_equal_objects_do_not_pass(pool, no_leftovers):
    for program in (
        "class Eq:\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return Eq()\n",
        "class I(int):\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return I(0)\n",
        "class S(str):\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return S('')\n",
    ):
        result = run_attack(pool, program, public_test=TEST_ONE)
        assert result.status == "failed" and result.reason == "unsupported return value", result.feedback
        assert "type Eq" in result.feedback or "type I" in result.feedback or "type S" in result.feedback


def test_type_confusion_does_not_pass(pool):
    assert run_attack(pool, "def f(x):\n    return 2.0\n").status == "failed"
    assert (
        run_attack(pool, "def f(x):\n    return True\n", "def check(candidate):\n    assert candidate(1) == 1\n").status
        == "failed"
    )


def test_forged_pass_output_and_channel_do_not_pass(pool, no_leftovers):
    program = (
        "import os, json\n"
        "print('All tests passed'); print('PASSED 1/1'); print('{\"status\": \"passed\"}')\n"
        "def f(x):\n"
        "    for fd in range(3, 64):\n"
        "        for call in range(1, 5):\n"
        "            try:\n"
        "                os.write(fd, (json.dumps({'call': call, 'value': 2}) + '\\n').encode())\n"
        "            except OSError:\n"
        "                pass\n"
        "    return 0\n"
    )
    result = run_attack(pool, program, "def check(candidate):\n    assert candidate(1) == 7\n")
    assert result.status == "failed"


def test_junk_on_the_result_channel_is_the_programs_failure(pool, no_leftovers):
    for junk in ("[]", "null", "{", "{}", '{"load": "ok"}', '{"call": 1, "value": {"t": 5}}', "x" * 100000):
        program = (
            "import os\n"
            "for fd in range(3, 64):\n"
            "    try:\n"
            f"        os.write(fd, ({junk!r} + '\\n').encode())\n"
            "    except OSError:\n"
            "        pass\n"
            "def f(x):\n"
            "    return 0\n"
        )
        result = run_attack(pool, program)
        assert result.status == "failed" and result.attempts == 1, (junk[:20], result)


def test_monkeypatching_the_harness_does_not_pass(pool, no_leftovers):
    program = (
        "import builtins, sys\n"
        "builtins.AssertionError = type('Never', (Exception,), {})\n"
        "for name, module in list(sys.modules.items()):\n"
        "    for attr in ('to_wire', 'encode_line', 'strict_equal', 'exit', '_exit'):\n"
        "        if hasattr(module, attr):\n"
        "            try:\n"
        "                setattr(module, attr, lambda *a, **k: None)\n"
        "            except Exception:\n"
        "                pass\n"
        "def f(x):\n"
        "    return 0\n"
    )
    result = run_attack(pool, program)
    assert result.status == "failed"


def test_no_files_outside_the_run_folder(pool, no_leftovers, tmp_path):
    sentinel = tmp_path / "sentinel.txt"
    sentinel.write_text("keep me")
    target = tmp_path / "created_by_program.txt"
    program = (
        "import os, shutil\n"
        "def f(x):\n"
        f"    for path in ({str(sentinel)!r}, '/usr/lib/os-release', '/hfplug_sandbox/zygote.py'):\n"
        "        try:\n"
        "            os.remove(path)\n"
        "        except OSError:\n"
        "            pass\n"
        f"    for path in ({str(target)!r}, '/etc/evil', '/usr/evil', '/hfplug_sandbox/evil', '/dev/evil'):\n"
        "        try:\n"
        "            open(path, 'w').write('x')\n"
        "        except OSError:\n"
        "            pass\n"
        "    open('inside.txt', 'w').write('fine')\n"
        "    return x + 1\n"
    )
    result = run_attack(pool, program)
    assert result.status == "passed"
    assert sentinel.read_text() == "keep me"
    assert not target.exists()
    assert pool.__class__.__module__ and os.path.exists(
        os.path.join(os.path.dirname(__import__("hfplug_code_exec").__file__), "sandbox", "zygote.py")
    )


def test_no_files_left_for_later_runs(pool):
    writer = "import os\ndef f(x):\n    open('leftover', 'w').write('x')\n    os.makedirs('d')\n    return 0\n"
    reader = "import os\ndef f(x):\n    return sorted(os.listdir('.')) + sorted(os.listdir('/tmp'))\n"
    pool.run_many([Job(writer, TEST_ONE, "f")] * 4)
    results = pool.run_many([Job(reader, "def check(candidate):\n    assert candidate(0) == []\n", "f")] * 4)
    assert all(r.status == "passed" for r in results), [r.feedback for r in results]


SECRET = "hfplug-test-secret-7d1e"


def test_environment_secrets_do_not_leak(pool, monkeypatch):
    monkeypatch.setenv("HFPLUG_CODE_EXEC_TEST_SECRET", SECRET)
    program = (
        "import os\n"
        "def f(x):\n"
        "    found = str(dict(os.environ))\n"
        "    for path in ('/proc/self/environ', '/proc/1/environ', '/proc/self/cmdline'):\n"
        "        try:\n"
        "            found += open(path, 'rb').read().decode(errors='replace')\n"
        "        except OSError as error:\n"
        "            found += repr(error)\n"
        "    return found\n"
    )
    public = "def check(candidate):\n    assert candidate(0) == 'nothing'\n"
    result = run_attack(pool, program, public, public_test=public)
    assert result.status == "failed"
    assert "Actual" in result.feedback  # the public test's actual value is shown...
    assert SECRET not in result.feedback  # ...and it holds no secret
    assert SECRET not in str(result.as_dict())


HIDDEN_MARKER = "expected-hidden-answer-93c1"


def test_hidden_tests_are_out_of_reach(pool, no_leftovers):
    hidden = f"def check(candidate):\n    assert candidate('probe') == {HIDDEN_MARKER!r}\n"
    program = (
        "import gc, os, sys\n"
        "def f(x):\n"
        "    marker = 'expected-hidden' + '-answer'\n"
        "    for obj in gc.get_objects():\n"
        "        if isinstance(obj, dict):\n"
        "            for value in list(obj.values()):\n"
        "                if isinstance(value, str) and marker in value:\n"
        "                    return value\n"
        "    frame = sys._getframe()\n"
        "    while frame is not None:\n"
        "        for value in list(frame.f_locals.values()):\n"
        "            if isinstance(value, str) and marker in value:\n"
        "                return value\n"
        "        frame = frame.f_back\n"
        "    for root, dirs, files in os.walk('/'):\n"
        "        for name in files:\n"
        "            try:\n"
        "                text = open(os.path.join(root, name), errors='ignore').read(1 << 20)\n"
        "            except OSError:\n"
        "                continue\n"
        "            if marker in text:\n"
        "                return text\n"
        "    return 'not found'\n"
    )
    limits = pool.limits.__class__(wall_time_s=30, cpu_time_s=30)
    result = pool.run(Job(program, hidden, "f"), limits)
    assert result.status == "failed"
    assert HIDDEN_MARKER not in str(result.as_dict())
    assert "probe" not in result.feedback  # hidden inputs are not shown either


def test_no_network(pool, no_leftovers):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    program = (
        "import socket\n"
        "def f(x):\n"
        "    errors = []\n"
        f"    for host in ('127.0.0.1', '1.1.1.1', 'example.com'):\n"
        "        try:\n"
        f"            socket.create_connection((host, {port} if host == '127.0.0.1' else 80), timeout=1).close()\n"
        "            errors.append('connected')\n"
        "        except OSError as error:\n"
        "            errors.append(type(error).__name__)\n"
        "    return errors\n"
    )
    result = run_attack(
        pool,
        program,
        "def check(candidate):\n    assert candidate(0) == ['x']\n",
        public_test="def check(candidate):\n    assert candidate(0) == ['x']\n",
    )
    with pytest.raises(TimeoutError):
        server.accept()
    server.close()
    assert "connected" not in result.feedback


def test_killing_other_processes_disturbs_nothing(pool, no_leftovers):
    killer = (
        "import os, signal\n"
        "def f(x):\n"
        "    for pid in [-1] + list(range(1, 5000)):\n"
        "        try:\n"
        "            os.kill(pid, signal.SIGKILL)\n"
        "        except OSError:\n"
        "            pass\n"
        "    return x + 1\n"
    )
    slow_good = "import time\ndef f(x):\n    time.sleep(0.3)\n    return x + 1\n"
    jobs = [Job(killer, TEST_ONE, "f"), Job(slow_good, TEST_ONE, "f")] * 3
    results = pool.run_many(jobs)
    for job_, result in zip(jobs, results, strict=True):
        if job_.program == slow_good:
            assert result.status == "passed" and result.attempts == 1, result.feedback
        else:
            assert result.status != "infrastructure_error"


def test_attacks_do_not_disturb_concurrent_runs(pool, no_leftovers):
    attacks = [program for program, _ in ATTACKS.values()][:6]
    jobs = [Job(GOOD, TEST_ONE, "f") if i % 2 else Job(attacks[i // 2], TEST_ONE, "f") for i in range(12)]
    results = pool.run_many(jobs)
    assert all(r.status == "passed" for i, r in enumerate(results) if i % 2)
    assert all(r.status == "failed" for i, r in enumerate(results) if not i % 2)


def test_output_of_200mb_costs_no_more_than_the_cap(pool, no_leftovers):
    program = "import sys\ndef f(x):\n    for _ in range(200):\n        sys.stdout.write('x' * (1 << 20))\n"
    rss_before = _rss_kb(os.getpid())
    workers_before = [_rss_kb(w.process.pid) for w in pool._workers]
    started = time.monotonic()
    result = run_attack(pool, program)
    assert result.reason == "output limit"
    assert time.monotonic() - started < 3
    assert _rss_kb(os.getpid()) - rss_before < 20 * 1024
    for worker, before in zip(pool._workers, workers_before, strict=True):
        assert _rss_kb(worker.process.pid) - before < 20 * 1024


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))


def test_runs_are_unprivileged(pool):
    program = "import os\ndef f(x):\n    return [os.getuid(), os.geteuid(), len(os.listdir('/proc'))]\n"
    public = "def check(candidate):\n    assert candidate(0) == []\n"
    result = pool.run(Job(program, public, "f", public_test=public))
    assert "Actual: [" in result.feedback
    uid, euid, visible = ast.literal_eval(result.feedback.split("Actual: ")[1].split("\n")[0])
    assert uid == euid and uid != 0 and visible == 0


def test_concurrent_callers_share_the_pool(pool):
    outcomes = []

    def worker() -> None:
        outcomes.append(pool.run(Job(GOOD, TEST_ONE, "f")).status)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["passed"] * 6
