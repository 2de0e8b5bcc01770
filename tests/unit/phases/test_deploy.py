"""Deployment consumers in the load phase: the real in-runtime deploy worker (fork per stage)
serving a fake tool through the process seam, and every outcome turned into its status.

A converter that aborts the process costs only its cell and is `convert_failed` with the
tool's own line; a run child that dies is a `crash` at its stage; the converted artefact is
kept with its size and sha256; arm targets are run on this host and judged like any other."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from harness.config.deployments import DeployLoader
from harness.config.matrix import Matrix, parse_matrix
from harness.document.cell import CellKey, Stage, Status
from harness.phases.context import RunContext
from harness.phases.deploy import deploy_result, deploy_task
from harness.phases.load import load_runtime
from harness.runtimes.worker_client import Outcome
from harness.store.files import write_json_atomic
from harness.store.layout import Workspace
from tests.unit.fakes import FakeBackend

MATRIX = """
runtimes: [{id: cpu-2.6.2, version: "2.6.2"}]
models: [{id: control_tiny, family: control}]
export_modes:
  - {id: good, full_graph: true, program_format: legacy}
  - {id: abort, full_graph: true, program_format: legacy}
  - {id: segv, full_graph: true, program_format: legacy}
  - {id: raise, full_graph: true, program_format: legacy}
  - {id: failed, full_graph: true, program_format: legacy}
loaders: [{id: predictor, api: predictor}]
deployments:
  - {id: lite-2.10, tool: lite, python: "3.9", packages: ["paddlelite==2.10", "numpy<2"], targets: [x86, "arm,x86"]}
