"""The process seam: timeouts kill the whole group, signals are named, an interrupt is final."""

from __future__ import annotations

import threading
import time

import pytest

from harness.runtimes import seam


@pytest.fixture
def fresh_stop(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    event = threading.Event()
    monkeypatch.setattr(seam, "_STOPPING", event)
    monkeypatch.setattr(seam, "_LIVE", {})  # only this test's processes; long-lived workers of others stay registered
    return event


def test_a_timeout_kills_the_process_group_and_says_so(allow_processes: None, fresh_stop: threading.Event) -> None:
    started = time.monotonic()
    res = seam.run(["sh", "-c", "sleep 30 & sleep 30"], timeout=0.5)
    assert res.timed_out and res.returncode is None and not res.ok
    assert time.monotonic() - started < 10, "the shell's child is killed too, or communicate() would wait for it"
    assert not seam._LIVE, "a finished process is forgotten"


def test_output_and_exit_are_captured(allow_processes: None) -> None:
    res = seam.run(["sh", "-c", "cat; echo err >&2; exit 3"], input_text="in\n", timeout=30)
    assert (res.returncode, res.stdout, res.stderr, res.ok) == (3, "in\n", "err\n", False)


@pytest.mark.parametrize(
    ("code", "name"), [(-11, "SIGSEGV"), (139, "SIGSEGV"), (134, "SIGABRT"), (1, None), (0, None), (None, None)]
)
def test_signals_are_named_from_either_convention(code: int | None, name: str | None) -> None:
    assert seam.signal_name(code) == name


def test_after_an_interrupt_nothing_starts(allow_processes: None, fresh_stop: threading.Event) -> None:
    assert not seam.interrupted()
    seam.interrupt()
    assert seam.interrupted()
    with pytest.raises(seam.Interrupted, match="interrupted: true was not started"):
        seam.run(["true"])
    with pytest.raises(seam.Interrupted):
        seam.popen(["true"])
