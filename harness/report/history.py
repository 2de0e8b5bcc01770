"""Every report run in SQLite: runs and their cells, for night-over-night transitions
and trends. One file (default reports/history.sqlite) that CI keeps between nights.

A history that cannot be read (garbage bytes, a truncated copy, someone else's database)
never stops a report: it is moved aside as history.sqlite.corrupt-<time>, a warning names
it, and a new history starts with this run.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from harness.console import console
from harness.document.cell import FAILURES, Status
from harness.document.results import Cell, PreviousCell, PreviousRun, ResultsDocument, RunInfo, Transitions, TrendPoint
from harness.store.files import move_aside

TREND_RUNS = 14
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, matrix TEXT NOT NULL, generated_at TEXT NOT NULL, backend TEXT, summary TEXT
);
CREATE TABLE IF NOT EXISTS cells (
    run_id TEXT NOT NULL REFERENCES runs(id), slug TEXT NOT NULL, consumer TEXT NOT NULL,
    status TEXT NOT NULL, shown_as TEXT NOT NULL, max_abs_diff REAL, error TEXT,
    PRIMARY KEY (run_id, slug)
);
"""
# Statuses that are verdicts about compatibility; moves between others are infrastructure.
VERDICTS = frozenset(FAILURES | {Status.PASS, Status.FLAKY, Status.NOT_APPLICABLE})
FAILING = frozenset(s.value for s in FAILURES)
# Errors that say nothing about the file's content: it is left where it is.
TRANSIENT = ("database is locked", "unable to open", "disk I/O error", "readonly database", "disk is full")
# Runs recorded in the same second (or a rebuilt run, re-recorded) are ordered by when they were recorded.
LATEST_FIRST = "ORDER BY generated_at DESC, rowid DESC"


@dataclasses.dataclass(frozen=True)
class Before:
    """The previous run of the same matrix and its cells by slug."""

    run: PreviousRun
    cells: dict[str, PreviousCell]


class History:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db, db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            yield db

    def record(self, doc: ResultsDocument) -> None:
        """Store this run; recording the same run id again replaces it (a rebuilt report)."""
        run = doc.run.id
        rows = [(run, c.slug, c.consumer, c.status.value, c.shown_as, c.max_abs_diff, c.error) for c in doc.cells]
        with self._db() as db, db:
            db.execute("DELETE FROM cells WHERE run_id = ?", (run,))
            db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?)",
                (run, doc.matrix, doc.generated_at, doc.backend, json.dumps(doc.summary)),
            )
            db.executemany("INSERT INTO cells VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def previous(self, matrix: str, run_id: str) -> Before | None:
        """The latest earlier run of the same matrix file, with its cells by slug."""
        with self._db() as db:
            row = db.execute(
                f"SELECT id, generated_at FROM runs WHERE matrix = ? AND id != ? {LATEST_FIRST} LIMIT 1",
                (matrix, run_id),
            ).fetchone()
            if row is None:
                return None
            rows = db.execute(
                "SELECT slug, status, shown_as, max_abs_diff, error FROM cells WHERE run_id = ?", (row[0],)
            ).fetchall()
        known = {s.value for s in Status}
        # A status this harness no longer knows cannot be compared with: that cell has no transition.
        cells = {slug: PreviousCell(Status(st), sh, d, e) for slug, st, sh, d, e in rows if st in known}
        return Before(PreviousRun(row[0], row[1]), cells)

    def trend(self, matrix: str, last: int = TREND_RUNS) -> dict[str, list[TrendPoint]]:
        """Per consumer runtime: counts per shown status over the last runs, oldest first."""
        with self._db() as db:
            runs = db.execute(
                f"SELECT id, generated_at FROM runs WHERE matrix = ? {LATEST_FIRST} LIMIT ?", (matrix, last)
            ).fetchall()[::-1]
            counts = db.execute(
                f"SELECT run_id, consumer, shown_as, COUNT(*) FROM cells WHERE run_id IN ({','.join('?' * len(runs))}) "
                "GROUP BY run_id, consumer, shown_as",
                [r[0] for r in runs],
            ).fetchall()
        per: dict[tuple[str, str], dict[str, int]] = collections.defaultdict(dict)
        for run_id, consumer, shown, n in counts:
            per[(run_id, consumer)][shown] = n
        trend: dict[str, list[TrendPoint]] = {}
        for run_id, generated_at in runs:
            for consumer in sorted(c for r, c in per if r == run_id):
                trend.setdefault(consumer, []).append(TrendPoint(run_id, generated_at, per[(run_id, consumer)]))
        return trend


def transition(now: Cell, before: PreviousCell | None, drift: float) -> str | None:
    """newly_broken / newly_fixed / changed (status, or a numeric drift beyond `drift`)."""
    if before is None or now.status not in VERDICTS or before.status not in VERDICTS:
        return None
    was_bad, is_bad = before.shown_as in FAILING, now.shown_as in FAILING
    if is_bad and not was_bad:
        return "newly_broken"
    if was_bad and not is_bad:
        return "newly_fixed"
    if now.status is not before.status:
        return "changed"
    a, b = now.max_abs_diff, before.max_abs_diff
    if a is not None and b is not None and abs(a - b) > drift:
        return "changed"
    return None


def compare(doc: ResultsDocument, store: History, drift: float) -> ResultsDocument:
    """Mark transitions against the previous run of the same matrix, record this run, add the trend."""
    before = store.previous(doc.matrix, doc.run.id)
    cells, counts = [], collections.Counter[str]()
    for cell in doc.cells:
        prev = before.cells.get(cell.slug) if before else None
        change = transition(cell, prev, drift)
        if change and prev is not None:
            cell = dataclasses.replace(cell, transition=change, previous=prev)
            counts[change] += 1
        cells.append(cell)
    doc = dataclasses.replace(doc, cells=cells)
    if before:
        doc = dataclasses.replace(
            doc,
            run=RunInfo(doc.run.id, before.run.id),
            transitions=Transitions(before.run, counts["newly_broken"], counts["newly_fixed"], counts["changed"]),
        )
    store.record(doc)
    return dataclasses.replace(doc, trend=store.trend(doc.matrix))


def add_history(doc: ResultsDocument, path: Path, drift: float) -> ResultsDocument:
    """``compare`` against the history at ``path``. A database that cannot be read is moved
    aside and a new history started; a history that is busy or cannot be written now is left
    alone. Either way the document goes on (without history if need be): reports are written."""
    try:
        return compare(doc, History(path), drift)
    except sqlite3.DatabaseError as exc:
        if not path.exists() or not unreadable(exc):
            return _without_history(doc, path, exc)
        moved = move_aside(path)
        console.warn(f"{path} is not a readable history ({exc}): moved aside to {moved.name}, starting a new history")
    try:
        return compare(doc, History(path), drift)
    except sqlite3.DatabaseError as exc:
        return _without_history(doc, path, exc)


def unreadable(exc: sqlite3.DatabaseError) -> bool:
    """Whether the file itself is broken (garbage, corrupt pages, another schema), not the moment."""
    return not any(words in str(exc) for words in TRANSIENT)


def _without_history(doc: ResultsDocument, path: Path, exc: sqlite3.DatabaseError) -> ResultsDocument:
    console.warn(f"history {path} was not updated ({exc}); this report has no history")
    return doc
