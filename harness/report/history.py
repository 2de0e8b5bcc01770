"""Every report run in SQLite, for night-over-night transitions and trends. One file
(default reports/history.sqlite) that CI keeps between nights.

A run stores only the cells that changed since the previous run of the same matrix (a new
cell, another status, shown status, difference or error, a cell that is gone), and `base`
names that previous run; a run with no base holds the full state (the first run of a
matrix, and every KEYFRAME_EVERY-th run, so no state is more than that many changes away).
A run's state is its keyframe with the changes after it applied in order; slugs and errors
are kept once in `texts`. The trend comes from per-run counts kept with each run. Runs that
an older harness recorded (every cell of every run, in `cells`) are read as full states.

A history that cannot be read (garbage bytes, a truncated copy, someone else's database)
never stops a report: it is moved aside as history.sqlite.corrupt-<time>, a warning names
it, and a new history starts with this run.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

# pandas ships no type hints; the lint extra installs pandas-stubs, hence unused-ignore too.
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from harness.console import console
from harness.document.cell import FAILURES, Status
from harness.document.results import Cell, PreviousCell, PreviousRun, ResultsDocument, RunInfo, Transitions, TrendPoint
from harness.store.files import move_aside

TREND_RUNS = 14
KEYFRAME_EVERY = 30
RUN_COLUMNS = ("id", "matrix", "generated_at", "backend", "summary")
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, matrix TEXT NOT NULL, generated_at TEXT NOT NULL, backend TEXT, summary TEXT
);
CREATE TABLE IF NOT EXISTS cells (
    run_id TEXT NOT NULL REFERENCES runs(id), slug TEXT NOT NULL, consumer TEXT NOT NULL,
    status TEXT NOT NULL, shown_as TEXT NOT NULL, max_abs_diff REAL, error TEXT,
    PRIMARY KEY (run_id, slug)
);
CREATE TABLE IF NOT EXISTS texts (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS changes (
    run INTEGER NOT NULL, producer INTEGER NOT NULL, model INTEGER NOT NULL, export INTEGER NOT NULL,
    consumer INTEGER NOT NULL, loader INTEGER NOT NULL,
    status INTEGER, shown_as INTEGER, max_abs_diff REAL, error INTEGER,
    PRIMARY KEY (run, producer, model, export, consumer, loader)
) WITHOUT ROWID;
"""
# Added to an older history's runs: number (what `changes` calls the run), base (the run
# these changes apply to; NULL: a full state), depth (changes since the keyframe), counts
# (consumer -> shown -> cells, for the trend), format.
ADDED = (("number", "INTEGER"), ("base", "TEXT"), ("depth", "INTEGER"), ("counts", "TEXT"), ("format", "INTEGER"))
KEY = ("producer", "model", "export", "consumer", "loader")
FORMAT = 2  # the run's cells are in `changes`; NULL: an older harness's full rows in `cells`
# Statuses that are verdicts about compatibility; moves between others are infrastructure.
VERDICTS = frozenset(FAILURES | {Status.PASS, Status.FLAKY, Status.NOT_APPLICABLE})
FAILING = frozenset(s.value for s in FAILURES)
# Errors that say nothing about the file's content: it is left where it is.
TRANSIENT = ("database is locked", "unable to open", "disk I/O error", "readonly database", "disk is full")
# Runs recorded in the same second (or a rebuilt run, re-recorded) are ordered by when they were recorded.
LATEST_FIRST = "ORDER BY generated_at DESC, rowid DESC"

Key = tuple[str, str, str, str, str]  # producer, model, export, consumer, loader
State = tuple[str, str, "float | None", str]  # status, shown_as, max_abs_diff, error


@dataclasses.dataclass(frozen=True)
class Before:
    """The previous run of the same matrix and its cells by slug."""

    run: PreviousRun
    cells: dict[str, PreviousCell]
    states: dict[Key, State] = dataclasses.field(default_factory=dict, repr=False)
    depth: int = 0


