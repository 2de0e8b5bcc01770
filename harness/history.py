"""Every report run in SQLite: runs and their cells, for night-over-night transitions
and trends. One file (default reports/history.sqlite) that CI keeps between nights."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from harness.status import FAILURES, Status

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
VERDICTS = {s.value for s in FAILURES} | {Status.PASS.value, Status.FLAKY.value, Status.NOT_APPLICABLE.value}
_FAILING = {s.value for s in FAILURES}


def slug(cell: dict[str, Any]) -> str:
    return "__".join(cell[k] for k in ("producer", "model", "export", "consumer", "loader"))


class History:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def record(self, results: dict[str, Any]) -> None:
        """Store this run; recording the same run id again replaces it (a rebuilt report)."""
        run = results["run"]
        rows = [
            (run["id"], slug(c), c["consumer"], c["status"], c["shown_as"], c.get("max_abs_diff"), c.get("error", ""))
            for c in results["cells"]
        ]
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM cells WHERE run_id = ?", (run["id"],))
            db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?)",
                (
                    run["id"],
                    results["matrix"],
                    results["generated_at"],
                    results["backend"],
                    json.dumps(results["summary"]),
                ),
            )
            db.executemany("INSERT INTO cells VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def previous(self, matrix: str, run_id: str) -> dict[str, Any] | None:
        """The latest earlier run of the same matrix file, with its cells by slug."""
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT id, generated_at FROM runs WHERE matrix = ? AND id != ? ORDER BY generated_at DESC LIMIT 1",
                (matrix, run_id),
            ).fetchone()
            if row is None:
                return None
            cells = db.execute(
                "SELECT slug, status, shown_as, max_abs_diff, error FROM cells WHERE run_id = ?", (row[0],)
            )
            by_slug = {s: {"status": st, "shown_as": sh, "max_abs_diff": d, "error": e} for s, st, sh, d, e in cells}
        return {"id": row[0], "generated_at": row[1], "cells": by_slug}

    def trend(self, matrix: str, last: int) -> dict[str, list[dict[str, Any]]]:
        """Per consumer runtime: counts per shown status over the last runs, oldest first."""
        with closing(self._connect()) as db:
            runs = db.execute(
                "SELECT id, generated_at FROM runs WHERE matrix = ? ORDER BY generated_at DESC LIMIT ?", (matrix, last)
            ).fetchall()[::-1]
            counts = db.execute(
                f"SELECT run_id, consumer, shown_as, COUNT(*) FROM cells WHERE run_id IN ({','.join('?' * len(runs))}) "
                "GROUP BY run_id, consumer, shown_as",
                [r[0] for r in runs],
            ).fetchall()
        trend: dict[str, list[dict[str, Any]]] = {}
        for run_id, generated_at in runs:
            for consumer in sorted({c for r, c, _, _ in counts if r == run_id}):
                per = {s: n for r, c, s, n in counts if r == run_id and c == consumer}
                trend.setdefault(consumer, []).append({"run_id": run_id, "generated_at": generated_at, "counts": per})
        return trend


def transition(now: dict[str, Any], before: dict[str, Any] | None, drift: float) -> str | None:
    """newly_broken / newly_fixed / changed (status, or a numeric drift beyond `drift`)."""
    if before is None or now["status"] not in VERDICTS or before["status"] not in VERDICTS:
        return None
    was_bad, is_bad = before["shown_as"] in _FAILING, now["shown_as"] in _FAILING
    if is_bad and not was_bad:
        return "newly_broken"
    if was_bad and not is_bad:
        return "newly_fixed"
    if now["status"] != before["status"]:
        return "changed"
    a, b = now.get("max_abs_diff"), before.get("max_abs_diff")
    if a is not None and b is not None and abs(a - b) > drift:
        return "changed"
    return None
