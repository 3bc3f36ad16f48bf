"""A data file that cannot be used is one error naming the file, the line and what was expected there."""

from __future__ import annotations

import json
import re

import pytest

from hfplug.config import parse_train_config
from hfplug.datasets_io import load_split
from hfplug.errors import DatasetError
from hfplug.testing import write_jsonl
from hfplug.train import run_training

ROWS = [{"prompt": f"Q{i}", "completion": f"A{i}"} for i in range(4)]


def error_of(path) -> str:
    with pytest.raises(DatasetError) as info:
        load_split(str(path))
    return str(info.value)


@pytest.mark.parametrize("name", ["train.jsonl", "train.json", "train.csv"])
@pytest.mark.parametrize("content", ["", "\n  \n\n"])
def test_an_empty_file_names_itself_and_what_it_should_hold(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    message = error_of(path)
    assert str(path) in message and "StopIteration" not in message
    assert ("is empty" if not content else "has only blank lines") in message
    assert "expected " in message


def test_a_corrupt_json_lines_row_is_named_by_its_line(tmp_path):
    path = tmp_path / "train.jsonl"
    lines = [json.dumps(row) for row in ROWS]
    lines.insert(2, "")  # a blank line still counts: the number is the one an editor shows
    lines[3] = '{"prompt": "Q2", completion: "A2"}'
    path.write_text("\n".join(lines) + "\n")
    message = error_of(path)
    assert message.startswith(f"dataset: {path}, line 4, column 18: Expecting property name")
    assert message.endswith('expected one JSON object per line, such as {"prompt": "...", "completion": "..."}.')


def test_a_json_lines_row_that_is_not_an_object_is_named(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps(["Q1", "A1"]) + "\n")
    assert f"{path}, line 2: a list; expected one JSON object per line" in error_of(path)


def test_a_corrupt_json_array_is_named_by_its_line(tmp_path):
    path = tmp_path / "train.json"
    text = json.dumps(ROWS, indent=1).splitlines()
    broken = text.index('  "completion": "A1"')
    text[broken] = '  "completion": "A1" "extra"'
    path.write_text("\n".join(text))
    message = error_of(path)
    assert re.search(rf"{re.escape(str(path))}, line {broken + 1}, column \d+: Expecting ',' delimiter", message)
    assert "expected a JSON array of objects" in message


def test_a_csv_row_with_too_many_fields_is_named_by_its_line(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("prompt,completion\nQ0,A0\n\nQ1,A1,oops\nQ2,A2\n")
    message = error_of(path)
    assert f"{path}, line 4: 3 fields; expected 2, one per column of the header (prompt, completion)" in message


def test_a_csv_with_a_header_and_no_rows_says_so(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("prompt,completion\n")
    assert f"{path} has a header (prompt, completion) but no rows" in error_of(path)


def test_a_file_that_is_not_utf8_says_so(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(b'\xff\xfe{"prompt": "Q0"}\n')  # UTF-16's byte-order mark
    assert f"{path} is not UTF-8 text (byte 0: invalid start byte)" in error_of(path)


def test_a_fixed_file_loads_its_new_rows_after_a_failed_load(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n{not json\n")
    error_of(path)
    write_jsonl(path, ROWS)
    assert load_split(str(path)).to_list() == ROWS  # no half-written cache from the failed load is reused


def test_a_bad_data_file_fails_the_run_before_anything_is_written(tmp_path, tiny_model_dir):
    # A previous run's output in the same folder, and the data file itself, are left exactly as they were.
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.safetensors").write_bytes(b"the previous run's weights")
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps(ROWS[1])[:-1] + "\n")
    config = tmp_path / "run.yaml"
    config.write_text(
        f"trainer: sft\nmodel_name_or_path: {tiny_model_dir}\ndataset: {data}\noutput_dir: {out}\n"
        "max_steps: 1\nreport_to: none\nsave_strategy: 'no'\n"
    )
    before = {path.name: path.read_bytes() for path in (data, out / "model.safetensors")}
    with pytest.raises(DatasetError, match=rf"{re.escape(str(data))}, line 2, column \d+"):
        run_training(parse_train_config(config, []))
    assert sorted(p.name for p in out.iterdir()) == ["model.safetensors"]
    assert {path.name: path.read_bytes() for path in (data, out / "model.safetensors")} == before
