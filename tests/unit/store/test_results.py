"""Append-only results: every good line is kept, every bad one is named by file and line."""

from __future__ import annotations

import json
from pathlib import Path

from harness.document.cell import CellKey, Result, Status
from harness.store.results import append_result, read_results


def key(n: int, consumer: str = "cpu-3.3.1") -> CellKey:
    return CellKey("cpu-2.6.2", f"m{n}", "fullgraph_on-legacy", consumer, "predictor")


def line(result: Result) -> bytes:
    return json.dumps(result.to_json()).encode() + b"\n"


def test_last_line_wins_and_a_torn_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    append_result(path, Result.for_cell(key(0), Status.CRASH))
    append_result(path, Result.for_cell(key(0), Status.PASS))
    with path.open("a") as handle:
        handle.write('{"producer": "cpu-2.6.2", "sta')
    found = read_results(tmp_path)
    assert list(found.cells) == [key(0)] and found.cells[key(0)].status is Status.PASS
    assert len(found.problems) == 1 and found.problems[0].startswith(f"{path}:3: unreadable result line")


def test_garbage_non_utf8_and_torn_lines_lose_no_good_cell(tmp_path: Path) -> None:
    path = tmp_path / "cpu-3.3.1.jsonl"
    good = [Result.for_cell(key(n), Status.PASS, max_abs_diff=0.0) for n in range(4)]
    path.write_bytes(
        line(good[0])
        + b"this is not json at all\n"
        + line(good[1])
        + b'{"producer": "caf\xe9"}\n'
        + line(good[2])
        + b'{"producer": "cpu-2.6.2", "model": "m9", "sta\n'
        + line(good[3])
        + b'{"producer": "cpu-2.6.2", "model": "m8"'  # torn: the writer died mid-line
    )
    other = tmp_path / "cpu-2.6.2.jsonl"
    append_result(other, Result.for_cell(key(5, "cpu-2.6.2"), Status.CRASH))

    found = read_results(tmp_path)

    assert set(found.cells) == {r.key for r in good} | {key(5, "cpu-2.6.2")}
    assert [found.cells[r.key] for r in good] == good
    where = [p.split(": unreadable result line")[0] for p in found.problems]
    assert where == [f"{path}:2", f"{path}:4", f"{path}:6", f"{path}:8"]
    assert "UnicodeDecodeError" in found.problems[1]
    assert path.read_bytes().count(b"\n") == 7, "reading never rewrites the file"


def test_a_line_that_is_json_but_not_a_result_is_a_problem_too(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"producer": "a"}\n[1, 2]\n' + line(Result.for_cell(key(1), Status.MISMATCH)))
    found = read_results(tmp_path)
    assert list(found.cells) == [key(1)] and [p.split(": ")[0] for p in found.problems] == [f"{path}:1", f"{path}:2"]


def test_no_results_directory_is_no_results(tmp_path: Path) -> None:
    found = read_results(tmp_path / "nowhere")
    assert found.cells == {} and found.problems == []


def test_results_round_trip(tmp_path: Path) -> None:
    original = Result.for_cell(key(0), Status.MISMATCH, error="e", max_abs_diff=0.5, details={"matched": 1})
    append_result(tmp_path / "r.jsonl", original)
    assert read_results(tmp_path).cells == {original.key: original}
