"""Append-only JSON-lines results, one file per consumer runtime.

Results are the only input of the report, so a report can be rebuilt from any set of
partial results; a line is flushed as soon as its cell is judged. A line that cannot be
read (a torn last line, garbage, bytes that are not UTF-8) is reported by file and line
number, never silently dropped and never fatal.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from harness.document.cell import CellKey, Result
from harness.store.files import to_json_text

_APPEND_LOCK = threading.Lock()


def append_result(path: Path, result: Result) -> None:
    append_results(path, [result])


def append_results(path: Path, results: list[Result]) -> None:
    """Append lines and make them durable (one fsync for the lot)."""
    if not results:
        return
    text = "".join(to_json_text(r.to_json(), indent=None) + "\n" for r in results)
    with _APPEND_LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())


@dataclass
class ReadResults:
    """Every readable result (the last line wins for a cell recorded twice) and what could not be read."""

    cells: dict[CellKey, Result] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def read_results(directory: Path) -> ReadResults:
    found = ReadResults()
    for path in sorted(directory.glob("*.jsonl")):
        raw = path.read_bytes()
        for number, line in enumerate(raw.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line.decode("utf-8"))
                if not isinstance(data, dict):
                    raise TypeError(f"expected a JSON object, found {type(data).__name__}")
                result = Result.from_json(data)
            except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
                found.problems.append(f"{path}:{number}: unreadable result line ({type(exc).__name__}: {exc})")
                continue
            found.cells[result.key] = result
    return found
