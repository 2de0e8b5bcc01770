"""Progress of a long phase: cells done / total, which runtime, and an ETA.

On a terminal one line is redrawn in place; in CI logs (not a TTY, or CI set) plain
lines are printed at most every few seconds, so logs stay readable.
"""

from __future__ import annotations

import os
import sys
import threading
import time

_PRINT_LOCK = threading.Lock()


class Progress:
    def __init__(self, label: str, total: int, every_s: float = 10.0) -> None:
        self.label, self.total, self.every_s = label, total, every_s
        self.done = 0
        self.started = self.last = time.monotonic()
        self.live = sys.stdout.isatty() and not os.environ.get("CI")

    def eta(self) -> str:
        if not self.done or self.done >= self.total:
            return ""
        left = (time.monotonic() - self.started) / self.done * (self.total - self.done)
        return f", ETA {int(left // 60)}m{int(left % 60):02d}s"

    def step(self, note: str = "") -> None:
        self.done += 1
        now = time.monotonic()
        finished = self.done >= self.total
        if not (self.live or finished or now - self.last >= self.every_s):
            return
        self.last = now
        line = f"[{self.label}] {self.done}/{self.total} cells{self.eta()}" + (f" {note}" if note else "")
        with _PRINT_LOCK:
            if self.live and not finished:
                print("\r" + line[:150].ljust(150), end="", flush=True)
            else:
                print(("\r" if self.live else "") + line, flush=True)
