"""A runtime's state.json: typed, and never fatal when it is missing or corrupt."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.store.files import write_json_atomic
from harness.store.layout import Workspace
from harness.store.state import RuntimeRecord, RuntimeState, read_state, write_state


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "work")


def test_a_record_round_trips(ws: Workspace) -> None:
    record = RuntimeRecord(
        "cpu-2.6.2", RuntimeState.READY, fingerprint={"paddle_version": "2.6.2"}, backend="venv", identity="abc"
    )
    write_state(ws, record)
    assert read_state(ws, "cpu-2.6.2") == record


def test_a_missing_state_is_not_built_and_says_which_phase_to_run(ws: Workspace) -> None:
    state = read_state(ws, "cpu-2.6.2")
    assert state.state is RuntimeState.NOT_BUILT and not state.ready
    assert state.reason == "runtime cpu-2.6.2 was not built: run the build phase for it"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b'{"id": "cpu-2.6.2", "state": "rea', "not valid JSON"),
        (b'{"id": "cpu-2.6.2", "state": "ready", "reason": "\xff\xfe"}', "not UTF-8 text"),
        (b'{"id": "cpu-2.6.2", "state": "half-built"}', "not a runtime record"),
        (b'["ready"]', "expected a JSON object"),
    ],
)
def test_a_corrupt_state_is_not_built_naming_the_file_and_moved_aside(ws: Workspace, content: bytes, why: str) -> None:
    path = ws.state_file("cpu-2.6.2")
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    venv = ws.runtime_dir("cpu-2.6.2") / "venv" / "bin"
    venv.mkdir(parents=True)  # what the build made stays
    write_state(ws, RuntimeRecord("cpu-3.3.1", RuntimeState.READY, fingerprint={"p": 1}))

    state = read_state(ws, "cpu-2.6.2")

    assert state.state is RuntimeState.NOT_BUILT and state.state.is_infra
    assert state.reason.startswith(f"{path} is unreadable: {why}"), state.reason
    [moved] = path.parent.glob("state.json.corrupt-*")
    assert f"moved aside to {moved.name}" in state.reason and "rebuild runtime cpu-2.6.2" in state.reason
    assert moved.read_bytes() == content, "the bad file is kept for a person to look at"
    assert not path.exists() and venv.is_dir()
    assert read_state(ws, "cpu-3.3.1").ready, "other runtimes are untouched"
    assert read_state(ws, "cpu-2.6.2").reason == "runtime cpu-2.6.2 was not built: run the build phase for it"


def test_a_record_written_before_identity_existed_still_reads(ws: Workspace) -> None:
    write_json_atomic(ws.state_file("cpu-2.5"), {"id": "cpu-2.5", "state": "unavailable", "reason": "index down"})
    state = read_state(ws, "cpu-2.5")
    assert (state.state, state.reason, state.identity, state.fingerprint) == (
        RuntimeState.UNAVAILABLE,
        "index down",
        "",
        None,
    )
