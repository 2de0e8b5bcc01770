"""The one seam through which the harness starts processes.

Nothing else in the host code imports ``subprocess``: unit tests patch ``run`` and
``popen`` here and assert the exact argv.
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int | None  # None when it was killed for running too long
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def signal_name(self) -> str | None:
        return signal_name(self.returncode)


def signal_name(returncode: int | None) -> str | None:
    """SIGSEGV for a process killed by a signal (negative code, or 128+n from a shell)."""
    if returncode is None:
        return None
    number = -returncode if returncode < 0 else returncode - 128 if 128 < returncode < 160 else 0
    try:
        return signal.Signals(number).name if number else None
    except ValueError:
        return f"signal {number}"


def run(
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
    input_text: str | None = None,
) -> Completed:
    """Run to completion and capture output; a timeout kills the whole process group."""
    proc = subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(input_text, timeout=timeout)
        return Completed(tuple(argv), proc.returncode, out, err)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        return Completed(tuple(argv), None, out, err, timed_out=True)


def popen(
    argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None, stderr: IO[Any] | None = None
) -> subprocess.Popen[bytes]:
    """Start a long-lived process with binary stdin/stdout pipes (the worker protocol)."""
    return subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr if stderr is not None else subprocess.DEVNULL,
        start_new_session=True,
    )


def kill_group(proc: subprocess.Popen[Any]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
