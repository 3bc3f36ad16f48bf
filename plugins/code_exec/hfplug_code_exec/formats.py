"""Test formats: which one a row uses, its hidden and public tests, and the job that grades it.

Detected per row from the columns present (or forced by a ``test_format`` column or option):

* ``humaneval``: ``test`` defining ``check(candidate)`` and ``entry_point``. Public tests:
  ``public_test`` (a ``check``), else the prompt's ``>>>`` examples.
* ``mbpp``: ``test_list`` (asserts calling the function by name); optional ``test_setup_code``,
  ``test_imports``, ``entry_point``. Public tests: ``public_test_list``, else the first assert
  of ``test_list`` (MBPP's own prompts show the test cases).
* ``pytest``: ``test`` holding ``test_*`` functions (or ``Test*`` classes) that
  ``from solution import ...``; optional ``entry_point``. Public tests: ``public_test`` (a test
  module), else none (feedback then says only how many hidden tests failed and how).
* ``stdio``: ``input_output``, JSON ``{"inputs": [...], "outputs": [...]}`` with an optional
  ``fn_name`` (call-based). Public tests: ``public_input_output``, else the first pair (APPS,
  TACO and CodeContests list the statement's examples first).

Everything here parses (``json``, ``ast``) and never executes: tests and prompts are dataset
content, run only by the judge in its sandbox.
"""

from __future__ import annotations

import ast
import doctest
import json
from collections.abc import Sequence
from typing import Any

from hfplug.errors import DatasetError
from hfplug_code_exec.assemble import build_program, code_stub, parses
from hfplug_code_exec.pool import Job

FORMATS = ("humaneval", "mbpp", "pytest", "stdio")
PUBLIC_COLUMNS = {
    "humaneval": "public_test",
    "mbpp": "public_test_list",
    "pytest": "public_test",
    "stdio": "public_input_output",
}


def _row_name(columns: dict[str, Sequence[Any]], index: int) -> str:
    for key in ("task_id", "id", "name", "problem_id"):
        values = columns.get(key)
        if values is not None and index < len(values) and values[index] is not None:
            return f"row {index} ({key}={values[index]!r})"
    return f"row {index}"


def detect_format(row: dict[str, Any], forced: str | None = None) -> str:
    """The test format of one row: ``forced`` or its ``test_format`` column, else from the columns present."""
    chosen = forced or row.get("test_format")
    if chosen:
        if chosen not in FORMATS:
            raise DatasetError(f"test_format {chosen!r} is not one of {', '.join(FORMATS)}.")
        return str(chosen)
    if row.get("input_output") is not None:
        return "stdio"
    if row.get("test_list") is not None:
        return "mbpp"
    test = row.get("test")
    if isinstance(test, str):
        tree = parses(test)
        names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)} if tree else set()
        if "check" in names:
            return "humaneval"
        if any(name.startswith("test") for name in names) or (
            tree and any(isinstance(n, ast.ClassDef) for n in tree.body)
        ):
            return "pytest"
        return "humaneval"  # the tests will be reported as malformed, naming what is missing
    raise DatasetError(
        "no test column: the unit_tests reward needs one of test (HumanEval check(candidate) or pytest-style "
        f"test_* functions), test_list (MBPP asserts) or input_output (stdin/stdout); columns given: {sorted(row)}."
    )


def docstring_examples(prompt: str, entry_point: str) -> str | None:
    """A ``check(candidate)`` from the prompt's ``>>>`` examples that call the entry point and show a
    literal result (what the model already sees); None if there are none."""
    asserts = []
    try:
        examples = doctest.DocTestParser().get_examples(prompt)
    except ValueError:
        return None
    for example in examples:
        source, want = example.source.strip(), example.want.strip()
        # A docstring that closes right after the last example leaves its quotes in the expected output.
        want = want.removesuffix('"""').removesuffix("'''").strip()
        if not want or entry_point not in source:
            continue
        try:
            ast.literal_eval(want)
            ast.parse(source, mode="eval")
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        asserts.append(f"    assert {source} == {want}")
    if not asserts:
        return None
    return "def check(candidate):\n" + "\n".join(asserts) + "\n"


def prompt_helpers(prompt: Any, entry_point: str) -> str:
    """Helper code the tests may use, taken from a code stub prompt (HumanEval/38's ``encode_cyclic``):
    its imports, assignments and complete functions other than the entry point. Prose and chat prompts,
    and everything else in a stub, give nothing."""
    stub = code_stub(prompt)
    if stub is None:
        return ""
    source, tree = stub
    keep = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom | ast.Assign | ast.AnnAssign) or (
            isinstance(node, ast.FunctionDef)
            and node.name != entry_point
            and (node.end_lineno or 0) <= len(source.splitlines())  # complete, not the padded stub
        ):
            keep.append(node)
    return "\n".join(ast.get_source_segment(source, n) or "" for n in keep)