"""
PROGRAM = b"a legacy program " * 40
BOXES = np.arange(8, dtype=np.float32).reshape(1, 4, 2)
SCORES = np.full((1, 3, 2), 0.5, np.float32)


@pytest.fixture
def ws(tmp_path: Path, matrix: Matrix) -> Workspace:
    ws = Workspace(tmp_path / "work")
    for rid in matrix.consumer_ids:
        write_json_atomic(ws.state_file(rid), {"id": rid, "state": "ready", "fingerprint": {"tool": "lite"}})
    for mode in ("good", "abort", "segv", "raise"):
        out = ws.export_dir("cpu-2.6.2", "control_tiny", mode)
        out.mkdir(parents=True)
        (out / "model.pdmodel").write_bytes(PROGRAM)
        (out / "model.pdiparams").write_bytes(b"weights")
        np.savez(out / "input.npz", image=np.zeros((1, 3, 8, 8), np.float32))
        np.savez(out / "reference.npz", output_0=BOXES, output_1=SCORES)
        write_json_atomic(out / "export.json", {"status": "ok", "program_file": "model.pdmodel"})
    failed = ws.export_dir("cpu-2.6.2", "control_tiny", "failed")
    write_json_atomic(failed / "export.json", {"status": "export_failed", "error": "TypeError: sigmoid(): Value"})
    return ws


def run_consumer(ws: Workspace, matrix: Matrix, data_dir: Path) -> tuple[dict[tuple[str, str], dict], FakeBackend]:
    backend = FakeBackend(data_dir / "fake_deploy_worker.py")
    load_runtime(RunContext(matrix, backend, ws), matrix.consumer("lite-2.10"))  # type: ignore[arg-type]
    lines = [json.loads(x) for x in ws.results_file("lite-2.10").read_text().splitlines()]
    return {(r["export"], r["loader"]): r for r in lines}, backend


def test_a_converter_that_aborts_costs_only_its_cell_and_is_convert_failed_with_the_tools_words(
    allow_processes: None, data_dir: Path, matrix: Matrix, ws: Workspace
) -> None:
    by, backend = run_consumer(ws, matrix, data_dir)
    assert len(by) == 5 * 2, "one line per export mode and target"
    assert backend.starts == 1, "the aborting converter ran in a child: the worker served every cell"
    aborted = by[("abort", "lite-x86")]
    assert (aborted["status"], aborted["stage"]) == ("convert_failed", "convert")
    assert aborted["error"] == (
        "[F ...e-Lite/lite/core/model/general/op_desc.h:118 GetAttr] "
        "Check failed: it != attrs().end(): No attributes called beta found for swish"
    ), "the tool's own fatal line, its timestamp dropped so the error is the same every run"
    assert aborted["details"]["signal"] == "SIGABRT" and "artifact" not in aborted["details"]
    assert aborted["details"]["convert_flags"][-1] == "--valid_targets=x86", "the flags are kept when it fails"
    assert by[("abort", "lite-arm+x86")]["status"] == "convert_failed"


def test_the_converted_artefact_is_kept_with_its_size_hash_flags_and_reproduce_commands(
    allow_processes: None, data_dir: Path, matrix: Matrix, ws: Workspace
) -> None:
    by, _ = run_consumer(ws, matrix, data_dir)
    good = by[("good", "lite-x86")]
    assert good["status"] == "pass" and good["max_abs_diff"] == 0.0
    artifact = good["details"]["artifact"]
    assert artifact["file"] == "model.nb" and artifact["bytes"] == len(PROGRAM)
    assert artifact["sha256"] == hashlib.sha256(PROGRAM).hexdigest() and Path(artifact["path"]).is_file()
    assert Path(artifact["path"]).parent == ws.artifact_dir("lite-2.10", "cpu-2.6.2", "control_tiny", "good", "lite-x86")
    details = good["details"]
    assert (details["tool_version"], details["deploy_tool"], details["valid_targets"]) == ("fake-lite 0.1", "lite", "x86")
    assert '"stages": ["convert"]' in details["reproduce_convert"] and '"target": "x86"' in details["reproduce"]
    assert "stages" not in details["reproduce"]
    assert "note" not in details, "an x86 target runs where it was converted for"


def test_arm_targets_are_run_here_and_judged_like_any_other_cell(
    allow_processes: None, data_dir: Path, matrix: Matrix, ws: Workspace
) -> None:
    by, _ = run_consumer(ws, matrix, data_dir)
    arm = by[("good", "lite-arm+x86")]
    assert arm["status"] == "pass", "whatever the run gives is judged: here the fake computes the reference"
    assert "valid_targets=arm,x86" in arm["details"]["note"] and "no arm kernels" in arm["details"]["note"]


def test_a_dying_run_is_a_crash_at_its_stage_and_a_raising_run_is_run_failed(
    allow_processes: None, data_dir: Path, matrix: Matrix, ws: Workspace
) -> None:
    by, _ = run_consumer(ws, matrix, data_dir)
    segv = by[("segv", "lite-x86")]
    assert (segv["status"], segv["stage"], segv["details"]["signal"]) == ("crash", "load", "SIGSEGV")
    assert segv["error"].startswith("the load process died by SIGSEGV")
    assert segv["details"]["artifact"]["bytes"] == len(PROGRAM), "converted before it died"
    raised = by[("raise", "lite-x86")]
    assert (raised["status"], raised["stage"]) == ("run_failed", "run")
    assert raised["error"] == "RuntimeError: the predictor ran out of luck"
    assert by[("failed", "lite-x86")]["status"] == "export_failed", "a failed export is settled, never converted"


# ---------------------------------------------------------------- outcomes, without a process
KEY = CellKey("cpu-2.6.2", "control_tiny", "good", "lite-2.10", "lite-x86")
X86 = DeployLoader("lite-x86", "lite", target="x86")


def reference(tmp_path: Path) -> Path:
    np.savez(tmp_path / "reference.npz", output_0=BOXES, output_1=SCORES)
    return tmp_path / "reference.npz"


def outputs(*arrays: np.ndarray) -> list[dict]:
    return [{"name": f"o{i}", "scene": 0, "dtype": "float32", "shape": list(a.shape), "data": a.ravel().tolist()}
            for i, a in enumerate(arrays)]  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "status", "stage"),
    [
        (Outcome("done", {"ok": True, "stage": None, "outputs": outputs(BOXES, SCORES)}), Status.PASS, None),
        (Outcome("done", {"ok": True, "stage": None, "outputs": outputs(BOXES + 9, SCORES)}), Status.MISMATCH, Stage.COMPARE),
        (Outcome("done", {"ok": False, "stage": "convert", "error": "[ERROR] opset"}), Status.CONVERT_FAILED, Stage.CONVERT),
        (Outcome("done", {"ok": False, "stage": "load", "error": "bad nb"}), Status.LOAD_FAILED, Stage.LOAD),
        (Outcome("crash", {"stage": "convert", "error": "Check failed"}, "SIGABRT"), Status.CONVERT_FAILED, Stage.CONVERT),
        (Outcome("crash", {"stage": "convert", "error": "x"}, "SIGSEGV"), Status.CRASH, Stage.CONVERT),
        (Outcome("crash", {"stage": "run", "error": ""}, "SIGABRT"), Status.CRASH, Stage.RUN),
        (Outcome("timeout", {"stage": "convert"}), Status.TIMEOUT, Stage.CONVERT),
        (Outcome("crash", {}, "SIGKILL"), Status.CRASH, Stage.LOAD),  # the whole worker died: pinned on the cell
    ],
)
def test_every_outcome_becomes_its_status_and_stage(
    tmp_path: Path, matrix: Matrix, outcome: Outcome, status: Status, stage: Stage | None
) -> None:
    result = deploy_result(matrix, KEY, X86, outcome, ("convert-cmd", "cell-cmd"), reference(tmp_path))
    assert (result.status, result.stage) == (status, stage), result.error
    assert result.details["reproduce_convert"] == "convert-cmd" and result.details["reproduce"] == "cell-cmd"
    assert result.details["valid_targets"] == "x86"


def test_a_harness_failure_is_infra_and_an_empty_converter_message_still_names_the_signal(
    tmp_path: Path, matrix: Matrix
) -> None:
    infra = deploy_result(matrix, KEY, X86, Outcome("infra", {"error": "no worker\nlog"}), ("a", "b"), tmp_path)
    assert (infra.status, infra.error) == (Status.INFRA_ERROR, "no worker")
    silent = deploy_result(matrix, KEY, X86, Outcome("crash", {"stage": "convert"}, "SIGABRT"), ("a", "b"), tmp_path)
    assert silent.status is Status.CRASH and silent.error == "the convert process died by SIGABRT"


def test_the_task_names_the_target_or_opset_and_the_cells_own_artifact_directory(matrix: Matrix, tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    out = ws.export_dir("cpu-2.6.2", "control_tiny", "good")
    write_json_atomic(out / "export.json", {"status": "ok", "program_file": "model.pdmodel"})
    dep = matrix.deployments[0]
    task = deploy_task(ws, dep, dep.loader("lite-arm+x86"), KEY, out)
    assert task["target"] == "arm,x86" and task["program"].endswith("model.pdmodel") and "opset" not in task
    assert task["out_dir"] == str(ws.artifact_dir("lite-2.10", "cpu-2.6.2", "control_tiny", "good", "lite-x86"))
    onnx = parse_matrix(MATRIX.replace("tool: lite", "tool: onnx").replace(
        '["paddlelite==2.10", "numpy<2"], targets: [x86, "arm,x86"]', '["paddle2onnx==1.3.1", "onnxruntime==1.32.0"], opsets: [13]'
    )).deployments[0]  # fmt: skip
    task = deploy_task(ws, onnx, onnx.loaders[0], KEY, out)
    assert task["opset"] == 13 and "target" not in task and task["tool"] == "onnx"


def test_the_deployment_workers_code_is_python_3_7() -> None:
    import ast

    inside = Path(__file__).parents[3] / "harness" / "inside"
    for name in ("deploy.py", "deploy_tools.py", "control_model.py", "common.py"):
        ast.parse((inside / name).read_text(), feature_version=(3, 7))  # the Lite wheels' Python
