"""Docker tier: deployment consumers for real. Paddle-Lite 2.10 and paddle2onnx 1.3.1 + ONNX
Runtime, each in its own image, convert and run Paddle 2.6.2's exports of the positive control
and of the NMS detector (tests/data/matrix-deploy.yaml), run exactly as a user would
(`python -m harness matrix --backend docker`, a subprocess, no patching).

The positive control must pass in both (x86 target, opset 13): where it does not, the consumer
or the harness is broken. Every other cell holds a verdict with its evidence (the converted
file kept and hashed, the tool's command line); the arm,x86 conversion is run on this x86
host and recorded as it really is. The deployment worker's container is confined like every
consumer's: no network, not root, exports read-only; it writes only its own artifacts.

HARNESS_DOCKER_TEST_WORK=<dir> keeps the work directory between runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.config.matrix import load_matrix
from harness.config.plan import planned_cells
from harness.runtimes import docker_seam
from harness.runtimes.docker import LABEL, WORK_LABEL, DockerBackend
from harness.runtimes.worker_client import worker_args
from tests.docker.live import exec_in_worker

pytestmark = pytest.mark.docker
ROOT = Path(__file__).parents[2]
MATRIX = ROOT / "tests" / "data" / "matrix-deploy.yaml"
KEYS = ("producer", "model", "export", "consumer", "loader")
VERDICTS = {"pass", "flaky", "mismatch", "convert_failed", "load_failed", "run_failed", "crash", "timeout"}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    keep = os.environ.get("HARNESS_DOCKER_TEST_WORK")
    work = Path(keep) / "work-deploy" if keep else tmp_path_factory.mktemp("work-deploy")
    reports = tmp_path_factory.mktemp("reports-deploy")
    argv = [sys.executable, "-m", "harness", "matrix", "--backend", "docker", "--matrix", str(MATRIX), "--jobs", "2"]
    argv += ["--work", str(work), "--reports", str(reports), "--history", "none"]
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=3000)
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((reports / "results.json").read_text())
    cells = {tuple(c[k] for k in KEYS): c for c in results["cells"]}
    print(f"\n[docker tier] deployment matrix --backend docker: {seconds:.0f} s")
    for key, c in sorted(cells.items()):
        print(f"[docker tier]   {'/'.join(key[1:2] + key[3:])}: {c['status']} {c['error'][:140]}")
    return {"results": results, "cells": cells, "work": work, "stdout": proc.stdout}


def cell(run: dict[str, Any], model: str, consumer: str, loader: str) -> dict[str, Any]:
    found: dict[str, Any] = run["cells"][("cpu-2.6.2", model, "fullgraph_on-legacy", consumer, loader)]
    return found


def test_every_cell_is_present_once_with_a_verdict(run: dict[str, Any]) -> None:
    planned = {tuple(getattr(k, f) for f in KEYS) for k in planned_cells(load_matrix(MATRIX))}
    assert set(run["cells"]) == planned and len(run["results"]["cells"]) == len(planned)
    deployed = [c for c in run["results"]["cells"] if c["consumer"] != "cpu-2.6.2"]
    assert len(deployed) == 2 * 3 and all(c["status"] in VERDICTS for c in deployed), [
        (c["consumer"], c["loader"], c["status"], c["error"]) for c in deployed if c["status"] not in VERDICTS
    ]


def test_each_deployment_consumer_is_its_own_image_with_its_tool_in_the_fingerprint(run: dict[str, Any]) -> None:
    runtimes = {r["id"]: r for r in run["results"]["runtimes"]}
    lite, onnx = runtimes["lite-2.10"], runtimes["onnx-p2o-1.3.1"]
    for rt in (lite, onnx):
        assert rt["state"] == "ready" and rt["backend"] == "docker", rt["reason"]
    assert lite["tool"] == "lite" and lite["fingerprint"]["python"].startswith("3.9.")
    assert "paddlelite==2.10" in lite["fingerprint"]["packages"] and lite["fingerprint"]["numpy"].startswith("1.")
    assert lite["fingerprint"]["tool_version"].startswith("paddlelite 2.10")
    assert onnx["tool"] == "onnx" and onnx["fingerprint"]["python"].startswith("3.11.")
    assert onnx["fingerprint"]["tool_version"].startswith("paddle2onnx 1.3.1 + onnxruntime 1.32.0")
    assert not any(p.startswith("paddlepaddle==") for p in onnx["fingerprint"]["packages"]), "1.x runs without Paddle"


def test_the_positive_control_passes_in_lite_and_in_onnx(run: dict[str, Any]) -> None:
    for consumer, loader in (("lite-2.10", "lite-x86"), ("onnx-p2o-1.3.1", "onnx-opset13")):
        c = cell(run, "control_tiny", consumer, loader)
        assert c["status"] == "pass", (consumer, c["status"], c["error"], c["log"][-2000:])
        assert c["max_abs_diff"] is not None and c["max_abs_diff"] < 1e-3
    assert cell(run, "control_tiny", "cpu-2.6.2", "predictor")["status"] == "pass"
    opsets = cell(run, "control_tiny", "onnx-p2o-1.3.1", "onnx-opset13")["details"]["onnx_opsets"]
    assert opsets["ai.onnx"] == 13, "converted at the declared opset, never upgraded"


def test_converted_artefacts_are_kept_hashed_with_the_tools_command_line(run: dict[str, Any]) -> None:
    converted = [c for c in run["results"]["cells"] if "artifact" in c["details"]]
    assert len(converted) >= 3, "the control converts for x86, arm,x86 and opset 13 at least"
    for c in converted:
        artifact = c["details"]["artifact"]
        path = Path(artifact["path"])
        assert path.is_file() and path.is_relative_to(run["work"] / "artifacts" / c["consumer"])
        assert hashlib.sha256(path.read_bytes()).hexdigest() == artifact["sha256"] and path.stat().st_size == artifact["bytes"]
        assert c["details"]["convert_flags"][0] in ("paddle_lite_opt", "paddle2onnx")
        for command in (c["details"]["reproduce_convert"], c["details"]["reproduce"]):
            assert command.startswith("echo '") and "| docker run --rm -i --init --network none" in command
        assert '"stages": ["convert"]' in c["details"]["reproduce_convert"]


def test_a_model_lite_cannot_convert_is_convert_failed_with_the_tools_words_and_costs_only_its_cell(
    run: dict[str, Any],
) -> None:
    """Lite 2.10 has no x86 softplus and reads no swish without `beta` (Paddle >= 2.6 writes
    none): its optimizer says so and aborts. That is the cell's verdict, with the tool's line."""
    for loader in ("lite-x86", "lite-arm+x86"):
        lite = cell(run, "ppyoloe_tiny", "lite-2.10", loader)
        assert (lite["status"], lite["stage"], lite["details"]["signal"]) == ("convert_failed", "convert", "SIGABRT")
        assert ("not supported" in lite["error"] or "Check failed" in lite["error"]) and "artifact" not in lite["details"]
        assert lite["details"]["convert_flags"][3] == f"--valid_targets={loader[5:].replace('+', ',')}"
    onnx = cell(run, "ppyoloe_tiny", "onnx-p2o-1.3.1", "onnx-opset13")
    assert onnx["status"] in VERDICTS and onnx["details"]["opset"] == 13 and onnx["details"]["artifact"]["bytes"] > 0


def test_the_arm_x86_conversion_is_run_on_this_host_and_recorded_as_it_is(run: dict[str, Any]) -> None:
    arm = cell(run, "control_tiny", "lite-2.10", "lite-arm+x86")
    assert arm["status"] in VERDICTS and "no arm kernels" in arm["details"]["note"]
    assert arm["details"]["artifact"]["bytes"] > 0, "arm,x86 converts; what running it here gives is the verdict"
    print(f"\n[docker tier] control on lite-2.10 arm,x86: {arm['status']}: {arm['error']}")


def test_the_deploy_worker_has_no_network_is_not_root_reads_exports_and_writes_only_its_artifacts(
    run: dict[str, Any], tmp_path: Path
) -> None:
    dep = load_matrix(MATRIX).consumer("lite-2.10")
    work = run["work"]
    backend = DockerBackend(work)
    exports, artifacts = work / "exports", work / "artifacts" / "lite-2.10"
    check = (
        "import os, socket\n"
        "print(os.getuid())\n"
        "print(','.join(sorted(os.listdir('/sys/class/net'))))\n"
        "def tryw(p):\n"
        "    try:\n        open(p, 'w').close(); os.remove(p); return 'wrote'\n"
        "    except OSError as exc:\n        return 'read-only' if exc.errno == 30 else 'refused'\n"
        f"print(tryw({str(exports / 'cpu-2.6.2' / 'intruder')!r}))\n"
        f"print(tryw({str(artifacts / 'probe')!r}))\n"
        "try:\n    socket.create_connection(('pypi.org', 443), timeout=5)\n    print('online')\n"
        "except OSError:\n    print('offline')\n"
    )
    lines, host_config = exec_in_worker(backend, dep, worker_args(dep), check, tmp_path / "worker.log")
    uid, interfaces, exports_write, artifacts_write, network = lines
    assert uid != "0" and interfaces == "lo"
    assert (exports_write, artifacts_write, network) == ("read-only", "wrote", "offline")
    assert host_config["NetworkMode"] == "none" and host_config["Init"] is True
    assert sorted(host_config["Binds"]) == sorted([f"{exports}:{exports}:ro", f"{artifacts}:{artifacts}:rw"])


def test_no_container_is_left_behind(run: dict[str, Any]) -> None:
    mine = f"{WORK_LABEL}={Path(run['work']).resolve()}"
    left = docker_seam.client().containers.list(all=True, filters={"label": [LABEL, mine]})
    assert not left, [c.name for c in left]
