"""HumanEval-format tests, run by the judge outside the sandbox.

A HumanEval ``test`` column defines ``check(candidate)`` made of plain asserts. Running it inside
the sandbox would let the program patch ``assert``, exit early or fake ``__eq__``. Instead the
judge executes ``check`` itself, here, with ``candidate`` bound to a proxy that sends the
arguments into the sandbox and gets back only the *returned value* as data (see
``sandbox/wire.py``). The expected values never enter the sandbox.

``check``'s body is split into tests: every top-level statement that both mentions the candidate
and contains an ``assert`` (or a ``raise``) is one test (a loop of asserts is one test). Each
``a == b`` inside an assert becomes an exact comparison: equal values *and* identical types all
the way down, so ``True`` does not pass for ``1`` and ``[1.0]`` not for ``[1]``.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hfplug_code_exec.errors import InvalidTestsError
from hfplug_code_exec.sandbox_client import ProgramRaised, RunAborted

MAX_SHOWN_CHARS = 300


def strict_equal(actual: Any, expected: Any) -> bool:
    """Equality with identical types at every level (``1 != 1.0 != True`` here)."""
    if type(actual) is not type(expected):
        return False
    if isinstance(actual, list | tuple):
        return len(actual) == len(expected) and all(strict_equal(a, e) for a, e in zip(actual, expected, strict=True))
    if isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(strict_equal(actual[k], expected[k]) for k in actual)
    if isinstance(actual, float) and math.isnan(actual) and math.isnan(expected):
        return True
    return actual == expected


def shorten(value: Any, limit: int = MAX_SHOWN_CHARS) -> str:
    """``repr`` trimmed for feedback."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class TestOutcome:
    """The result of one test. ``detail`` is only filled for public tests (it shows inputs)."""

    index: int
    visibility: str  # "public" | "hidden"
    status: str  # "passed" | "failed" | "error" | "not_run"
    source: str = ""
    detail: str = ""
    error_type: str = ""

    @property
    def passed(self) -> bool:
        """True when the test passed."""
        return self.status == "passed"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form; a hidden test's source is left out."""
        return {
            "index": self.index,
            "visibility": self.visibility,
            "status": self.status,
            "source": self.source if self.visibility == "public" else "",
            "detail": self.detail,
            "error_type": self.error_type,
        }


@dataclass
class _Recorder:
    """What happened during the current test, for feedback."""

    last_args: tuple | None = None
    last_kwargs: dict[str, Any] = field(default_factory=dict)
    last_value: Any = None
    has_value: bool = False
    comparison: tuple[Any, Any] | None = None
    current: int = -1
    outcomes: dict[int, tuple[BaseException | None, str]] = field(default_factory=dict)
    details: dict[int, str] = field(default_factory=dict)

    def begin(self, index: int) -> None:
        self.current = index
        self.last_args, self.last_value, self.has_value, self.comparison = None, None, False, None


class _StrictEq(ast.NodeTransformer):
    """``a == b`` inside an assert becomes ``__strict_eq__(a, b)``."""

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        node.test = self._rewrite(node.test)
        return node

    def _rewrite(self, node: ast.AST) -> ast.AST:
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq):
            call = ast.Call(ast.Name("__strict_eq__", ast.Load()), [node.left, node.comparators[0]], [])
            return ast.copy_location(call, node)
        if isinstance(node, ast.BoolOp):
            node.values = [self._rewrite(value) for value in node.values]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            node.operand = self._rewrite(node.operand)
        return node