def state_of(cell: Cell) -> State:
    diff = None if cell.max_abs_diff is None else float(f"{cell.max_abs_diff:.6g}")
    return (cell.status.value, cell.shown_as, diff, cell.error)


def key_of(cell: Cell) -> Key:
    return (cell.producer, cell.model, cell.export, cell.consumer, cell.loader)


class History:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db, db:
            db.executescript(SCHEMA)
            columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
            if not set(RUN_COLUMNS) <= set(columns):
                raise sqlite3.DatabaseError(f"not a history of this harness (table runs has {', '.join(columns)})")
            for name, kind in ADDED:
                if name not in columns:
                    db.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            yield db

    def record(self, doc: ResultsDocument, before: Before | None) -> None:
        """Store this run as its changes since ``before`` (the previous run); recording the
        same run id again replaces it (a rebuilt report), unless a later run builds on it."""
        run = doc.run.id
        now = {key_of(c): state_of(c) for c in doc.cells}
        counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        for c in doc.cells:
            counts[c.consumer][c.shown_as] += 1
        keyframe = before is None or before.depth + 1 >= KEYFRAME_EVERY
        old = {} if keyframe or before is None else before.states
        rows = [(key, state) for key, state in now.items() if old.get(key) != state]
        gone = [key for key in old if key not in now]
        if len(rows) + len(gone) > len(now) // 2:  # more changed than not: a full state is smaller
            keyframe, rows, gone = True, list(now.items()), []
        with self._db() as db, db:
            if db.execute("SELECT 1 FROM runs WHERE base = ? AND id != ?", (run, run)).fetchone():
                return  # a later run's changes are relative to this one: keep it as it is
            replaced = db.execute("SELECT number FROM runs WHERE id = ?", (run,)).fetchone()
            if replaced is not None:
                db.execute("DELETE FROM changes WHERE run = ?", replaced)
            db.execute("DELETE FROM cells WHERE run_id = ?", (run,))
            db.execute("DELETE FROM runs WHERE id = ?", (run,))
            number = db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM runs").fetchone()[0]
            text = _Texts(db)
            db.execute(
                "INSERT INTO runs (id, matrix, generated_at, backend, summary, number, base, depth, counts, format) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run,
                    doc.matrix,
                    doc.generated_at,
                    doc.backend,
                    json.dumps(doc.summary),
                    number,
                    None if keyframe or before is None else before.run.id,
                    0 if keyframe or before is None else before.depth + 1,
                    json.dumps({k: dict(v) for k, v in counts.items()}),
                    FORMAT,
                ),
            )
            db.executemany(
                "INSERT INTO changes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(number, *map(text, key), text(s[0]), text(s[1]), s[2], text(s[3])) for key, s in rows]
                + [(number, *map(text, key), None, None, None, None) for key in gone],
            )

    def previous(self, matrix: str, run_id: str) -> Before | None:
        """The latest earlier run of the same matrix file, with its cells by slug."""
        with self._db() as db:
            row = db.execute(
                f"SELECT id, generated_at, depth FROM runs WHERE matrix = ? AND id != ? {LATEST_FIRST} LIMIT 1",
                (matrix, run_id),
            ).fetchone()
            if row is None:
                return None
            states = self._state(db, row[0])
        known = {s.value for s in Status}
        # A status this harness no longer knows cannot be compared with: that cell has no transition.
        cells = {"__".join(k): PreviousCell(Status(s[0]), s[1], s[2], s[3]) for k, s in states.items() if s[0] in known}
        return Before(PreviousRun(row[0], row[1]), cells, states, row[2] or 0)

    def _state(self, db: sqlite3.Connection, run_id: str) -> dict[Key, State]:
        """A run's full state: its keyframe, then every run's changes after it, in order."""
        chain = []
        at: str | None = run_id
        while at is not None:
            found = db.execute("SELECT base, format, number FROM runs WHERE id = ?", (at,)).fetchone()
            if found is None:
                break
            chain.append((at, found[1], found[2]))
            at = found[0]
        texts = dict(db.execute("SELECT id, text FROM texts"))
        states: dict[Key, State] = {}
        for run, fmt, number in reversed(chain):
            if fmt is None:  # an older harness's run: every cell, by slug, as text
                rows = db.execute(
                    "SELECT slug, status, shown_as, max_abs_diff, error FROM cells WHERE run_id = ?", (run,)
                )
                states = {
                    _key(parts): (st, sh, d, e or "")
                    for slug, st, sh, d, e in rows
                    if len(parts := slug.split("__")) == 5
                }
                continue
            for *ids, st, sh, d, e in db.execute(
                f"SELECT {', '.join(KEY)}, status, shown_as, max_abs_diff, error FROM changes WHERE run = ?", (number,)
            ):
                key = _key(texts[n] for n in ids)
                if st is None:
                    states.pop(key, None)
                else:
                    states[key] = (texts[st], texts[sh], d, texts[e])
        return states

    def trend(self, matrix: str, last: int = TREND_RUNS) -> dict[str, list[TrendPoint]]:
        """Per consumer runtime: counts per shown status over the last runs, oldest first."""
        with self._db() as db:
            runs = db.execute(
                f"SELECT id, generated_at, counts FROM runs WHERE matrix = ? {LATEST_FIRST} LIMIT ?", (matrix, last)
            ).fetchall()[::-1]
            per: dict[str, dict[str, dict[str, int]]] = {}
            for run_id, _, counts in runs:
                per[run_id] = json.loads(counts) if counts else self._counted(db, run_id)
        return trend_points(runs, per)

    @staticmethod
    def _counted(db: sqlite3.Connection, run_id: str) -> dict[str, dict[str, int]]:
        """Counts of a run an older harness recorded (every cell in `cells`)."""
        found: dict[str, dict[str, int]] = collections.defaultdict(dict)
        rows = db.execute(
            "SELECT consumer, shown_as, COUNT(*) FROM cells WHERE run_id = ? GROUP BY consumer, shown_as", (run_id,)
        )
        for consumer, shown, n in rows:
            found[consumer][shown] = n
        return found


