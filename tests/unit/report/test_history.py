"""Night-over-night history in SQLite: transitions, trend, a stable rebuild, and a history
file that cannot be read (moved aside, named, and this run's reports still written)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from harness.config.matrix import Matrix, parse_matrix
from harness.document.cell import Result, Status
from harness.document.results import Cell, PreviousCell, ResultsDocument, read_document
from harness.report.history import History, transition
from harness.report.publish import OUTPUTS, write_reports
from harness.store.files import write_json_atomic
from harness.store.layout import Workspace
from harness.store.results import append_result
from tests.unit.report.data import pir_matrix, pir_result

MATRIX = pir_matrix(
    '{id: cpu-2.6.2, version: "2.6.2"}, {id: cpu-3.3.1, version: "3.3.1"}, {id: cpu-2.5, version: "2.5.2"}'
)


def result(p: str, c: str, status: Status, diff: float | None = None, error: str = "") -> Result:
    return pir_result(p, c, status, max_abs_diff=diff, error=error)


def night(ws: Workspace, results: list[Result]) -> None:
    """The work directory of one night: two ready runtimes, one that could not be built."""
    for rid in ("cpu-2.6.2", "cpu-3.3.1"):
        write_json_atomic(ws.state_file(rid), {"id": rid, "state": "ready", "backend": "venv", "fingerprint": {}})
    write_json_atomic(ws.state_file("cpu-2.5"), {"id": "cpu-2.5", "state": "unavailable", "reason": "index down"})
    for path in ws.results_dir.glob("*.jsonl"):
        path.unlink()
    for r in results:
        append_result(ws.results_file(r.consumer), r)


FIRST_NIGHT = [
    result("cpu-2.6.2", "cpu-3.3.1", Status.PASS, 0.0),
    result("cpu-3.3.1", "cpu-3.3.1", Status.LOAD_FAILED),
    result("cpu-2.6.2", "cpu-2.6.2", Status.PASS, 0.0),
    result("cpu-3.3.1", "cpu-2.6.2", Status.CRASH),
]
SECOND_NIGHT = [
    result("cpu-2.6.2", "cpu-3.3.1", Status.LOAD_FAILED, error="ValueError: x"),
    result("cpu-3.3.1", "cpu-3.3.1", Status.PASS, 0.0),
    result("cpu-2.6.2", "cpu-2.6.2", Status.PASS, 0.5),
    result("cpu-3.3.1", "cpu-2.6.2", Status.CRASH),
]


@pytest.fixture
def matrix() -> Matrix:
    return parse_matrix(MATRIX)


def by_pair(doc: ResultsDocument, producer: str, consumer: str) -> Cell:
    return next(c for c in doc.cells if c.producer == producer and c.consumer == consumer)


def test_two_nights_give_transitions_trend_and_a_stable_rebuild(matrix: Matrix, tmp_path: Path) -> None:
    ws, hist = Workspace(tmp_path / "work"), tmp_path / "history.sqlite"
    night(ws, FIRST_NIGHT)
    first = write_reports(matrix, ws, tmp_path / "r1", hist)
    assert first.transitions.previous_run is None and first.run.previous_id is None
    night(ws, SECOND_NIGHT)
    second = write_reports(matrix, ws, tmp_path / "r2", hist)
    assert second.transitions.previous_run is not None
    assert second.transitions.previous_run.id == first.run.id == second.run.previous_id
    t = second.transitions
    assert (t.newly_broken, t.newly_fixed, t.changed) == (1, 1, 1)
    broken = by_pair(second, "cpu-2.6.2", "cpu-3.3.1")
    assert broken.transition == "newly_broken" and broken.previous is not None
    assert broken.previous.status is Status.PASS and broken.previous.shown_as == "pass"
    assert by_pair(second, "cpu-2.6.2", "cpu-2.6.2").transition == "changed", "numeric drift beyond tolerance"
    assert by_pair(second, "cpu-3.3.1", "cpu-2.6.2").transition is None, "expected crash both nights"
    assert [p.counts.get("pass", 0) for p in second.trend["cpu-3.3.1"]] == [1, 1]
    assert [p.run_id for p in second.trend["cpu-2.6.2"]] == [first.run.id, second.run.id]
    again = write_reports(matrix, ws, tmp_path / "r3", hist)
    assert again.run.id == second.run.id and again.transitions == second.transitions
    assert read_document(tmp_path / "r2" / "results.json") == second  # what was written is what was returned


@pytest.mark.parametrize(
    ("now", "before", "expected"),
    [
        (Status.LOAD_FAILED, Status.PASS, "newly_broken"),
        (Status.PASS, Status.CRASH, "newly_fixed"),
        (Status.FLAKY, Status.PASS, "changed"),
        (Status.INFRA_ERROR, Status.PASS, None),  # harness trouble is never a transition
        (Status.PASS, Status.UNAVAILABLE, None),
        (Status.PASS, Status.PASS, None),
    ],
)
def test_transition_kinds(now: Status, before: Status, expected: str | None) -> None:
    cell = Cell.from_result(result("cpu-2.6.2", "cpu-3.3.1", now))
    assert transition(cell, PreviousCell(before, before.value), 1e-3) == expected


def test_a_corrupt_history_is_moved_aside_and_this_runs_reports_are_written(
    matrix: Matrix, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws, out = Workspace(tmp_path / "work"), tmp_path / "reports"
    hist = out / "history.sqlite"
    night(ws, FIRST_NIGHT)
    first = write_reports(matrix, ws, out, hist)
    hist.write_bytes(b"\x00garbage, not SQLite\xff" * 512)
    night(ws, SECOND_NIGHT)
    second = write_reports(matrix, ws, out, hist)
    # This run's reports, not last night's.
    assert second.run.id != first.run.id
    assert json.loads((out / "results.json").read_text())["run"]["id"] == second.run.id
    assert second.run.id in (out / "summary.md").read_text() and second.run.id in (out / "index.html").read_text()
    assert all((out / name).stat().st_mtime >= hist.stat().st_mtime - 1 for name in OUTPUTS)
    # The garbage is kept for a person, under a name that says so, and a new history started.
    [moved] = out.glob("history.sqlite.corrupt-*")
    assert moved.read_bytes().startswith(b"\x00garbage")
    assert second.transitions.previous_run is None and [p.run_id for p in second.trend["cpu-2.6.2"]] == [second.run.id]
    with sqlite3.connect(hist) as db:
        assert db.execute("SELECT id FROM runs").fetchall() == [(second.run.id,)]
    err = capsys.readouterr().err
    assert f"warning: {hist} is not a readable history" in err and moved.name in err


def test_a_history_with_someone_elses_tables_is_moved_aside_too(
    matrix: Matrix, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hist = tmp_path / "history.sqlite"
    with sqlite3.connect(hist) as db:
        db.execute("CREATE TABLE runs (something TEXT)")
    ws = Workspace(tmp_path / "work")
    night(ws, FIRST_NIGHT)
    doc = write_reports(matrix, ws, tmp_path / "reports", hist)
    assert [p.name for p in tmp_path.glob("history.sqlite.corrupt-*")] and doc.trend
    assert "is not a readable history" in capsys.readouterr().err
    assert History(hist).previous("matrix.yaml", "other") is not None


def test_a_busy_history_is_left_alone_and_the_reports_are_still_written(
    matrix: Matrix, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, out = Workspace(tmp_path / "work"), tmp_path / "reports"
    night(ws, FIRST_NIGHT)
    write_reports(matrix, ws, out, out / "history.sqlite")
    before = (out / "history.sqlite").read_bytes()

    def locked(*args: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(History, "previous", locked)
    night(ws, SECOND_NIGHT)
    doc = write_reports(matrix, ws, out, out / "history.sqlite")
    assert (out / "history.sqlite").read_bytes() == before and list(out.glob("*.corrupt-*")) == []
    assert doc.trend == {} and json.loads((out / "results.json").read_text())["run"]["id"] == doc.run.id
    assert "was not updated (database is locked); this report has no history" in capsys.readouterr().err


def changes_of(hist: Path) -> dict[str, int]:
    with sqlite3.connect(hist) as db:
        rows = db.execute(
            "SELECT runs.id, COUNT(changes.run) FROM runs LEFT JOIN changes ON changes.run = runs.number GROUP BY runs.id"
        )
        return dict(rows.fetchall())


def test_a_run_stores_only_the_cells_that_changed(matrix: Matrix, tmp_path: Path) -> None:
    ws, hist = Workspace(tmp_path / "work"), tmp_path / "history.sqlite"
    night(ws, FIRST_NIGHT)
    first = write_reports(matrix, ws, tmp_path / "r1", hist)
    assert changes_of(hist) == {first.run.id: len(first.cells)}  # the first run is the full state
    changed = [*FIRST_NIGHT[:3], result("cpu-3.3.1", "cpu-2.6.2", Status.LOAD_FAILED, error="E")]
    night(ws, changed)
    second = write_reports(matrix, ws, tmp_path / "r2", hist)
    assert changes_of(hist) == {first.run.id: len(first.cells), second.run.id: 1}
    night(ws, [*FIRST_NIGHT[:3], result("cpu-3.3.1", "cpu-2.6.2", Status.CRASH, error="again")])
    third = write_reports(matrix, ws, tmp_path / "r3", hist)  # one change again, on a state rebuilt from changes
    assert third.run.id not in (first.run.id, second.run.id) and changes_of(hist)[third.run.id] == 1
    assert third.transitions.previous_run is not None and third.transitions.previous_run.id == second.run.id
    before = History(hist).previous(matrix.source, "next")
    assert before is not None and before.run.id == third.run.id
    assert {slug: cell.status for slug, cell in before.cells.items()} == {c.slug: c.status for c in third.cells}
    assert [p.run_id for p in third.trend["cpu-2.6.2"]] == [first.run.id, second.run.id, third.run.id]


def test_a_full_state_is_kept_every_so_often(matrix: Matrix, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("harness.report.history.KEYFRAME_EVERY", 2)
    ws, hist = Workspace(tmp_path / "work"), tmp_path / "history.sqlite"
    seen = []
    for n in range(4):
        night(ws, [*FIRST_NIGHT[:3], result("cpu-3.3.1", "cpu-2.6.2", Status.CRASH, error=f"night {n}")])
        seen.append(write_reports(matrix, ws, tmp_path / f"r{n}", hist).run.id)
    with sqlite3.connect(hist) as db:
        bases = dict(db.execute("SELECT id, base FROM runs").fetchall())
    assert [bases[run] for run in seen] == [None, seen[0], None, seen[2]]
    before = History(hist).previous(matrix.source, "next")
    assert (
        before is not None and before.cells["cpu-3.3.1__m__fullgraph_on-pir__cpu-2.6.2__predictor"].error == "night 3"
    )


OLD_SCHEMA = """
CREATE TABLE runs (id TEXT PRIMARY KEY, matrix TEXT NOT NULL, generated_at TEXT NOT NULL, backend TEXT, summary TEXT);
CREATE TABLE cells (
    run_id TEXT NOT NULL REFERENCES runs(id), slug TEXT NOT NULL, consumer TEXT NOT NULL,
    status TEXT NOT NULL, shown_as TEXT NOT NULL, max_abs_diff REAL, error TEXT, PRIMARY KEY (run_id, slug)
);
"""


def test_a_history_an_older_harness_wrote_is_read_and_extended(matrix: Matrix, tmp_path: Path) -> None:
    hist = tmp_path / "history.sqlite"
    slug = "cpu-2.6.2__m__fullgraph_on-pir__cpu-3.3.1__predictor"
    with sqlite3.connect(hist) as db:
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO runs VALUES ('old-1', ?, '2026-11-20T16:00:00Z', 'venv', '{}')", (matrix.source,))
        db.execute("INSERT INTO cells VALUES ('old-1', ?, 'cpu-3.3.1', 'pass', 'pass', 0.0, '')", (slug,))
    ws = Workspace(tmp_path / "work")
    night(ws, SECOND_NIGHT)
    doc = write_reports(matrix, ws, tmp_path / "r", hist)
    assert doc.transitions.previous_run is not None and doc.transitions.previous_run.id == "old-1"
    broken = next(c for c in doc.cells if c.slug == slug)
    assert broken.transition == "newly_broken" and broken.previous is not None and broken.previous.status is Status.PASS
    assert [p.run_id for p in doc.trend["cpu-3.3.1"]] == ["old-1", doc.run.id]
    assert doc.trend["cpu-3.3.1"][0].counts == {"pass": 1}
