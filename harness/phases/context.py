"""What every phase shares: the matrix, the backend, the work directory (one object, not
three arguments threaded through every call), plus per-run memory such as failed installs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, TypeVar

from harness.config.matrix import Loader, Matrix
from harness.runtimes import seam
from harness.runtimes.backend import Backend
from harness.store.layout import Workspace
from harness.store.state import RuntimeRecord, read_state

T = TypeVar("T")


@dataclass(frozen=True)
class RunContext:
    matrix: Matrix
    backend: Backend
    ws: Workspace
    # Installs of a model's requires that failed in this run (by target directory), so the
    # training and every export of that model do not each try again. Never written down:
    # the next run tries again.
    failed_installs: dict[Any, Any] = field(default_factory=dict, compare=False)

    def state(self, rt_id: str) -> RuntimeRecord:
        return read_state(self.ws, rt_id)

    def loader(self, loader_id: str) -> Loader:
        for loader in self.matrix.loaders:
            if loader.id == loader_id:
                return loader
        raise KeyError(loader_id)


def parallel(items: Iterable[T], fn: Callable[[T], object], jobs: int) -> None:
    """Run fn over items on a thread pool; the work itself happens in child processes.

    On Ctrl-C (or any error) queued items are cancelled, running processes are killed
    (seam.interrupt) and the pool is not waited for: nothing queued starts afterwards."""
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        for future in [pool.submit(fn, item) for item in items]:
            future.result()
    except KeyboardInterrupt:
        # Cancel the queue first: a pool thread freed by a kill would otherwise pick up a
        # queued item while the interrupt hooks still run, and start it.
        pool.shutdown(wait=False, cancel_futures=True)
        seam.interrupt()
        raise
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
