"""Verdicts from the judge's outcomes, without a sandbox: only hidden tests score, an empty hidden
suite is never a pass (and a stdio row with no pair is refused), a run that ended early never passes,
every planned test counts (unreported ones as not run), and each way a run can end has its reason.
No sandbox runs here, so mutation testing can run these (test_code_exec_guards_sandboxed.py runs the
same guards through the sandbox)."""

from __future__ import annotations

import json

import pytest
from hfplug_code_exec import results
from hfplug_code_exec.formats import jobs_for
from hfplug_code_exec.limits import ExecutionLimits
from hfplug_code_exec.results import build_result, outcomes_from_judge
from hfplug_code_exec.rewards import unit_tests, unit_tests_all
from hfplug_code_exec.sandbox_client import RunAborted, RunRecord

from hfplug.errors import DatasetError

LIMITS = ExecutionLimits()


def _outcome(index: int, visibility: str, status: str, **fields) -> results.TestOutcome:
    return results.TestOutcome(index, visibility, status, **fields)


def _loaded(**fields) -> RunRecord:
    return RunRecord(**{"load": "ok", "exit_code": 0, **fields})


def _scores(result) -> tuple[float | None, float | None]:
    return unit_tests.score(result), unit_tests_all.score(result)


@pytest.mark.parametrize(
    "public",
    [[], [_outcome(0, "public", "passed")], [_outcome(0, "public", "passed"), _outcome(1, "public", "passed")]],
)
def test_an_empty_hidden_suite_is_never_a_pass(public):
    result = build_result(_loaded(), public, LIMITS)
    assert (result.status, result.passed, result.total, result.pass_fraction) == ("failed", 0, 0, 0.0)
    assert not result.all_passed and _scores(result) == (0.0, 0.0)
    assert "All tests passed" not in result.feedback


def test_only_hidden_tests_score():
    outcomes = [
        _outcome(0, "public", "failed", source="assert add(1, 2) == 3", detail="Expected: 3\nActual: -1"),
        _outcome(1, "hidden", "passed"),
        _outcome(2, "hidden", "passed"),
    ]
    result = build_result(_loaded(), outcomes, LIMITS)
    assert (result.status, result.passed, result.total) == ("passed", 2, 2)
    assert result.tests is outcomes
    everything_passed = build_result(_loaded(), [_outcome(0, "public", "passed"), *outcomes[1:]], LIMITS)
    assert (everything_passed.reason, everything_passed.feedback) == (
        "",
        "All tests passed.\n1 of 1 public tests passed.",
    )
    assert _scores(result) == (1.0, 1.0)
    assert result.feedback.splitlines()[0] == "All tests passed."
    assert "Failed test: assert add(1, 2) == 3\nExpected: 3\nActual: -1" in result.feedback
    assert "0 of 1 public tests passed." in result.feedback


def test_partly_passed_hidden_tests_score_their_fraction_and_not_run_ones_count():
    outcomes = [_outcome(0, "hidden", "passed"), _outcome(1, "hidden", "failed"), _outcome(2, "hidden", "not_run")]
    outcomes.append(_outcome(3, "hidden", "passed"))
    result = build_result(_loaded(), outcomes, LIMITS)
    assert (result.status, result.passed, result.total) == ("failed", 2, 4)
    assert _scores(result) == (0.5, 0.0)
    assert result.reason == "wrong answer"
    assert result.feedback == "A hidden test failed: a wrong result.\n2 of 4 hidden tests passed."


@pytest.mark.parametrize(
    "status, error_type, reason, sentence",
    [
        ("error", "ZeroDivisionError", "exception", "the function raised ZeroDivisionError"),
        ("failed", "TypeError", "wrong answer", "checking the result raised TypeError"),
        ("failed", "AssertionError", "wrong answer", "a wrong result"),
        ("failed", "", "wrong answer", "a wrong result"),
        ("error", "MemoryError", "memory limit", "the function raised MemoryError"),
        ("failed", "UnsupportedReturnValue", "unsupported return value", "checking the result raised"),
    ],
)
def test_a_hidden_failure_names_its_kind_only(status, error_type, reason, sentence):
    outcomes = [_outcome(0, "hidden", "passed"), _outcome(1, "hidden", status, error_type=error_type)]
    result = build_result(_loaded(), outcomes, LIMITS)
    assert result.reason == reason
    assert f"A hidden test failed: {sentence}" in result.feedback
    assert "1 of 2 hidden tests passed." in result.feedback