def _mentions(node: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def _wrap(statement: ast.stmt, index: int) -> list[ast.stmt]:
    """``__begin__(i); try: <statement> except BaseException as e: __end__(i, e) else: __end__(i, None)``."""
    template = ast.parse(
        f"__begin__({index})\n"
        "try:\n    pass\n"
        f"except BaseException as __error__:\n    __end__({index}, __error__)\n"
        f"else:\n    __end__({index}, None)\n"
    ).body
    template[1].body = [statement]
    return template


class CompiledTests:
    """A ``test`` string compiled once into tests the judge can run against any program."""

    def __init__(self, test: str, prompt: str = "", visibility: str = "hidden", entry_point: str = "") -> None:
        try:
            tree = ast.parse(test)
        except SyntaxError as error:
            raise InvalidTestsError(f"The tests do not parse: {error}") from error
        checks = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"]
        if not checks:
            raise InvalidTestsError("The tests define no function `check(candidate)`.")
        check = checks[-1]
        if not check.args.args:
            raise InvalidTestsError("`check` must take the candidate function as its first argument.")
        # The function under test appears as check's parameter or, as HumanEval allows, by its own name.
        candidate_names = {check.args.args[0].arg, entry_point} - {""}
        self.visibility = visibility
        self.sources: list[str] = []
        body: list[ast.stmt] = []
        for statement in check.body:
            is_test = _mentions(statement, candidate_names) and any(
                isinstance(n, ast.Assert | ast.Raise) for n in ast.walk(statement)
            )
            if not is_test:
                body.append(statement)
                continue
            statement = _StrictEq().visit(statement)
            body.extend(_wrap(statement, len(self.sources)))
            self.sources.append((ast.get_source_segment(test, statement) or "")[:MAX_SHOWN_CHARS])
        if not self.sources:
            raise InvalidTestsError("`check` contains no assert that calls the candidate.")
        check.body = body
        ast.fix_missing_locations(tree)
        self._code = compile(tree, "<tests>", "exec")
        self._prompt = prompt
        self._entry_point = entry_point

    def __len__(self) -> int:
        return len(self.sources)

    def run(self, candidate: Callable[..., Any]) -> list[TestOutcome]:
        """Run every test with ``candidate`` (the sandbox proxy); stops early only if the run is gone."""
        recorder = _Recorder()
        namespace = self._namespace(recorder, candidate)
        aborted: RunAborted | None = None
        try:
            namespace["check"](namespace["__candidate_proxy__"])
        except RunAborted as error:
            aborted = error
        except Exception as error:  # a setup statement of check() failed: every test not yet run fails
            aborted = RunAborted("tests errored", f"{type(error).__name__}: {error}")
        return [self._outcome(i, recorder, aborted) for i in range(len(self.sources))]

    def _namespace(self, recorder: _Recorder, candidate: Callable[..., Any]) -> dict[str, Any]:
        namespace: dict[str, Any] = {"__name__": "__tests__"}
        if self._prompt:
            # Helpers the tests use (HumanEval/38's encode_cyclic) come from the trusted prompt; a prompt
            # that is prose rather than code simply contributes nothing.
            with contextlib.suppress(Exception):
                exec(compile(self._prompt, "<prompt>", "exec"), namespace)

        def proxy(*args: Any, **kwargs: Any) -> Any:
            recorder.last_args, recorder.last_kwargs, recorder.has_value = args, kwargs, False
            value = candidate(*args, **kwargs)
            recorder.last_value, recorder.has_value = value, True
            return value

        def strict_eq(left: Any, right: Any) -> bool:
            recorder.comparison = (
                (right, left) if recorder.has_value and right is recorder.last_value else (left, right)
            )
            return strict_equal(left, right)

        def end(index: int, error: BaseException | None) -> None:
            if isinstance(error, RunAborted):
                raise error
            aborted = getattr(candidate, "aborted", None)
            if aborted is not None:  # the test swallowed the end of the run (a bare except): it still failed
                raise aborted
            recorder.outcomes[index] = (error, self._describe(error, recorder) if error else "")

        if self._entry_point:  # as in HumanEval's harness, the tests may call the function by its own name
            namespace[self._entry_point] = proxy
        namespace.update(__strict_eq__=strict_eq, __begin__=recorder.begin, __end__=end, __candidate_proxy__=proxy)
        exec(self._code, namespace)
        return namespace

    @staticmethod
    def _describe(error: BaseException, recorder: _Recorder) -> str:
        lines = []
        if recorder.last_args is not None:
            shown = [shorten(a) for a in recorder.last_args]
            shown += [f"{key}={shorten(value)}" for key, value in recorder.last_kwargs.items()]
            lines.append("Input: " + ", ".join(shown))
        if isinstance(error, ProgramRaised):
            lines.append(f"The function raised {error.kind}:\n{error.trace.strip()}")
        elif isinstance(error, AssertionError) and recorder.comparison is not None:
            actual, expected = recorder.comparison
            lines.append(f"Expected: {shorten(expected)}")
            lines.append(f"Actual: {shorten(actual)}")
            if actual == expected and type(actual) is not type(expected):
                lines.append(f"(same value but type {type(actual).__name__} instead of {type(expected).__name__})")
        elif isinstance(error, AssertionError):
            if recorder.has_value:
                lines.append(f"Returned: {shorten(recorder.last_value)}")
        else:
            lines.append(f"Checking the result failed: {type(error).__name__}: {shorten(str(error))}")
            if recorder.has_value:
                lines.append(f"Returned: {shorten(recorder.last_value)}")
        return "\n".join(lines)

    def _outcome(self, index: int, recorder: _Recorder, aborted: RunAborted | None) -> TestOutcome:
        outcome = TestOutcome(index, self.visibility, "not_run", source=self.sources[index])
        if index in recorder.outcomes:
            error, detail = recorder.outcomes[index]
            if error is None:
                outcome.status = "passed"
            else:
                outcome.status = "error" if isinstance(error, ProgramRaised) else "failed"
                outcome.error_type = error.kind if isinstance(error, ProgramRaised) else type(error).__name__
                outcome.detail = detail if self.visibility == "public" else ""
        elif aborted is not None and index == recorder.current:
            outcome.status = "failed"
            outcome.error_type = aborted.reason
        return outcome


@functools.lru_cache(maxsize=512)
def compile_tests(test: str, prompt: str = "", visibility: str = "hidden", entry_point: str = "") -> CompiledTests:
    """Cached :class:`CompiledTests` (GRPO grades many completions of the same problem)."""
    return CompiledTests(test, prompt, visibility, entry_point)
