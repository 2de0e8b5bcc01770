"""The one place the harness prints: phase lines, progress, warnings, errors and data.

Modes: normal; quiet (`--quiet`: only warnings, errors and data); CI (not a TTY, or CI
set: progress as plain lines at most every few seconds instead of a redrawn line).
Nothing else in the host code calls print().
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

_LOCK = threading.Lock()


class Console:
    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self._out, self._err = out, err
        self.quiet = False

    @property
    def out(self) -> TextIO:
        return self._out or sys.stdout  # looked up late: pytest and redirects swap sys.stdout

    @property
    def err(self) -> TextIO:
        return self._err or sys.stderr

    @property
    def live(self) -> bool:
        """A terminal a progress line can be redrawn on (not CI, not a log file)."""
        return self.out.isatty() and not os.environ.get("CI") and not self.quiet

    def say(self, message: str) -> None:
        """A phase line: what the harness is doing or decided."""
        if not self.quiet:
            self._write(self.out, message)

    def data(self, text: str) -> None:
        """Output that is the answer itself (a listing, JSON): printed in every mode."""
        self._write(self.out, text)

    def warn(self, message: str) -> None:
        self._write(self.err, f"warning: {message}")

    def error(self, message: str) -> None:
        self._write(self.err, message)

    def progress(self, label: str, total: int, every_s: float = 10.0) -> Progress:
        return Progress(self, label, total, every_s)

    def _write(self, stream: TextIO, text: str, end: str = "\n") -> None:
        with _LOCK:
            stream.write(text + end)
            stream.flush()


class Progress:
    """Cells done / total of a long phase, with an ETA."""

    def __init__(self, console: Console, label: str, total: int, every_s: float) -> None:
        self.console, self.label, self.total, self.every_s = console, label, total, every_s
        self.done = 0
        self.started = self.last = time.monotonic()

    def eta(self) -> str:
        if not self.done or self.done >= self.total:
            return ""
        left = (time.monotonic() - self.started) / self.done * (self.total - self.done)
        return f", ETA {int(left // 60)}m{int(left % 60):02d}s"

    def step(self, note: str = "") -> None:
        self.done += 1
        now = time.monotonic()
        finished = self.done >= self.total
        live = self.console.live
        if self.console.quiet or not (live or finished or now - self.last >= self.every_s):
            return
        self.last = now
        line = f"[{self.label}] {self.done}/{self.total} cells{self.eta()}" + (f" {note}" if note else "")
        if live and not finished:
            self.console._write(self.console.out, "\r" + line[:150].ljust(150), end="")
        else:
            self.console._write(self.console.out, ("\r" if live else "") + line)


console = Console()
