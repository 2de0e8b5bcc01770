"""Cells that settle without running: a runtime that is not ready, an export missing or failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.document.cell import CellKey, Stage, Status
from harness.store.files import write_json_atomic
from harness.store.layout import Workspace
from harness.store.settled import export_details, settle

KEY = CellKey("cpu-2.6.2", "ppyoloe_tiny", "fullgraph_on-legacy", "cpu-3.3.1", "predictor")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path)
    for rid in ("cpu-2.6.2", "cpu-3.3.1"):
        write_json_atomic(ws.state_file(rid), {"id": rid, "state": "ready", "fingerprint": {}})
    write_json_atomic(ws.state_file("cpu-2.5"), {"id": "cpu-2.5", "state": "unavailable", "reason": "index down\nmore"})
    write_json_atomic(ws.state_file("gpu-2.6.2"), {"id": "gpu-2.6.2", "state": "skipped", "reason": "no GPU"})
    return ws


def export_record(ws: Workspace, key: CellKey, **record: object) -> None:
    write_json_atomic(ws.export_dir(key.producer, key.model, key.export) / "export.json", record)


def test_unavailable_and_skipped_runtimes_settle_cells(ws: Workspace) -> None:
    down = settle(ws, CellKey("cpu-2.5", "m", "e", "cpu-3.3.1", "l"))
    gpu = settle(ws, CellKey("cpu-2.6.2", "m", "e", "gpu-2.6.2", "l"))
    assert down is not None and down.status is Status.UNAVAILABLE and down.stage is Stage.BUILD
    assert down.error == "producer cpu-2.5 unavailable: index down" and "more" in down.log
    assert gpu is not None and gpu.status is Status.SKIPPED and gpu.error.startswith("consumer gpu-2.6.2 skipped")


def test_unbuilt_runtime_and_missing_export_are_infra_errors(ws: Workspace) -> None:
    unbuilt = settle(ws, CellKey("cpu-9", "m", "e", "cpu-3.3.1", "l"))
    no_export = settle(ws, KEY)
    assert unbuilt is not None and unbuilt.status is Status.INFRA_ERROR
    assert (
        no_export is not None and no_export.status is Status.INFRA_ERROR and "run the export phase" in no_export.error
    )


@pytest.mark.parametrize(
    ("export_status", "expected"),
    [
        ("export_failed", Status.EXPORT_FAILED),
        ("not_applicable", Status.NOT_APPLICABLE),
        ("crash", Status.CRASH),
        ("timeout", Status.TIMEOUT),
    ],
)
def test_failed_exports_settle_their_cells(ws: Workspace, export_status: str, expected: Status) -> None:
    export_record(
        ws, KEY, status=export_status, error="RuntimeError: boom", log="Traceback ...", files={"model.json": 1}
    )
    result = settle(ws, KEY)
    assert result is not None and result.status is expected and result.stage is Stage.EXPORT
    assert result.error == "RuntimeError: boom" and result.details["export_files"] == {"model.json": 1}


def test_good_export_needs_running(ws: Workspace) -> None:
    export_record(ws, KEY, status="ok", program_file="model.pdmodel")
    assert settle(ws, KEY) is None


def test_a_corrupt_state_settles_its_cells_as_infra_errors_naming_the_file(ws: Workspace) -> None:
    ws.state_file("cpu-3.3.1").write_text("{not json")
    result = settle(ws, KEY)
    assert result is not None and result.status is Status.INFRA_ERROR and result.stage is Stage.BUILD
    assert str(ws.state_file("cpu-3.3.1")) in result.error and "rebuild runtime cpu-3.3.1" in result.log


def test_export_records_of_ppdet_keep_the_ppdet_version_as_evidence() -> None:
    details = export_details({"ppdet_version": "2.6.0", "paddle_version": "3.3.1", "family": "ppdet"})
    assert details == {"export_ppdet_version": "2.6.0", "export_paddle_version": "3.3.1"}
