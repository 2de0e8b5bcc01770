"""check: which built runtimes it uses, oldest Paddle first, and why the others are left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.matrix import load_matrix
from harness.store.layout import Workspace
from harness.tools.check import runtimes as check
from harness.tools.check.model import CheckError
from tests.unit.tools.check.helpers import SMALL, state


def test_only_runtimes_ready_for_the_backend_are_used_oldest_first(tmp_path: Path) -> None:
    matrix, ws = load_matrix(SMALL), Workspace(tmp_path)
    state(ws, "cpu-3.3.1", "ready", version="3.3.1")
    state(ws, "cpu-2.6.2", "ready", version="2.6.2")
    state(ws, "cpu-2.5", "unavailable", reason="index unreachable\nmore")
    state(ws, "gpu-2.6.2", "ready", backend="docker", version="2.6.2")
    used, unused = check.ready_runtimes(matrix, ws, "venv", explicit=False)
    assert [rt.id for rt in used] == ["cpu-2.6.2", "cpu-3.3.1"]
    assert check.unused_line(unused) == "cpu-2.5 unavailable; gpu-2.6.2 other_backend"
    assert check.choose_backend("auto", matrix, ws) == "venv"
    with pytest.raises(CheckError, match="asked for runtimes that are not ready here"):
        check.ready_runtimes(matrix, ws, "venv", explicit=True)


def test_no_ready_runtime_points_at_the_build_command(tmp_path: Path) -> None:
    with pytest.raises(CheckError) as err:
        check.ready_runtimes(load_matrix(SMALL), Workspace(tmp_path), "venv", explicit=False)
    assert f"no runtime is built in {tmp_path} for the venv backend" in str(err.value)
    assert "`nox -s build-cpu-2.6.2 -- --backend venv`" in str(err.value) and "nox -s matrix" in str(err.value)
