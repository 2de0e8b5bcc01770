"""The whole run: a run in which no runtime could be built writes its report and exits 12,
naming each runtime's reason; one ready runtime is enough for the usual exit policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness import cli
from harness.config.matrix import load_matrix
from harness.errors import RuntimeUnavailable
from harness.phases.context import RunContext
from harness.phases.run import nothing_built
from harness.report import policy
from harness.runtimes.backend import Capabilities
from harness.store.layout import Workspace
from harness.store.state import RuntimeRecord, RuntimeState, write_state

ROOT = Path(__file__).parents[3]
SMALL = ROOT / "tests" / "data" / "matrix-small.yaml"


class NothingBuilds:
    """A backend on which no runtime can be built (as when no base image could be had)."""

    name = "fake"
    capabilities = Capabilities(sandboxed=False, network_for_installs=False, images=True)

    def gpu_problem(self) -> str:
        return "no GPU: nothing here"

    def identity(self, rt: Any) -> str:
        return ""

    def prepare(self, rt: Any) -> None:
        raise RuntimeUnavailable(
            f"could not build the image for {rt.id}: Get https://registry-1.docker.io/v2/: no such host\nStep 1/19"
        )


def test_a_run_in_which_no_runtime_was_built_writes_the_report_and_exits_12_with_the_reasons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    chosen: list[tuple[str, bool]] = []

    def backend_for_run(name: str, work: Path, runtimes: Any, build_gpu: bool, deployments: Any = ()) -> NothingBuilds:
        chosen.append((name, build_gpu))
        return NothingBuilds()

    monkeypatch.setattr(cli, "backend_for_run", backend_for_run)
    reports = tmp_path / "reports"
    argv = ["matrix", "--matrix", str(SMALL), "--work", str(tmp_path / "w"), "--reports", str(reports)]
    assert cli.main([*argv, "--history", "none"]) == policy.EXIT_NOTHING_BUILT == 12
    assert chosen == [("auto", False)]
    err = capsys.readouterr().err
    assert "error: no runtime could be built here, so the report holds no verdict:" in err
    for rt_id in ("cpu-2.5", "cpu-2.6.2", "cpu-3.3.1"):
        assert f"  - {rt_id}: unavailable: could not build the image for {rt_id}: Get https://registry-1" in err
    assert "  - gpu-2.6.2: skipped: no GPU: nothing here" in err
    assert "Step 1/19" not in err, "the first line of each reason only"
    cells = json.loads((reports / "results.json").read_text())["cells"]
    assert cells and {c["status"] for c in cells} <= {"unavailable", "skipped"}, "the report is written all the same"


def test_one_ready_runtime_is_a_run_with_verdicts(tmp_path: Path) -> None:
    matrix = load_matrix(SMALL)
    ctx = RunContext(matrix, NothingBuilds(), Workspace(tmp_path))  # type: ignore[arg-type]
    for rt in matrix.runtimes:
        write_state(ctx.ws, RuntimeRecord(rt.id, RuntimeState.UNAVAILABLE, f"{rt.id} failed\ndetail"))
    assert [line.split(":")[0] for line in nothing_built(ctx)] == matrix.runtime_ids
    write_state(ctx.ws, RuntimeRecord("gpu-2.6.2", RuntimeState.SKIPPED, "no GPU"))
    assert nothing_built(ctx), "a skipped GPU runtime was not built either"
    write_state(ctx.ws, RuntimeRecord("cpu-3.3.1", RuntimeState.READY, fingerprint={}))
    assert nothing_built(ctx) == []


def test_a_runtime_whose_build_never_ran_counts_as_not_built(tmp_path: Path) -> None:
    matrix = load_matrix(SMALL)
    ctx = RunContext(matrix, NothingBuilds(), Workspace(tmp_path))  # type: ignore[arg-type]
    assert nothing_built(ctx)[0] == "cpu-2.5: not_built: runtime cpu-2.5 was not built: run the build phase for it"
