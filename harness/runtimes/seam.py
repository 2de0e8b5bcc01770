"""The one seam through which the harness starts processes.

Nothing else in the host code imports ``subprocess``: unit tests patch ``run`` and
``popen`` here and assert the exact argv.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable

from harness.errors import HarnessError


class Interrupted(HarnessError):
    """The run was interrupted (Ctrl-C): nothing new is started."""

    exit_code = 130


# Ctrl-C: the harness's children run in their own sessions (so that a timeout can kill a
# whole group), so the terminal's SIGINT never reaches them. interrupt() kills every live
# group, runs the hooks (the Docker backend removes its containers) and makes every later
# start raise Interrupted, so queued work never starts.
_STOPPING = threading.Event()
_LIVE: dict[int, subprocess.Popen[Any]] = {}
_LIVE_LOCK = threading.Lock()
_HOOKS: list[Callable[[], None]] = []


def on_interrupt(hook: Callable[[], None]) -> None:
    _HOOKS.append(hook)


def refuse_when_interrupted(what: str) -> None:
    if _STOPPING.is_set():
        raise Interrupted(f"interrupted: {what} was not started")


def interrupt() -> None:
    """Stop everything this process started, and anything it would start next."""
    _STOPPING.set()
    with _LIVE_LOCK:
        live = list(_LIVE.values())
    for proc in live:
        if proc.poll() is None:  # still ours: a finished one's pid may belong to someone else now
            kill_group(proc)
    for hook in _HOOKS:
        hook()


def interrupted() -> bool:
    return _STOPPING.is_set()


def _spawn(argv: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    refuse_when_interrupted(argv[0])
    proc = subprocess.Popen(argv, start_new_session=True, **kwargs)
    with _LIVE_LOCK:
        _LIVE[proc.pid] = proc
    return proc


def _forget(proc: subprocess.Popen[Any]) -> None:
    with _LIVE_LOCK:
        _LIVE.pop(proc.pid, None)


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
    proc = _spawn(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    try:
        out, err = proc.communicate(input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        return Completed(tuple(argv), None, out, err, timed_out=True)
    finally:
        _forget(proc)
    if _STOPPING.is_set():  # killed by interrupt(): not a result of the command
        raise Interrupted(f"interrupted: {argv[0]} was killed")
    return Completed(tuple(argv), proc.returncode, out, err)


def popen(
    argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None, stderr: IO[Any] | None = None
) -> subprocess.Popen[bytes]:
    """Start a long-lived process with binary stdin/stdout pipes (the worker protocol)."""
    # A long-lived process stays registered until the interpreter exits: interrupt() may
    # kill one that already ended, which is harmless.
    return _spawn(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr if stderr is not None else subprocess.DEVNULL,
    )


def kill_group(proc: subprocess.Popen[Any]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
