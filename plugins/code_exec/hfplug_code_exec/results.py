"""The result of one run and the feedback text a model may see.

Feedback is built from PUBLIC tests only: hidden tests contribute counts and nothing else (no
input, no expected value, no exception message, no program output, which could echo inputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hfplug_code_exec.limits import ExecutionLimits
from hfplug_code_exec.sandbox_client import RunRecord

STATUSES = ("passed", "failed", "error", "not_run")
MAX_DETAIL_CHARS = 3000
MAX_VALUE_CHARS = 100_000  # values reported by the judge's ``values`` suite (building task sets)


@dataclass
class TestOutcome:
    """The result of one test. ``detail`` and ``source`` are only kept for public tests."""

    index: int
    visibility: str  # "public" | "hidden"
    status: str  # "passed" | "failed" | "error" | "not_run"
    source: str = ""
    detail: str = ""
    error_type: str = ""

    @property
    def passed(self) -> bool:
        """True when the test ran to its end without any exception."""
        return self.status == "passed"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form; a hidden test's source and detail are left out."""
        public = self.visibility == "public"
        return {
            "index": self.index,
            "visibility": self.visibility,
            "status": self.status,
            "source": self.source if public else "",
            "detail": self.detail if public else "",
            "error_type": self.error_type,
        }


def outcomes_from_judge(plan: list[Any], outcomes: list[Any] | None, values: bool = False) -> list[TestOutcome]:
    """The judge's report as outcomes, checked: every planned test is counted, hidden ones stay blank.

    The judge runs dataset code, so its messages are data to validate: a test it listed but did not
    report (it stopped early) is ``not_run``, which counts as not passed.
    """
    tests = []
    for index, planned in enumerate(plan):
        planned = planned if isinstance(planned, dict) else {}
        visibility = "public" if planned.get("visibility") == "public" else "hidden"
        reported = outcomes[index] if outcomes is not None and index < len(outcomes) else {}
        reported = reported if isinstance(reported, dict) else {}
        status = reported.get("status") if reported.get("status") in STATUSES else "not_run"
        public = visibility == "public"
        tests.append(
            TestOutcome(
                index=index,
                visibility=visibility,
                status=status,
                source=str(planned.get("source", ""))[:MAX_DETAIL_CHARS] if public else "",
                detail=str(reported.get("detail", ""))[: MAX_VALUE_CHARS if values else MAX_DETAIL_CHARS]
                if public
                else "",
                error_type=str(reported.get("error_type", ""))[:100],
            )
        )
    return tests


SIGNALS = {
    128 + 9: "killed",
    128 + 24: "CPU time limit",
    128 + 25: "file size limit",
    128 + 11: "crashed (segfault)",
    128 + 6: "crashed (abort)",
}