ALL_HIDDEN_PASSED = [_outcome(0, "hidden", "passed"), _outcome(1, "hidden", "passed")]


@pytest.mark.parametrize(
    "record, judge_finished, reason, sentence",
    [
        (
            _loaded(limit="output"),
            True,
            "output limit",
            "The program exceeded the output limit (65536 bytes or 2000 lines) and was stopped.",
        ),
        (
            _loaded(exit_code=137, extras={"memory_cgroup_hit": True}),
            True,
            "memory limit",
            "The program was killed at the memory limit (1024 MB).",
        ),
        (_loaded(exit_code=137, aborted=RunAborted("ended")), True, "killed", "The program was stopped: killed."),
        (_loaded(aborted=RunAborted("timed out", "test")), True, "timed out", "A test timed out (limit 5 s per test)."),
        (_loaded(aborted=RunAborted("timed out")), True, "timed out", "The program timed out (wall-clock limit 10 s)."),
        (_loaded(limit="wall"), True, "timed out", "The program timed out (wall-clock limit 10 s)."),
        (
            _loaded(aborted=RunAborted("output limit")),
            True,
            "output limit",
            "A returned value exceeded the size limit.",
        ),
        (
            _loaded(aborted=RunAborted("protocol")),
            True,
            "protocol",
            "The program interfered with the test harness's channel and was stopped.",
        ),
        (
            _loaded(exit_code=128 + 24, aborted=RunAborted("ended")),
            True,
            "CPU time limit",
            "The program was stopped: CPU time limit.",
        ),
        (
            _loaded(exit_code=128 + 11, aborted=RunAborted("ended")),
            True,
            "crashed (segfault)",
            "The program was stopped: crashed (segfault).",
        ),
        (
            _loaded(exit_code=3, aborted=RunAborted("ended")),
            True,
            "exited early",
            "The program exited before the tests finished (exit status 3).",
        ),
        (
            _loaded(aborted=RunAborted("tests errored", "boom")),
            True,
            "tests errored",
            "The tests could not finish: boom.",
        ),
        (
            RunRecord(load="not_started", exit_code=1),
            True,
            "exited early",
            "The program exited while loading (exit status 1).",
        ),
        (_loaded(), False, "tests ended early", "The tests stopped before they finished."),
    ],
)
def test_a_run_that_ended_early_never_passes_and_says_why(record, judge_finished, reason, sentence):
    result = build_result(record, ALL_HIDDEN_PASSED, LIMITS, judge_finished=judge_finished)
    assert result.status == "failed" and not result.all_passed and unit_tests_all.score(result) == 0.0
    assert result.reason == reason
    assert result.feedback.splitlines()[0] == sentence
    assert "All tests passed" not in result.feedback


def test_a_program_that_did_not_load_fails_with_the_load_error():
    not_run = [_outcome(0, "hidden", "not_run")]
    missing = build_result(RunRecord(load="missing"), not_run, LIMITS)
    assert (missing.status, missing.reason) == ("failed", "missing function")
    assert missing.feedback == "The program does not define the function under test."
    crashed = build_result(
        RunRecord(load="error", load_error="  SyntaxError: bad\n", load_error_type="SyntaxError"), not_run, LIMITS
    )
    assert (crashed.status, crashed.reason) == ("failed", "did not load")
    assert crashed.feedback == "The program failed before any test ran:\nSyntaxError: bad"
    memory = build_result(RunRecord(load="error", load_error_type="MemoryError"), not_run, LIMITS)
    assert memory.reason == "memory limit"


