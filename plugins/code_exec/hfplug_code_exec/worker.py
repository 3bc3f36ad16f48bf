"""A pool worker: a fresh process (``python -m hfplug_code_exec.worker``) that owns two sandboxes.

The program runs in one sandbox, the judge (the dataset's tests) in another; the worker only
relays data between them and never executes anything from a dataset or a model: it parses JSON,
forwards call requests from the judge to the program and the program's replies back, and turns
the judge's per-test outcomes into a result. Requests and results are JSON lines on stdin/stdout.
A sandbox failure is answered as ``infrastructure_error`` and the sandboxes are restarted.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sys
import time
from typing import Any

from hfplug_code_exec.cgroup import MemoryCgroup, worker_cgroup_name
from hfplug_code_exec.errors import WorkerFailure
from hfplug_code_exec.limits import ExecutionLimits
from hfplug_code_exec.results import build_result, outcomes_from_judge
from hfplug_code_exec.sandbox_client import CGROUP_HEADROOM_MB, RunAborted, RunRecord, Sandbox

JUDGE_MEMORY_MB = 512
JUDGE_GRACE_S = 5.0  # time the judge may take after the program's wall-clock limit (its own comparisons)
JUDGE_MAX_LINE = 1 << 24


def judge_limits(limits: ExecutionLimits) -> dict[str, Any]:
    """The judge run's rlimits: no file writes, a few processes, its own memory and CPU budget."""
    values = limits.as_dict()
    values.update(memory_mb=JUDGE_MEMORY_MB, cpu_time_s=limits.wall_time_s + JUDGE_GRACE_S, max_file_mb=1)
    return values


def _stdio_program(request: dict[str, Any]) -> bool:
    return any(t["format"] == "stdio" and not (t["test"] or {}).get("fn_name") for t in request["tests"])


def _missing(record: RunRecord, required: str) -> bool:
    """Whether the function the tests need is absent (``Solution().name`` counts, as in APPS/TACO)."""
    return bool(required) and required not in record.names and "Solution" not in record.names


_runs = itertools.count(1)


class Relay:
    """One row: the program's run and the judge's run, with every message between them passing here."""

    def __init__(self, candidate: Sandbox, judge: Sandbox, request: dict[str, Any]) -> None:
        self.candidate, self.judge, self.request = candidate, judge, request
        self.limits = ExecutionLimits(**request["limits"])
        self.record = RunRecord()
        self.deadline = time.monotonic() + self.limits.wall_time_s
        self.judge_started = False
        self.judge_finished = False
        self.run_id = next(_runs)

    def load_program(self) -> None:
        mode = "stdio" if _stdio_program(self.request) else "call"
        if self.candidate.cgroup is not None:
            # The program's processes together (tmpfs folder included) plus room for the zygote.
            cap = self.limits.memory_mb + self.limits.folder_mb + CGROUP_HEADROOM_MB
            self.candidate.cgroup.set_limit(cap * 1024 * 1024)
            self.oom_before = self.candidate.cgroup.oom_kills()
        if self.judge.cgroup is not None:
            self.judge.cgroup.set_limit((JUDGE_MEMORY_MB + CGROUP_HEADROOM_MB) * 1024 * 1024)
        self.candidate.begin(
            {"program": self.request["program"], "mode": mode}, self.limits.as_dict(), self.limits.max_value_bytes
        )
        # The judge's run starts (forks, sets up) while the program loads; it waits for the program's names.
        request = {key: self.request.get(key) for key in ("tests", "entry_point", "strict_types", "test_time_s")}
        self.judge.begin({**request, "run": self.run_id}, judge_limits(self.limits), JUDGE_MAX_LINE)
        self.judge_started = True
        self.candidate.confirm()
        self.judge.confirm()
        try:
            loaded = self.candidate.receive(self.deadline)
        except RunAborted as aborted:
            self.record.aborted = aborted
            return
        record = self.record
        record.load = str(loaded.get("load"))
        record.load_error = str(loaded.get("error", ""))[:4000]
        record.load_error_type = str(loaded.get("type", ""))[:100]
        names = loaded.get("names")
        record.names = {str(k)[:100]: str(v)[:10] for k, v in names.items()} if isinstance(names, dict) else {}
        if record.load == "ok" and _missing(record, self.request.get("required_name", "")):
            record.load = "missing"

    def judge_tests(self) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None, str]:
        """(plan, outcomes, spec_error): what the judge listed and reported (outcomes None if it did not finish).

        The judge calls the program directly; the worker only tells it when the program's run ended or
        its time is up, and waits for the judge's report."""
        grace_deadline = self.deadline + JUDGE_GRACE_S
        plan = None
        told = self.record.load != "ok"  # a program that did not load gets no calls: nothing to watch
        try:
            self.judge.send({"run": self.run_id, "names": self.record.names, "load": self.record.load}, grace_deadline)
            while True:
                if not told and (self.record.aborted is not None or self.candidate_ended()):
                    told = True
                    self.tell_judge("ended" if self.record.aborted is None else self.record.aborted.reason)
                if not told and time.monotonic() >= self.deadline:
                    told = True
                    self.tell_judge("timed out")
                watch = [] if told else [self.candidate.control_fd]
                limit = grace_deadline if told else self.deadline
                if not self.judge.wait(watch, limit):
                    continue
                message = self.judge.receive(grace_deadline)
                if "spec_error" in message:
                    return plan, None, str(message["spec_error"])[:2000]
                if "plan" in message and plan is None and isinstance(message["plan"], list):
                    plan = message["plan"]
                elif "done" in message and plan is not None and isinstance(message["done"], list):
                    self.judge_finished = True
                    self.note_judge_abort(message.get("aborted"))
                    return plan, message["done"], ""
                else:
                    return plan, None, ""
        except RunAborted as aborted:
            if aborted.reason == "timed out" and self.record.aborted is None:
                self.record.aborted = RunAborted("timed out")
            return plan, None, ""

    def candidate_ended(self) -> bool:
        """Whether the program's run has ended by itself (its zygote reported it)."""
        return self.record.load == "ok" and self.candidate.run_ended()

    def tell_judge(self, reason: str) -> None:
        if self.record.aborted is None:
            self.record.aborted = RunAborted(reason)
        with contextlib.suppress(RunAborted):
            self.judge.send({"run": self.run_id, "aborted": reason}, self.deadline + JUDGE_GRACE_S)

    def note_judge_abort(self, aborted: Any) -> None:
        """Why the judge stopped calling the program (a per-test time-out only the judge sees)."""
        if self.record.aborted is None and isinstance(aborted, list) and len(aborted) == 2:
            self.record.aborted = RunAborted(str(aborted[0])[:100], str(aborted[1])[:1000])

    def finish(self) -> dict[str, Any]:
        record = self.record
        done = self.candidate.end()
        if self.judge_started:
            self.judge.end(keep=self.judge_finished)
        record.exit_code = done.get("exit")
        record.limit = done.get("limit")
        if self.candidate.cgroup is not None:
            record.extras["memory_cgroup_hit"] = self.candidate.cgroup.oom_kills() > self.oom_before
        return done