@dataclass
class ExecutionResult:
    """What the executor reports for one program.

    ``status`` is ``passed`` (every hidden test passed), ``failed``, or ``infrastructure_error``
    (the worker or sandbox broke even after retries: not the program's fault, score it as missing).
    ``reason`` is a short machine-readable cause of failure: ``wrong answer``, ``exception``,
    ``timed out``, ``memory limit``, ``output limit``, ``CPU time limit``, ``exited early``,
    ``did not load``, ``missing function``, ``protocol``, ...
    """

    status: str
    passed: int = 0
    total: int = 0
    reason: str = ""
    feedback: str = ""
    tests: list[TestOutcome] = field(default_factory=list)
    isolation: str = ""
    duration_s: float = 0.0
    attempts: int = 1

    @property
    def pass_fraction(self) -> float:
        """Fraction of hidden tests passed (0.0 when the run never got to them)."""
        return self.passed / self.total if self.total else 0.0

    @property
    def all_passed(self) -> bool:
        """True when every hidden test passed."""
        return self.status == "passed"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (what the worker sends back; hidden tests' sources are already blank)."""
        return {
            "status": self.status,
            "passed": self.passed,
            "total": self.total,
            "pass_fraction": self.pass_fraction,
            "reason": self.reason,
            "feedback": self.feedback,
            "tests": [t.as_dict() for t in self.tests],
            "isolation": self.isolation,
            "duration_s": self.duration_s,
            "attempts": self.attempts,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExecutionResult:
        """Inverse of :meth:`as_dict`."""
        tests = [
            TestOutcome(t["index"], t["visibility"], t["status"], t["source"], t["detail"], t["error_type"])
            for t in data.get("tests", [])
        ]
        fields = {
            k: data[k]
            for k in ("status", "passed", "total", "reason", "feedback", "isolation", "duration_s", "attempts")
            if k in data
        }
        return cls(tests=tests, **fields)


def _run_reason(record: RunRecord, limits: ExecutionLimits) -> tuple[str, str]:
    """(reason, sentence) for a run that ended before its tests did, else ("", "")."""
    if record.limit == "output":
        return "output limit", (
            f"The program exceeded the output limit ({limits.max_output_bytes} bytes or "
            f"{limits.max_output_lines} lines) and was stopped."
        )
    aborted = record.aborted
    if record.extras.get("memory_cgroup_hit") and record.exit_code == 128 + 9:
        return "memory limit", f"The program was killed at the memory limit ({limits.memory_mb} MB)."
    if aborted is not None and aborted.reason == "timed out" and aborted.detail == "test":
        return "timed out", f"A test timed out (limit {limits.test_time_s:g} s per test)."
    if (aborted is not None and aborted.reason == "timed out") or record.limit == "wall":
        return "timed out", f"The program timed out (wall-clock limit {limits.wall_time_s:g} s)."
    if aborted is not None and aborted.reason == "output limit":
        return "output limit", "A returned value exceeded the size limit."
    if aborted is not None and aborted.reason == "protocol":
        return "protocol", "The program interfered with the test harness's channel and was stopped."
    if record.exit_code in SIGNALS and aborted is not None:
        name = SIGNALS[record.exit_code]
        return name, f"The program was stopped: {name}."
    if aborted is not None and aborted.reason == "ended":
        return "exited early", f"The program exited before the tests finished (exit status {record.exit_code})."
    if aborted is not None:
        return aborted.reason, f"The tests could not finish: {aborted.detail or aborted.reason}."
    return "", ""


def _failure_reason(outcome: TestOutcome) -> str:
    if outcome.error_type == "MemoryError":
        return "memory limit"
    if outcome.error_type == "UnsupportedReturnValue":
        return "unsupported return value"
    return "exception" if outcome.status == "error" else "wrong answer"


def build_result(
    record: RunRecord, outcomes: list[TestOutcome], limits: ExecutionLimits, judge_finished: bool = True
) -> ExecutionResult:
    """Score a finished run: pass counts from hidden tests, feedback from public ones.

    A test passes only if the judge saw it pass; a run that stopped early is never "passed"."""
    hidden = [o for o in outcomes if o.visibility == "hidden"]
    public = [o for o in outcomes if o.visibility == "public"]
    passed = sum(o.passed for o in hidden)
    result = ExecutionResult(
        status="passed" if hidden and passed == len(hidden) else "failed",
        passed=passed,
        total=len(hidden),
        tests=outcomes,
    )
    if record.load == "missing":
        result.reason, result.feedback = "missing function", "The program does not define the function under test."
        return result
    if record.load == "error":
        result.reason = "memory limit" if record.load_error_type == "MemoryError" else "did not load"
        result.feedback = f"The program failed before any test ran:\n{record.load_error.strip()}"
        return result
    reason, sentence = _run_reason(record, limits)
    if record.load == "not_started" and not reason:
        reason, sentence = "exited early", f"The program exited while loading (exit status {record.exit_code})."
    if not judge_finished and not reason:
        reason, sentence = "tests ended early", "The tests stopped before they finished."
    if reason and result.status == "passed":  # defence in depth: an interrupted run never passes
        result.status = "failed"
    first_public_failure = next((o for o in public if not o.passed), None)
    first_hidden_failure = next((o for o in hidden if not o.passed), None)
    first_failure = first_hidden_failure or first_public_failure
    result.reason = reason or (_failure_reason(first_failure) if first_failure is not None else "")
    parts = [sentence] if sentence else []
    if first_public_failure is not None and first_public_failure.status != "not_run":
        parts.append(f"Failed test: {first_public_failure.source}\n{first_public_failure.detail}".strip())
    elif first_hidden_failure is not None and not sentence:
        # Hidden tests show only what kind of failure it was: no input, value or message.
        error_type = first_hidden_failure.error_type
        if first_hidden_failure.status == "error":
            kind = f"the function raised {error_type}"
        elif error_type and error_type != "AssertionError":
            kind = f"checking the result raised {error_type}"
        else:
            kind = "a wrong result"
        parts.append(f"A hidden test failed: {kind}.")
    if public:
        parts.append(f"{sum(o.passed for o in public)} of {len(public)} public tests passed.")
    if hidden and result.status == "failed":
        parts.append(f"{passed} of {len(hidden)} hidden tests passed.")
    if result.status == "passed":
        parts.insert(0, "All tests passed.")
    result.feedback = "\n".join(parts)
    return result
