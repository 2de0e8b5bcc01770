"""Append-only JSON-lines results and atomic JSON files.

Results are the only input of the report, so a report can be rebuilt from any set of
partial results; a line is flushed as soon as its cell is judged.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from harness.status import CellKey, Result

_APPEND_LOCK = threading.Lock()


def write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=True, default=str)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; results are meant to be shared
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def append_result(path: Path, result: Result) -> None:
    line = json.dumps(result.to_json(), sort_keys=True)
    with _APPEND_LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def read_results(directory: Path) -> dict[CellKey, Result]:
    """Every result under ``directory``; for a cell recorded twice, the last line wins.
    A torn last line (a run killed mid-write) is skipped, not fatal."""
    found: dict[CellKey, Result] = {}
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                result = Result.from_json(json.loads(line))
            except (ValueError, KeyError, TypeError):
                continue
            found[result.key] = result
    return found
