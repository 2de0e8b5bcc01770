"""Paddle 2.3 for real: the row the field asks about most ("exported with 2.6, does it run on
2.3.2?"). On Docker the 2.3.2 wheel runs on a Debian bullseye base and gets judged cells in
both directions; on the venv backend of this host (glibc >= 2.34) the same runtime is
unavailable with the glibc reason, never a silent failure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.docker
ROOT = Path(__file__).parents[2]
MATRIX = ROOT / "tests" / "data" / "matrix-old-paddle.yaml"
VERDICTS = {"pass", "flaky", "mismatch", "load_failed", "run_failed", "crash", "timeout"}


def matrix(backend: str, tmp: Path) -> dict[str, Any]:
    argv = [sys.executable, "-m", "harness", "matrix", "--backend", backend, "--matrix", str(MATRIX)]
    argv += ["--work", str(tmp / "work"), "--reports", str(tmp / "reports"), "--history", "none", "--jobs", "2"]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=3000)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dict(json.loads((tmp / "reports" / "results.json").read_text()))


def test_paddle_2_3_runs_on_docker_with_cells_in_both_directions(tmp_path: Path) -> None:
    results = matrix("docker", tmp_path)
    runtimes = {r["id"]: r for r in results["runtimes"]}
    assert runtimes["cpu-2.3"]["state"] == "ready", runtimes["cpu-2.3"]["reason"]
    fingerprint = runtimes["cpu-2.3"]["fingerprint"]
    # Which wheel really runs: PyPI's GPU build, on the CPU.
    assert "paddlepaddle-gpu==2.3.2" in fingerprint["packages"] and fingerprint["paddle_version"] == "2.3.2"
    assert fingerprint["capabilities"]["compiled_with_cuda"] is True
    cells = results["cells"]
    for producer, consumer in (("cpu-2.6.2", "cpu-2.3"), ("cpu-2.3", "cpu-2.6.2"), ("cpu-2.3", "cpu-2.3")):
        pair = [c for c in cells if (c["producer"], c["consumer"]) == (producer, consumer)]
        assert pair and all(c["status"] in VERDICTS for c in pair), [(c["status"], c["error"]) for c in pair]
    own = [c for c in cells if c["producer"] == c["consumer"] == "cpu-2.3"]
    assert all(c["status"] == "pass" for c in own), [(c["loader"], c["status"], c["error"]) for c in own]


def test_paddle_2_3_on_a_new_glibc_venv_says_why(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "harness", "build", "cpu-2.3", "--backend", "venv", "--matrix", str(MATRIX)]
    proc = subprocess.run([*argv, "--work", str(tmp_path / "work")], cwd=ROOT, capture_output=True, text=True,
                          timeout=3000)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    state = json.loads((tmp_path / "work" / "runtimes" / "cpu-2.3" / "state.json").read_text())
    assert state["state"] == "unavailable"
    assert "glibc" in state["reason"].splitlines()[0] and "GLIBC_PRIVATE" in state["reason"]
