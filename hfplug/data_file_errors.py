"""What is wrong with a local data file: the file, the line, and what was expected there.

``datasets`` reports an empty JSON Lines file as ``StopIteration`` and a corrupt one as a byte position
inside a wrapped pyarrow error. These checks read the file themselves: :func:`require_content` before
loading (cheap: it stops at the first non-blank line), :func:`describe_unreadable` only after ``datasets``
has failed, so a good file is read once, as before.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from hfplug.errors import DatasetError

JSON_LINES = 'one JSON object per line, such as {"prompt": "...", "completion": "..."}'
EXPECTED = {
    ".jsonl": JSON_LINES,
    ".json": f"a JSON array of objects, or {JSON_LINES}",
    ".csv": "a header line naming the columns, then one row per line",
    ".txt": "one example per line",
    ".parquet": "a Parquet file",
}


def require_content(path: Path) -> None:
    """Raise :class:`DatasetError` naming ``path`` and what it should hold if it is empty or only blank lines."""
    with path.open("rb") as stream:
        if any(line.strip() for line in stream):
            return
    expected = EXPECTED.get(path.suffix.lower(), "data")
    what = "is empty" if path.stat().st_size == 0 else "has only blank lines"
    raise DatasetError(f"dataset: {path} {what}; expected {expected}.")


def describe_unreadable(path: Path) -> str | None:
    """The first problem in ``path`` that stops it loading, as ``"<file>, line N: <what>; expected <what>"``,
    or ``None`` when this check finds none (then the loader's own error is all there is to say)."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".json", ".jsonl"):
            return _json_problem(path, suffix)
        if suffix == ".csv":
            return _csv_problem(path)
    except UnicodeDecodeError as exc:
        return f"{path} is not UTF-8 text (byte {exc.start}: {exc.reason}); expected {EXPECTED[suffix]}"
    return None


def _json_problem(path: Path, suffix: str) -> str | None:
    text = path.read_text(encoding="utf-8")
    if suffix == ".json" and text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            return f"{path}, line {exc.lineno}, column {exc.colno}: {exc.msg}; expected {EXPECTED['.json']}"
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                return f"{path}: item {index} of the array is {_json_type(row)}; expected {EXPECTED['.json']}"
        return None
    for number, line in _numbered_lines(text):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            return f"{path}, line {number}, column {exc.colno}: {exc.msg}; expected {JSON_LINES}"
        if not isinstance(row, dict):
            return f"{path}, line {number}: {_json_type(row)}; expected {JSON_LINES}"
    return None


def _numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers (JSON Lines readers skip blank ones)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line


def _json_type(value: object) -> str:
    names = {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _csv_problem(path: Path) -> str | None:
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.reader(stream)
        try:
            header = next((row for row in reader if row), None)
            if header is None:
                return None  # require_content already named an empty file
            rows = 0
            for row in reader:
                if not row:
                    continue  # blank lines are skipped by the CSV reader too
                rows += 1
                # A short row is padded with empty values; a long one has no column to go to.
                if len(row) > len(header):
                    return (
                        f"{path}, line {reader.line_num}: {len(row)} fields; expected {len(header)}, one per column "
                        f"of the header ({', '.join(header)})"
                    )
        except csv.Error as exc:
            return f"{path}, line {reader.line_num}: {exc}; expected {EXPECTED['.csv']}"
    if rows == 0:
        return f"{path} has a header ({', '.join(header)}) but no rows; expected {EXPECTED['.csv']}"
    return None
