"""Backends prepare a runtime and start processes in it (venv now, docker next)."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Protocol

from harness.config import Runtime
from harness.seam import Completed


class RuntimeProcess(Protocol):
    """A long-lived process inside a runtime, speaking JSON lines on stdin/stdout."""

    stdin: IO[bytes]
    stdout: IO[bytes]

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def kill(self) -> None: ...


class Backend(Protocol):
    name: str

    def prepare(self, rt: Runtime) -> None:
        """Build the runtime (idempotent). Raises RuntimeUnavailable / RuntimeSkipped."""

    def run(self, rt: Runtime, args: list[str], *, timeout: float, env: dict[str, str] | None = None) -> Completed:
        """Run ``python ARGS`` in the runtime to completion."""

    def start(
        self, rt: Runtime, args: list[str], *, stderr: IO[bytes], env: dict[str, str] | None = None
    ) -> RuntimeProcess:
        """Start ``python ARGS`` in the runtime, stdin/stdout piped, stderr to the given file."""

    def describe(self, rt: Runtime, args: list[str]) -> str:
        """The command line a person can paste to run ``python ARGS`` in the runtime by hand."""


def get_backend(name: str, work: Path) -> Backend:
    from harness.backends.venv import VenvBackend

    if name in ("venv", "auto"):
        return VenvBackend(work)
    from harness.errors import BackendError

    raise BackendError(f"unknown backend {name!r}", "use --backend venv (the Docker backend is not built yet)")
