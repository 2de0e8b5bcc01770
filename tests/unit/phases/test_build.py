"""The build phase: a runtime's recorded state, and no second probe of an unchanged build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.config.matrix import Matrix, load_matrix
from harness.errors import RuntimeUnavailable
from harness.phases.build import build
from harness.phases.context import RunContext
from harness.runtimes.seam import Completed
from harness.store.layout import Workspace
from harness.store.state import RuntimeState, read_state

ROOT = Path(__file__).parents[3]


@pytest.fixture
def matrix() -> Matrix:
    return load_matrix(ROOT / "tests" / "data" / "matrix-small.yaml")


class ProbeCounter:
    """A backend whose runtime is 'built' as identity `built`; counts probes."""

    name = "fake"

    def __init__(self) -> None:
        self.built = "image-1"
        self.probes = 0
        self.unavailable = ""
        self.probe_exit = 0

    def gpu_problem(self) -> str:
        return "no GPU: nothing here"

    def prepare(self, rt: object) -> None:
        if self.unavailable:
            raise RuntimeUnavailable(self.unavailable)

    def identity(self, rt: object) -> str:
        return self.built

    def run(self, rt: object, args: list[str], *, timeout: float, env: object = None) -> Completed:
        self.probes += 1
        out = json.dumps({"paddle_version": "2.6.2", "n": self.probes}) + "\n"
        return Completed(tuple(args), self.probe_exit, out, "ImportError: libfoo.so\n" if self.probe_exit else "")


def test_an_unchanged_runtime_is_not_probed_again(matrix: Matrix, tmp_path: Path) -> None:
    backend, rt = ProbeCounter(), matrix.runtime("cpu-2.6.2")
    ctx = RunContext(matrix, backend, Workspace(tmp_path))  # type: ignore[arg-type]
    first = build(ctx, rt)
    again = build(ctx, rt)
    assert backend.probes == 1 and again.fingerprint == first.fingerprint and again.state is RuntimeState.READY
    backend.built = "image-2"  # rebuilt: the old fingerprint may no longer hold
    rebuilt = build(ctx, rt)
    assert backend.probes == 2 and rebuilt.fingerprint is not None and rebuilt.fingerprint["n"] == 2


def test_the_state_is_written_with_the_backend_and_the_declaration(matrix: Matrix, tmp_path: Path) -> None:
    ctx = RunContext(matrix, ProbeCounter(), Workspace(tmp_path))  # type: ignore[arg-type]
    build(ctx, matrix.runtime("cpu-2.6.2"))
    stored = read_state(ctx.ws, "cpu-2.6.2")
    assert stored.ready and stored.backend == "fake" and stored.runtime["version"] == "2.6.2"
    assert stored.identity and stored.build_s is not None


def test_a_runtime_that_cannot_be_built_or_imported_is_unavailable_with_the_reason(
    matrix: Matrix, tmp_path: Path
) -> None:
    backend = ProbeCounter()
    ctx = RunContext(matrix, backend, Workspace(tmp_path))  # type: ignore[arg-type]
    backend.unavailable = "paddlepaddle==2.5.2 is published on https://paddle.example/, unreachable"
    down = build(ctx, matrix.runtime("cpu-2.5"))
    assert down.state is RuntimeState.UNAVAILABLE and "unreachable" in down.reason and backend.probes == 0
    backend.unavailable, backend.probe_exit = "", -11
    crashed = build(ctx, matrix.runtime("cpu-2.6.2"))
    assert crashed.state is RuntimeState.UNAVAILABLE
    assert (
        crashed.reason.startswith("paddle installs but `import paddle` died by SIGSEGV") and "libfoo" in crashed.reason
    )


def test_a_gpu_runtime_without_a_gpu_is_skipped_without_building(matrix: Matrix, tmp_path: Path) -> None:
    backend = ProbeCounter()
    ctx = RunContext(matrix, backend, Workspace(tmp_path))  # type: ignore[arg-type]
    record = build(ctx, matrix.runtime("gpu-2.6.2"))
    assert record.state is RuntimeState.SKIPPED and record.reason == "no GPU: nothing here" and backend.probes == 0
    assert read_state(ctx.ws, "gpu-2.6.2").state is RuntimeState.SKIPPED
