"""Host side of the worker protocol: one long-lived worker per consumer runtime.

The worker announces each task before it starts it. It runs each task in a forked
child and reports a child's death by signal (`crashed`) or overrun (`timeout`) itself;
where it cannot fork, or when the worker as a whole dies or hangs, the host pins the
death on the announced cell, records it, and starts a fresh worker for the rest.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from harness.config.deployments import Buildable, Deployment
from harness.errors import HarnessError
from harness.runtimes.backend import Backend, RuntimeProcess
from harness.runtimes.seam import signal_name

WORKER_ARGS = ["-m", "harness.inside", "worker"]


def worker_args(rt: Buildable) -> list[str]:
    """The worker of a Paddle runtime, or of a deployment consumer (its tool named): both
    speak the same protocol."""
    if isinstance(rt, Deployment):
        return ["-m", "harness.inside", "deploy-worker", rt.tool]
    return WORKER_ARGS
# The worker enforces the cell timeout on its child; the host waits this much longer
# before it gives up on the worker itself.
HOST_GRACE_S = 30.0


_ENDINGS = {"done": "done", "crashed": "crash", "timeout": "timeout"}


class WorkerStartError(HarnessError):
    """The worker never said it was ready (paddle failed to import, or it hung)."""


@dataclass
class Outcome:
    kind: str  # "done" | "crash" | "timeout"
    reply: dict[str, Any] = field(default_factory=dict)
    signal: str | None = None
    log: str = ""
    seconds: float = 0.0


class Worker:
    def __init__(
        self, backend: Backend, rt: Buildable, log_path: Path, start_timeout: float, grace_s: float = HOST_GRACE_S
    ) -> None:
        self.backend, self.rt, self.log_path, self.start_timeout = backend, rt, log_path, start_timeout
        self.grace_s = grace_s
        self.proc: RuntimeProcess | None = None
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        self.log_handle: IO[bytes] | None = None
        self.starts = 0

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_handle = self.log_path.open("ab")
        offset = self._log_size()
        self.proc = self.backend.start(self.rt, worker_args(self.rt), stderr=self.log_handle)
        self.starts += 1
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc, self.lines), daemon=True).start()
        message = self._next(self.start_timeout)
        if not message or message.get("event") != "ready":
            self.stop()
            tail = self._log_since(offset)[-4000:]
            raise WorkerStartError(
                f"the worker in runtime {self.rt.id} did not start:\n{tail}",
                f"run `{self.backend.describe(self.rt, worker_args(self.rt))}` to see it fail",
            )

    def stop(self) -> None:
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except Exception:  # noqa: BLE001  a stuck or dead worker is killed either way
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self.log_handle is not None:
            self.log_handle.close()
            self.log_handle = None

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ tasks
    def run(self, task: dict[str, Any], timeout: float) -> Outcome:
        """Run one task; on crash or timeout the worker is replaced before returning."""
        if self.proc is None:
            self.start()
        assert self.proc is not None
        offset = self._log_size()
        started = time.monotonic()
        self.proc.stdin.write((json.dumps({**task, "timeout_s": timeout}) + "\n").encode())
        self.proc.stdin.flush()
        deadline = started + timeout + self.grace_s
        while True:
            message = self._next(max(0.0, deadline - time.monotonic()))
            if message is None:
                return self._lost(offset, started, timed_out=time.monotonic() >= deadline)
            if message.get("id") == task["id"] and message.get("event") in _ENDINGS:
                log, seconds = self._log_since(offset), time.monotonic() - started
                return Outcome(_ENDINGS[message["event"]], message, message.get("signal"), log, seconds)

    def _lost(self, offset: int, started: float, timed_out: bool) -> Outcome:
        assert self.proc is not None
        if timed_out:
            self.proc.kill()
        code = self.proc.wait()
        self.proc = None
        if self.log_handle is not None:
            self.log_handle.flush()
        kind = "timeout" if timed_out else "crash"
        sig = None if timed_out else (signal_name(code) or f"exit status {code}")
        return Outcome(kind, signal=sig, log=self._log_since(offset), seconds=time.monotonic() - started)

    # ------------------------------------------------------------ plumbing
    @staticmethod
    def _pump(proc: RuntimeProcess, lines: queue.Queue[bytes | None]) -> None:
        for line in iter(proc.stdout.readline, b""):
            lines.put(line)
        lines.put(None)

    def _next(self, timeout: float) -> dict[str, Any] | None:
        """The next protocol message, or None on EOF or timeout."""
        end = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                return None
            if line is None:
                return None
            try:
                message = json.loads(line)
            except ValueError:
                continue  # not a protocol line; the worker keeps its own stdout clean
            if isinstance(message, dict):
                return message

    def _log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def _log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", "replace")