def _key(parts: Iterable[str]) -> Key:
    p, m, e, c, ld = parts
    return (p, m, e, c, ld)


class _Texts:
    """Runtime, model, mode and loader ids, statuses and errors, each stored once."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.known: dict[str, int] = {text: n for n, text in db.execute("SELECT id, text FROM texts")}

    def __call__(self, text: str) -> int:
        found = self.known.get(text)
        if found is None:
            cursor = self.db.execute("INSERT INTO texts (text) VALUES (?)", (text,))
            found = self.known[text] = int(cursor.lastrowid or 0)
        return found


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
    store.record(doc, before)
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


def trend_points(
    runs: list[tuple[str, str, object]], per: dict[str, dict[str, dict[str, int]]]
) -> dict[str, list[TrendPoint]]:
    """The history as a table (run x consumer x shown status -> cells), pivoted per consumer:
    a run in which a consumer had no cells has no point for it."""
    rows = [
        (order, run_id, generated_at, consumer, status, n)
        for order, (run_id, generated_at, _) in enumerate(runs)
        for consumer, counts in per[run_id].items()
        for status, n in counts.items()
    ]
    columns = ["order", "run_id", "generated_at", "consumer", "status", "cells"]
    table = pd.DataFrame(rows, columns=columns)
    trend: dict[str, list[TrendPoint]] = {}
    if table.empty:
        return trend
    pivot = table.pivot_table(
        index=["consumer", "order", "run_id", "generated_at"], columns="status", values="cells", aggfunc="sum"
    )
    for (consumer, _, run_id, generated_at), counts in pivot.iterrows():
        kept = {str(status): int(n) for status, n in counts.items() if n == n}  # NaN: no such cells
        trend.setdefault(str(consumer), []).append(TrendPoint(str(run_id), str(generated_at), kept))
    return trend
