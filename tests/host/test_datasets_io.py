"""Local dataset files load with their values as written."""

from __future__ import annotations

import json

from hfplug.datasets_io import load_split


def test_date_like_strings_in_json_lines_stay_strings(tmp_path):
    # pyarrow guesses "1999-07-02" is a timestamp; a chat template then renders it as "<datetime>".
    rows = [
        {
            "prompt": [{"role": "user", "content": "Write July 2, 1999 as YYYY-MM-DD."}],
            "completion": [{"role": "assistant", "content": "1999-07-02"}],
            "day": "2015-08-13",
            "time": "12:30:00",
            "score": 3,
        },
        {
            "prompt": [{"role": "user", "content": "Write 13 August 2015 as YYYY-MM-DD."}],
            "completion": [{"role": "assistant", "content": "2015-08-13"}],
            "day": "1988-08-12",
            "time": "01:02:03",
            "score": 4,
        },
    ]
    lines = tmp_path / "dates.jsonl"
    lines.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    array = tmp_path / "dates.json"
    array.write_text(json.dumps(rows), encoding="utf-8")

    for path in (lines, array):
        loaded = load_split(str(path))
        assert loaded.to_list() == rows
        assert loaded.features["score"].dtype == "int64"  # only the guessed dates change type


def test_json_without_dates_is_left_as_datasets_reads_it(tmp_path):
    path = tmp_path / "plain.jsonl"
    path.write_text('{"text": "hello", "n": 1}\n{"text": "world", "n": 2}\n', encoding="utf-8")
    loaded = load_split(str(path))
    assert loaded.to_list() == [{"text": "hello", "n": 1}, {"text": "world", "n": 2}]
