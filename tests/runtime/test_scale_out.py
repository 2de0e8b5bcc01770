"""Scale-out proof: the phases run as if on three machines (separate work directories,
only CI-artifact-like files copied between them), then merged; the merged report must
equal the single-machine report cell for cell."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.conftest import harness

pytestmark = pytest.mark.runtime


def copy_artifact(src: Path, dest: Path, *patterns: str) -> None:
    """What an upload-artifact / download-artifact pair moves between machines."""
    for pattern in patterns:
        for path in src.glob(pattern):
            if path.is_file():
                target = dest / path.relative_to(src)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)


def ok(proc: Any) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr


def verdict(cell: dict[str, Any]) -> tuple[Any, ...]:
    # Paths inside errors/logs name each machine's own directory; compare what was decided.
    return (cell["status"], cell["stage"], cell["shown_as"], cell["max_abs_diff"], cell["details"].get("matched"))


def test_three_machines_give_the_single_machine_report(run: dict[str, Any], tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    reports = tmp_path / "reports"
    # Machine A builds and exports the 2.x runtimes, machine B the 3.x ones.
    for machine, runtimes in ((a, ("cpu-2.5", "cpu-2.6.2", "gpu-2.6.2")), (b, ("cpu-3.3.1",))):
        for rt in runtimes:
            ok(harness("build", rt, work=machine, reports=reports))
            ok(harness("export", rt, work=machine, reports=reports))
    # Each machine gets the other's export artifacts, then loads in its own runtimes.
    copy_artifact(a, b, "runtimes/*/state.json", "exports/**/*")
    copy_artifact(b, a, "runtimes/*/state.json", "exports/**/*")
    for machine, runtimes in ((a, ("cpu-2.5", "cpu-2.6.2", "gpu-2.6.2")), (b, ("cpu-3.3.1",))):
        for rt in runtimes:
            ok(harness("load", rt, work=machine, reports=reports))
    # Machine C has no runtime at all: it merges the artifacts and renders the report.
    proc = harness("merge", str(a), str(b), "--history", "none", work=c, reports=reports)
    ok(proc)
    assert "missing: nothing" in proc.stdout
    merged = json.loads((reports / "results.json").read_text())
    single = run["results"]
    assert [verdict(x) for x in merged["cells"]] == [verdict(x) for x in single["cells"]]
    assert [r["state"] for r in merged["runtimes"]] == [r["state"] for r in single["runtimes"]]


def test_merge_names_what_no_artifact_brought(run: dict[str, Any], tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    copy_artifact(run["work"], partial, "runtimes/cpu-2.6.2/state.json", "exports/cpu-2.6.2/**/*")
    proc = harness("merge", str(partial), "--history", "none", work=tmp_path / "c", reports=tmp_path / "r")
    ok(proc)
    assert "load cpu-2.6.2: no results/cpu-2.6.2.jsonl" in proc.stdout
    assert "build cpu-3.3.1: no runtimes/cpu-3.3.1/state.json" in proc.stdout
    merged = json.loads((tmp_path / "r" / "results.json").read_text())
    # Nothing that needs a load phase is claimed; the cells that did need one name it.
    assert not {c["status"] for c in merged["cells"]} & {"pass", "mismatch", "load_failed", "run_failed", "crash"}
    waiting = [
        c for c in merged["cells"] if c["status"] == "infra_error" and c["producer"] == c["consumer"] == "cpu-2.6.2"
    ]
    assert waiting and all("the load phase for cpu-2.6.2 did not run" in c["error"] for c in waiting)
