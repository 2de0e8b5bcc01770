"""What every phase shares: RunContext, and `parallel`, whose Ctrl-C stops everything at once."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from harness.config.matrix import load_matrix
from harness.phases.context import RunContext, parallel
from harness.runtimes import seam
from harness.store.files import write_json_atomic
from harness.store.layout import Workspace
from harness.store.state import RuntimeState
from tests.unit.fakes import FakeBackend

ROOT = Path(__file__).parents[3]


@pytest.fixture
def fresh_stop(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """seam's module-level "stopping" flag and live-process table, fresh for this test and
    restored afterwards: an interrupt here must not make every later test's processes refuse
    to start, and must see only this test's processes (other tests' workers stay registered)."""
    event = threading.Event()
    monkeypatch.setattr(seam, "_STOPPING", event)
    monkeypatch.setattr(seam, "_LIVE", {})
    return event


def test_ctrl_c_kills_running_processes_and_nothing_queued_ever_starts(
    allow_processes: None, fresh_stop: threading.Event, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    # Interrupt hooks take a while (the Docker backend removes its containers): pool threads
    # freed by the kills must not pick up queued items meanwhile.
    monkeypatch.setattr(seam, "_HOOKS", [lambda: time.sleep(0.5)])
    # Python's own Ctrl-C handler, as at a terminal: a process started in the background by a
    # shell without job control (`sh -c '... &'`) inherits SIGINT ignored, and Python then
    # installs none, so the SIGINT below would be lost.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    request.addfinalizer(lambda: signal.signal(signal.SIGINT, previous))
    began: list[int] = []
    lock = threading.Lock()
    running: list[Any] = []
    main = threading.get_ident()

    def work(item: int) -> None:
        with lock:
            began.append(item)
        seam.run(["sleep", "30"], timeout=60)

    def press_ctrl_c() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with seam._LIVE_LOCK:
                live = list(seam._LIVE.values())
            if len(began) == 2 and len(live) == 2:
                running.extend(live)
                break
            time.sleep(0.02)
        # A real SIGINT aimed at the main thread, as a terminal's Ctrl-C arrives: it wakes
        # the main thread out of its wait on the first future.
        signal.pthread_kill(main, signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c, daemon=True)
    started = time.monotonic()
    presser.start()
    with pytest.raises(KeyboardInterrupt):
        parallel(range(6), work, jobs=2)
    elapsed = time.monotonic() - started
    presser.join(5)

    assert elapsed < 10, f"Ctrl-C took {elapsed:.1f} s to come back"
    assert len(running) == 2, "both jobs had their process running when Ctrl-C came"
    for proc in running:
        assert proc.wait(timeout=5) == -signal.SIGKILL, "a running process was killed, not waited for"
    time.sleep(0.5)  # time for a freed pool thread to (wrongly) pick up a queued item
    assert sorted(began) == [0, 1], "no queued item began after Ctrl-C"
    assert fresh_stop.is_set()
    with pytest.raises(seam.Interrupted):
        seam.run(["true"])


def test_parallel_runs_every_item_and_reraises_an_error(fresh_stop: threading.Event) -> None:
    done: list[int] = []
    parallel(range(5), done.append, jobs=3)
    assert sorted(done) == [0, 1, 2, 3, 4]

    def fail(item: int) -> None:
        raise ValueError(f"item {item}")

    with pytest.raises(ValueError, match="item 0"):
        parallel([0], fail, jobs=2)
    assert not fresh_stop.is_set(), "an ordinary error does not stop the processes of other phases"


def test_the_context_reads_state_and_finds_loaders(tmp_path: Path) -> None:
    matrix = load_matrix(ROOT / "tests" / "data" / "matrix-small.yaml")
    ws = Workspace(tmp_path)
    write_json_atomic(ws.state_file("cpu-2.6.2"), {"id": "cpu-2.6.2", "state": "ready", "fingerprint": {"a": 1}})
    ctx = RunContext(matrix, FakeBackend(tmp_path / "w.py"), ws)  # type: ignore[arg-type]
    assert ctx.state("cpu-2.6.2").ready and ctx.state("cpu-2.6.2").fingerprint == {"a": 1}
    assert ctx.state("cpu-3.3.1").state is RuntimeState.NOT_BUILT
    assert ctx.loader("jit_load").api == "jit_load"
    with pytest.raises(KeyError):
        ctx.loader("nope")