def test_outcomes_from_the_judge_are_checked_and_hidden_ones_stay_blank():
    plan = [
        {"visibility": "public", "source": "assert f(1) == 2"},
        {"visibility": "hidden", "source": "assert f(40) == 42"},
        {"visibility": "something else", "source": "secret"},
        "not a dict",
        {"visibility": "public", "source": "assert f(2) == 3"},
    ]
    reported = [
        {"status": "failed", "detail": "Expected: 2", "error_type": "AssertionError"},
        {"status": "failed", "detail": "Expected: 42", "error_type": "AssertionError"},
        {"status": "passed"},
        {"status": "made up"},
    ]
    tests = outcomes_from_judge(plan, reported)
    assert [t.visibility for t in tests] == ["public", "hidden", "hidden", "hidden", "public"]
    assert [t.status for t in tests] == ["failed", "failed", "passed", "not_run", "not_run"]  # the last: not reported
    assert (tests[0].source, tests[0].detail) == ("assert f(1) == 2", "Expected: 2")
    assert all((t.source, t.detail) == ("", "") for t in tests[1:4])
    assert tests[1].error_type == "AssertionError"
    assert [t.index for t in tests] == [0, 1, 2, 3, 4]
    assert [t.status for t in outcomes_from_judge(plan[:2], None)] == ["not_run", "not_run"]
    # A judge that reports nothing passes nothing.
    assert build_result(_loaded(), outcomes_from_judge(plan, None), LIMITS).passed == 0


def test_a_stdio_row_with_no_pair_is_refused_by_name():
    empty = json.dumps({"inputs": [], "outputs": []})
    with pytest.raises(DatasetError, match=r"row 0 \(task_id='t0'\).*0 inputs and 0 outputs"):
        jobs_for(["p"], ["print(1)"], input_output=[empty], task_id=["t0"])


def test_what_the_judge_left_out_is_blank_and_long_fields_are_cut():
    plan = [{"visibility": "public"}, {"visibility": "public", "source": "s"}, {"visibility": "public", "source": "v"}]
    reported = [
        {"status": "failed"},  # no detail, no error type
        "not a dict",
        {"status": "failed", "detail": "d" * 5000, "error_type": "E" * 150},
    ]
    tests = outcomes_from_judge(plan, reported)
    assert [(t.source, t.detail, t.error_type, t.status) for t in tests[:2]] == [
        ("", "", "", "failed"),
        ("s", "", "", "not_run"),
    ]
    assert (len(tests[2].detail), len(tests[2].error_type)) == (results.MAX_DETAIL_CHARS, 100)
    # A values job (building tests from a reference) keeps values up to MAX_VALUE_CHARS.
    assert len(outcomes_from_judge(plan, reported, values=True)[2].detail) == 5000


def test_a_result_survives_its_json_round_trip_with_hidden_tests_blank():
    tests = [
        _outcome(0, "public", "failed", source="assert f(1) == 2", detail="Expected: 2", error_type="AssertionError"),
        _outcome(1, "hidden", "passed", source="secret", detail="secret"),
    ]
    result = results.ExecutionResult(
        status="failed",
        passed=1,
        total=2,
        reason="wrong answer",
        feedback="f",
        tests=tests,
        isolation="bubblewrap",
        duration_s=0.5,
        attempts=2,
    )
    data = json.loads(json.dumps(result.as_dict()))
    assert data["pass_fraction"] == 0.5
    assert data["tests"][1] == {
        "index": 1,
        "visibility": "hidden",
        "status": "passed",
        "source": "",
        "detail": "",
        "error_type": "",
    }
    assert data["tests"][0] == {
        "index": 0,
        "visibility": "public",
        "status": "failed",
        "source": "assert f(1) == 2",
        "detail": "Expected: 2",
        "error_type": "AssertionError",
    }
    back = results.ExecutionResult.from_dict(data)
    assert back.as_dict() == data
    assert (back.status, back.passed, back.total, back.reason, back.feedback) == ("failed", 1, 2, "wrong answer", "f")
    assert (back.isolation, back.duration_s, back.attempts) == ("bubblewrap", 0.5, 2)
    assert [t.source for t in back.tests] == ["assert f(1) == 2", ""]
    # Fields the sender left out keep their defaults.
    assert results.ExecutionResult.from_dict({"status": "failed"}) == results.ExecutionResult(status="failed")


def test_a_public_test_that_did_not_run_is_not_shown_as_failed():
    outcomes = [_outcome(0, "public", "not_run", source="assert f(0) == 0"), _outcome(1, "hidden", "failed")]
    result = build_result(_loaded(), outcomes, LIMITS)
    assert (
        result.feedback
        == "A hidden test failed: a wrong result.\n0 of 1 public tests passed.\n0 of 1 hidden tests passed."
    )
