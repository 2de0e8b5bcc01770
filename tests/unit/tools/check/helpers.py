"""Shared by the check tests: the small matrix and a runtime's state file."""

from __future__ import annotations

from pathlib import Path

from harness.store.files import write_json_atomic
from harness.store.layout import Workspace

ROOT = Path(__file__).parents[4]
SMALL = ROOT / "tests" / "data" / "matrix-small.yaml"


def state(ws: Workspace, rt: str, st: str, backend: str = "venv", version: str = "", reason: str = "") -> None:
    """Write runtime ``rt``'s state file: ``st`` on ``backend``, Paddle ``version`` if given."""
    fingerprint = {"paddle_version": version} if version else None
    write_json_atomic(
        ws.state_file(rt), {"id": rt, "state": st, "backend": backend, "reason": reason, "fingerprint": fingerprint}
    )
