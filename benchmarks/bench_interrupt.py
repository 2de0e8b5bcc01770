"""How long Ctrl-C takes to stop a run, and whether queued work started after it.

    python benchmarks/bench_interrupt.py [--jobs 2] [--items 8] [--after 1.0]

Runs harness.phases.context.parallel over ITEMS fake runtimes (JOBS at once), each starting a
long `sleep` through the process seam as a phase would, sends SIGINT to this process AFTER
seconds, and prints the delay from the signal to the moment parallel() gave control back, the
items that started, and whether any started after the signal (it must be none). One run, no
threshold: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.phases.context import parallel  # noqa: E402
from harness.runtimes import seam  # noqa: E402


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--jobs", type=int, default=2)
    args.add_argument("--items", type=int, default=8)
    args.add_argument("--after", type=float, default=1.0)
    opts = args.parse_args()
    started: list[tuple[int, float]] = []
    sent: list[float] = []

    def item(n: int) -> None:
        started.append((n, time.monotonic()))
        seam.run(["sleep", "60"], timeout=120)

    def interrupt() -> None:
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    threading.Timer(opts.after, interrupt).start()
    try:
        parallel(range(opts.items), item, opts.jobs)
    except KeyboardInterrupt:
        stopped = time.monotonic()
    else:
        print("the run was not interrupted")
        return 1
    late = [n for n, at in started if at > sent[0]]
    print(f"Ctrl-C to control back: {stopped - sent[0]:.3f} s")
    print(f"items started: {len(started)} of {opts.items} (jobs {opts.jobs}); started after Ctrl-C: {late or 'none'}")
    time.sleep(0.5)
    print(f"items started by then: {len(started)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
