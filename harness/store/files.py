"""Files of the work directory and of reports/: written atomically, read with a clear error.

Every write goes to a temporary file beside the target and is renamed over it, so a reader
never sees half a file. Every read of harness state either succeeds or raises
CorruptState naming the file; callers decide whether to recompute or move it aside.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from harness.errors import HarnessError


class CorruptState(HarnessError):
    """A state file exists but cannot be read as what it should be."""

    exit_code = 6

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path} is unreadable: {why}", f"remove or repair {path}; the harness recomputes it")
        self.path = path
        self.why = why


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename; the temporary file never outlives a failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_json_text(data: Any, indent: int | None = 1) -> str:
    """Strict JSON: a NaN or infinity anywhere is a bug upstream, never written as a bare token."""
    return json.dumps(data, indent=indent, sort_keys=True, default=str, allow_nan=False)


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, to_json_text(data))


def read_json(path: Path) -> Any:
    """The parsed file; CorruptState (naming the file) when it is not UTF-8 JSON."""
    try:
        text = path.read_bytes().decode("utf-8")
        return json.loads(text)
    except UnicodeDecodeError as exc:
        raise CorruptState(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:
        raise CorruptState(path, f"not valid JSON ({exc})") from None


# Parsed records by path, valid while the file's inode, size and mtime are unchanged: a phase
# reads the same state.json and export.json once per cell (thousands of times), and every
# write replaces the file (a new inode), so a stale entry is never returned.
_PARSED: dict[Path, tuple[tuple[int, int, int], dict[str, Any]]] = {}


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON object file, parsed once per version of the file. The caller gets its own top
    level (a shallow copy): adding or replacing keys never reaches the cache."""
    try:
        info = path.stat()
    except OSError:
        info = None
    stamp = (info.st_ino, info.st_size, info.st_mtime_ns) if info else None
    cached = _PARSED.get(path)
    if stamp is not None and cached is not None and cached[0] == stamp:
        return dict(cached[1])
    data = read_json(path)
    if not isinstance(data, dict):
        raise CorruptState(path, f"expected a JSON object, found {type(data).__name__}")
    if stamp is not None:
        _PARSED[path] = (stamp, data)
    return dict(data)


def move_aside(path: Path) -> Path:
    """Rename a corrupt file to ``<name>.corrupt-<time>`` so that it is kept for a person to
    look at and no longer read; returns the new path."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    os.replace(path, target)
    return target


def digest(*parts: Any) -> str:
    """A short content key for any JSON-able parts (cache keys, identities)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]
