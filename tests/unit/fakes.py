"""Test doubles shared by the unit tests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any

from harness import seam


class FakeBackend:
    """Starts tests/data/fake_worker.py (or any script) instead of a Paddle runtime."""

    name = "fake"

    def __init__(self, script: Path) -> None:
        self.script = script

    def start(self, rt: Any, args: list[str], *, stderr: IO[bytes], env: dict[str, str] | None = None) -> Any:
        return seam.popen([sys.executable, str(self.script)], stderr=stderr)

    def describe(self, rt: Any, args: list[str], env: dict[str, str] | None = None) -> str:
        return f"python {self.script}"
