"""The worker protocol against a paddle-free fake worker in a real process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.config.matrix import Runtime
from harness.runtimes.worker_client import Worker, WorkerStartError
from tests.unit.fakes import FakeBackend

RT = Runtime(id="fake", version="0.0.0")


@pytest.fixture
def worker(allow_processes: None, data_dir: Path, tmp_path: Path) -> Any:
    backend = FakeBackend(data_dir / "fake_worker.py")
    w = Worker(backend, RT, tmp_path / "worker.log", start_timeout=30, grace_s=0.5)  # type: ignore[arg-type]
    yield w
    w.stop()


def test_answers_are_matched_to_their_task(worker: Worker) -> None:
    first = worker.run({"id": "a"}, timeout=30)
    second = worker.run({"id": "noise-b"}, timeout=30)
    assert (first.kind, first.reply["id"]) == ("done", "a")
    assert (second.kind, second.reply["id"]) == ("done", "noise-b")
    assert "log for noise-b" in second.log and "log for a" not in second.log
    assert first.reply["pid"] == second.reply["pid"], "one long-lived worker serves both tasks"


def test_crash_is_pinned_on_the_task_in_flight_and_the_worker_restarts(worker: Worker) -> None:
    before = worker.run({"id": "a"}, timeout=30)
    crashed = worker.run({"id": "crash-1"}, timeout=30)
    after = worker.run({"id": "b"}, timeout=30)
    assert crashed.kind == "crash" and crashed.signal == "SIGSEGV"
    assert "Segmentation fault" in crashed.log
    assert after.kind == "done" and after.reply["pid"] != before.reply["pid"]
    assert worker.starts == 2


def test_a_crashed_child_reported_by_the_worker_needs_no_restart(worker: Worker) -> None:
    crashed = worker.run({"id": "childcrash-1"}, timeout=30)
    after = worker.run({"id": "d"}, timeout=30)
    assert crashed.kind == "crash" and crashed.signal == "SIGSEGV"
    assert after.kind == "done" and worker.starts == 1


def test_hang_becomes_timeout_and_the_rest_still_runs(worker: Worker) -> None:
    hung = worker.run({"id": "hang-1"}, timeout=1.0)
    after = worker.run({"id": "c"}, timeout=30)
    assert hung.kind == "timeout" and hung.signal is None
    assert after.kind == "done"


def test_a_worker_that_cannot_start_is_one_clear_error(allow_processes: None, tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import sys\nsys.stderr.write('ImportError: no paddle here\\n')\nsys.exit(1)\n")
    w = Worker(FakeBackend(broken), RT, tmp_path / "w.log", start_timeout=30)  # type: ignore[arg-type]
    with pytest.raises(WorkerStartError, match="no paddle here"):
        w.run({"id": "a"}, timeout=5)