def handle(candidate: Sandbox, judge: Sandbox, request: dict[str, Any]) -> dict[str, Any]:
    """Run one program against its tests and return the result as a dict."""
    started = time.monotonic()
    relay = Relay(candidate, judge, request)
    relay.load_program()
    try:
        plan, outcomes, spec_error = relay.judge_tests()
    finally:
        relay.finish()
    if spec_error:
        return {"spec_error": spec_error}
    if plan is None:
        raise WorkerFailure("the judge ended before listing the tests")
    tests = outcomes_from_judge(plan, outcomes, values=request["tests"][0]["format"] == "values")
    result = build_result(relay.record, tests, relay.limits, judge_finished=outcomes is not None)
    result.isolation = candidate.level
    result.duration_s = time.monotonic() - started
    return result.as_dict()


def _reply(message: dict[str, Any]) -> None:
    sys.stdout.buffer.write(json.dumps(message).encode() + b"\n")
    sys.stdout.buffer.flush()


def _restart(sandboxes: tuple[Sandbox, Sandbox]) -> None:
    for sandbox in sandboxes:
        sandbox.close()
    for sandbox in sandboxes:
        sandbox.start()


def serve(candidate: Sandbox, judge: Sandbox) -> None:
    """Answer requests until stdin closes; returns early if a sandbox cannot be restarted."""
    try:
        candidate.start()
        judge.start()
    except (WorkerFailure, OSError) as error:
        _reply({"hello": False, "error": str(error)})
        return
    _reply({"hello": True, "memory_cgroup": str(candidate.cgroup.folder) if candidate.cgroup else None})
    for line in sys.stdin.buffer:
        try:
            _reply(handle(candidate, judge, json.loads(line)))
        except Exception as error:  # a bug of ours or a sandbox failure, never the program's doing
            if not isinstance(error, WorkerFailure):
                error = WorkerFailure(f"worker error: {type(error).__name__}: {error}")
            _reply({"infrastructure_error": str(error)})
            try:
                _restart((candidate, judge))
            except (WorkerFailure, OSError):
                return  # the pool sees the exit and starts a new worker


def main() -> None:
    config = json.loads(sys.argv[1])
    # Calls and replies go straight between the two sandboxes on these pipes (never through the worker).
    judge_to_program, program_to_judge = os.pipe(), os.pipe()
    wanted = config.get("memory_cgroup", True)
    cgroups = {
        role: MemoryCgroup.create(worker_cgroup_name(os.getpid(), role)) if wanted else None
        for role in ("candidate", "judge")
    }
    run_uid = config.get("run_uid")
    candidate = Sandbox(config["level"], run_uid, cgroups["candidate"], peer=(judge_to_program[0], program_to_judge[1]))
    judge_uid = None if run_uid is None else run_uid + 1000
    judge = Sandbox(
        config["level"], judge_uid, cgroups["judge"], role="judge", peer=(program_to_judge[0], judge_to_program[1])
    )
    try:
        serve(candidate, judge)
    finally:
        candidate.close()
        judge.close()
        for cgroup in cgroups.values():
            if cgroup is not None:
                cgroup.remove()


if __name__ == "__main__":
    main()