def _parse_input_output(value: Any, where: str) -> dict[str, Any]:
    data = value
    if isinstance(value, str):
        try:
            data = json.loads(value)
        except json.JSONDecodeError as error:
            raise DatasetError(f"{where}: input_output is not valid JSON ({error}).") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("inputs"), list)
        or not isinstance(data.get("outputs"), list)
    ):
        raise DatasetError(f'{where}: input_output must be a JSON object with lists "inputs" and "outputs".')
    if len(data["inputs"]) != len(data["outputs"]) or not data["inputs"]:
        raise DatasetError(
            f"{where}: input_output has {len(data['inputs'])} inputs and {len(data['outputs'])} outputs; "
            "it needs the same number, at least one."
        )
    fn_name = data.get("fn_name")
    if fn_name is not None and (not isinstance(fn_name, str) or not fn_name.isidentifier()):
        raise DatasetError(f"{where}: input_output fn_name must be a function name, got {fn_name!r}.")
    return {"inputs": data["inputs"], "outputs": data["outputs"], "fn_name": fn_name or ""}


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    return [str(v) for v in value]


def _mbpp_entry_point(asserts: list[str], setup: str) -> str:
    """The function MBPP asserts call: the first called name that is not a built-in or set-up name."""
    import builtins

    tree = parses(setup) or ast.Module(body=[], type_ignores=[])
    defined = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    for text in asserts:
        for node in ast.walk(parses(text) or ast.Module(body=[], type_ignores=[])):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                name = node.func.id
                if name not in defined and not hasattr(builtins, name):
                    return name
    return ""


def row_job(
    prompt: Any, completion: Any, row: dict[str, Any], where: str, forced: str | None = None, strict_types: bool = True
) -> Job:
    """The job that grades one completion of one row."""
    kind = detect_format(row, forced)
    entry_point = str(row.get("entry_point") or "")
    stub_prompt = row.get("code_prompt") if row.get("code_prompt") is not None else prompt
    public = row.get(PUBLIC_COLUMNS[kind])
    setup = ""
    if kind == "humaneval":
        test = row.get("test")
        if not isinstance(test, str) or not entry_point:
            raise DatasetError(f"{where}: the HumanEval format needs a test string and an entry_point.")
        if public is None and isinstance(stub_prompt, str):
            public = docstring_examples(stub_prompt, entry_point)
    elif kind == "mbpp":
        test = _as_list(row.get("test_list"))
        if not test:
            raise DatasetError(f"{where}: test_list holds no assert.")
        setup = "\n".join(_as_list(row.get("test_imports")) + _as_list(row.get("test_setup_code")))
        entry_point = entry_point or _mbpp_entry_point(test, setup)
        public = _as_list(public) if public is not None else test[:1]
    elif kind == "pytest":
        test = row.get("test")
        if not isinstance(test, str):
            raise DatasetError(f"{where}: the pytest format needs a test string.")
    else:
        test = _parse_input_output(row.get("input_output"), where)
        entry_point = test["fn_name"]
        if public is not None:
            public = _parse_input_output(public, f"{where} (public)")
        else:
            public = {"inputs": test["inputs"][:1], "outputs": test["outputs"][:1], "fn_name": test["fn_name"]}
    return Job(
        program=build_program(stub_prompt, completion, entry_point),
        test=test,
        entry_point=entry_point,
        prompt=prompt_helpers(stub_prompt, entry_point) if kind == "humaneval" else "",
        public_test=public or None,
        test_format=kind,
        setup=setup,
        strict_types=strict_types,
    )


ROW_COLUMNS = (
    "test",
    "entry_point",
    "test_list",
    "test_setup_code",
    "test_imports",
    "input_output",
    "test_format",
    "code_prompt",
    *set(PUBLIC_COLUMNS.values()),
)


def jobs_for(
    prompts: Sequence[Any],
    completions: Sequence[Any],
    *,
    test_format: str | None = None,
    strict_types: bool = True,
    **columns: Any,
) -> list[Job]:
    """One :class:`Job` per completion from trl's reward arguments (errors name the row).

    ``test_format`` forces one format for every row; a ``test_format`` dataset column (which trl passes
    as a list under the same name) sets it per row instead.
    """
    if isinstance(test_format, list | tuple):
        columns["test_format"], test_format = test_format, None
    size = len(completions)
    if len(prompts) != size:
        raise DatasetError(f"{len(prompts)} prompts for {size} completions.")
    for name in ROW_COLUMNS:
        values = columns.get(name)
        if values is not None and len(values) != size:
            raise DatasetError(f"Column {name!r} has {len(values)} values for {size} completions.")
    jobs = []
    for i in range(size):
        row = {name: columns[name][i] for name in ROW_COLUMNS if columns.get(name) is not None}
        jobs.append(row_job(prompts[i], completions[i], row, _row_name(columns, i), test_format, strict_types))
    return jobs
