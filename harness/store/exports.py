"""An export's record (work/exports/<producer>/<model>/<mode>/export.json), read safely.

The in-runtime export writes it; the host adds its cache key and command. A record that
cannot be read is moved aside and treated as absent, so the export phase redoes it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from harness.console import console
from harness.store.files import CorruptState, move_aside, read_json_object

RECORD = "export.json"


def read_export(out: Path) -> dict[str, Any] | None:
    """The record in export directory ``out``; None when there is none or it was unreadable."""
    path = out / RECORD
    if not path.exists():
        return None
    try:
        record = read_json_object(path)
        if not isinstance(record.get("status"), str):
            raise CorruptState(path, "it has no `status`")
    except CorruptState as exc:
        moved = move_aside(path)
        console.warn(f"{exc.message}; moved aside to {moved.name}, the export is redone")
        return None
    return record


# Content hashes by file version (inode, size, mtime): every consumer's load phase asks for
# every export's hashes, and a changed file (truncated, rewritten) is a new version.
_HASHED: dict[Path, tuple[tuple[int, int, int], str]] = {}


def files_sha256(out: Path) -> dict[str, str]:
    """Content hashes of an export's files (what a consumer loads); the records beside them are not content."""
    found = {}
    for path in sorted(out.iterdir()) if out.is_dir() else []:
        if path.is_file() and path.name != "export.json":
            found[path.name] = _sha256(path)
    return found


def _sha256(path: Path) -> str:
    info = path.stat()
    stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
    known = _HASHED.get(path)
    if known is not None and known[0] == stamp:
        return known[1]
    value = hashlib.sha256(path.read_bytes()).hexdigest()
    _HASHED[path] = (stamp, value)
    return value
