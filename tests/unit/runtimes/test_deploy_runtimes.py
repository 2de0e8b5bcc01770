"""A deployment consumer's runtime on both backends, through the patched seams: a venv or an
image holding exactly its packages, probed by its tool; on Docker its worker is confined like
every consumer (no network, exports read-only, not root) and writes only its own artifacts."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from harness.config.deployments import Deployment
from harness.phases.build import probe_args
from harness.runtimes import docker as dk
from harness.runtimes import seam, venv
from harness.runtimes.seam import Completed
from harness.runtimes.worker_client import WORKER_ARGS, worker_args
from tests.unit.fakes import FakeEngine
from tests.unit.runtimes.test_docker import RT
from tests.unit.runtimes.test_venv import Recorder

LITE = Deployment(
    id="lite-2.10", tool="lite", python="3.9", packages=("paddlelite==2.10", "numpy<2"), targets=("x86", "arm,x86")
)
P2O = Deployment(
    id="onnx-p2o-2.1.0",
    tool="onnx",
    python="3.11",
    packages=("paddle2onnx==2.1.0", "paddlepaddle==3.2.2", "onnxruntime==1.32.0"),
    opsets=(13,),
)


def test_the_worker_and_the_probe_of_a_deployment_name_its_tool() -> None:
    assert worker_args(LITE) == ["-m", "harness.inside", "deploy-worker", "lite"]
    assert worker_args(RT) == WORKER_ARGS
    assert probe_args(P2O) == ["-m", "harness.inside", "deploy-probe", "onnx"]
    assert probe_args(RT) == ["-m", "harness.inside", "probe"]


def test_the_venv_holds_exactly_the_deployments_packages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(venv, "find_uv", lambda: "/bin/uv")
    monkeypatch.setattr(venv.shutil, "which", lambda name: f"/usr/bin/{name}")
    rec = Recorder()
    monkeypatch.setattr(seam, "run", rec)
    venv.VenvBackend(tmp_path).prepare(LITE)
    py = str(tmp_path / "runtimes" / "lite-2.10" / "venv" / "bin" / "python")
    assert rec.calls[1:] == [
        ["/bin/uv", "venv", "--quiet", "--python", "/usr/bin/python3.9", str(tmp_path / "runtimes/lite-2.10/venv")],
        ["/bin/uv", "pip", "install", "--python", py, "paddlelite==2.10", "numpy<2"],
    ]


def test_the_image_holds_exactly_the_deployments_packages_on_its_python(
    engine: FakeEngine, tmp_path: Path
) -> None:
    spec = dk.image_spec(P2O)
    assert spec["requirements"] == list(P2O.packages) and spec["base_image"] == "python:3.11-slim"
    assert dk.image_tag(P2O).startswith("paddle-harness:onnx-p2o-2.1.0-") and dk.image_tag(P2O) != dk.image_tag(LITE)
    context = dk.build_context(P2O, tmp_path, {})
    with tarfile.open(fileobj=io.BytesIO(context.getvalue())) as tar:
        requirements = tar.extractfile("requirements.txt").read()  # type: ignore[union-attr]
        names = tar.getnames()
    assert requirements == b"paddle2onnx==2.1.0\npaddlepaddle==3.2.2\nonnxruntime==1.32.0\n"
    assert "harness-code/harness/inside/deploy.py" in names and "harness-code/harness/inside/deploy_tools.py" in names


def test_the_deploy_worker_is_confined_and_writes_only_its_own_artifacts(
    engine: FakeEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dk.os, "getuid", lambda: 0)
    monkeypatch.setattr(dk.os, "getgid", lambda: 0)
    owned: list[tuple[str, int, int]] = []
    monkeypatch.setattr(dk.os, "chown", lambda path, uid, gid: owned.append((str(path), uid, gid)))
    monkeypatch.setattr(dk.os, "lchown", lambda path, uid, gid: owned.append((str(path), uid, gid)))
    engine.images_present.add(dk.image_tag(LITE))
    artifacts = tmp_path / "artifacts" / "lite-2.10"
    (artifacts / "old-cell").mkdir(parents=True)  # what an earlier run left
    spec: dict[str, Any] = dk.DockerBackend(tmp_path, environ={}).container_spec(
        LITE, worker_args(LITE), None, interactive=True
    )
    exports = str(tmp_path / "exports")
    assert spec["command"] == ["python", "-m", "harness.inside", "deploy-worker", "lite"]
    assert (spec["user"], spec["network_mode"], spec["init"]) == ("65534:65534", "none", True)
    assert spec["volumes"] == {
        exports: {"bind": exports, "mode": "ro"},
        str(artifacts): {"bind": str(artifacts), "mode": "rw"},
    }
    assert sorted(owned) == [(str(artifacts), 65534, 65534), (str(artifacts / "old-cell"), 65534, 65534)]


def test_a_non_root_invoker_keeps_its_own_artifacts(engine: FakeEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dk.os, "getuid", lambda: 1000)
    monkeypatch.setattr(dk.os, "getgid", lambda: 100)
    monkeypatch.setattr(dk.os, "chown", lambda *a: pytest.fail("nothing to hand over"))
    spec = dk.DockerBackend(tmp_path, environ={}).container_spec(LITE, worker_args(LITE), None, interactive=True)
    assert spec["user"] == "1000:100" and (tmp_path / "artifacts" / "lite-2.10").is_dir()


def test_the_probe_of_a_deployment_sees_no_exports(engine: FakeEngine, tmp_path: Path) -> None:
    spec = dk.DockerBackend(tmp_path, environ={}).container_spec(LITE, probe_args(LITE), None, interactive=False)
    assert spec["volumes"] == {} and spec["network_mode"] == "none"


def test_a_tool_that_does_not_import_makes_the_deployment_unavailable_with_its_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.config.matrix import parse_matrix
    from harness.phases.build import build
    from harness.phases.context import RunContext
    from harness.store.layout import Workspace
    from harness.store.state import RuntimeState
    from tests.unit.fakes import RecordingBackend

    class Broken(RecordingBackend):
        def prepare(self, rt: Any) -> None:
            return None

        def run(self, rt: Any, args: list[str], *, timeout: float, env: dict[str, str] | None = None) -> Completed:
            assert args == ["-m", "harness.inside", "deploy-probe", "lite"]
            return Completed(tuple(args), 1, "", "ImportError: libiomp5.so: cannot open shared object file\n")

    matrix = parse_matrix(
        "runtimes: [{id: a, version: '2.6.2'}]\nmodels: [{id: m}]\n"
        "export_modes: [{id: e, full_graph: true, program_format: legacy}]\nloaders: [{id: p, api: predictor}]\n"
    )
    record = build(RunContext(matrix, Broken(), Workspace(tmp_path)), LITE)  # type: ignore[arg-type]
    assert record.state is RuntimeState.UNAVAILABLE
    assert record.reason.startswith("paddlelite==2.10 installs but importing it failed:")
    assert "libiomp5.so" in record.reason and record.runtime["packages"] == ("paddlelite==2.10", "numpy<2")
