"""The shipped GitHub Actions workflow stays in step with the noxfile and the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import nox
import yaml

from noxfile import runtime_ids

ROOT = Path(__file__).parents[2]
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "nightly.yml").read_text())


def nox_sessions_named(job: dict) -> list[str]:
    runs = " ".join(step.get("run", "") for step in job["steps"])
    return re.findall(r"nox -s ((?:[\w.\-]|\$\{\{ matrix\.runtime \}\})+)", runs)


def test_jobs_form_the_phase_pipeline() -> None:
    jobs = WORKFLOW["jobs"]
    assert list(jobs) == ["plan", "build-export", "load", "report"]
    assert jobs["build-export"]["needs"] == "plan" and jobs["load"]["needs"] == ["plan", "build-export"]
    for name in ("build-export", "load"):
        assert jobs[name]["strategy"]["matrix"]["runtime"] == "${{ fromJSON(needs.plan.outputs.runtimes) }}"
        assert jobs[name]["strategy"]["fail-fast"] is False, "one runtime failing must not cancel the others"


def test_every_nox_session_the_workflow_calls_exists() -> None:
    called = {s for job in WORKFLOW["jobs"].values() for s in nox_sessions_named(job)}
    per_runtime = {s.replace("${{ matrix.runtime }}", rid) for s in called for rid in runtime_ids() if "matrix" in s}
    static = {s for s in called if "matrix" not in s}
    names = set(nox.registry.get())  # importing the noxfile registered its sessions
    assert static | per_runtime <= names, (static | per_runtime) - names


def test_artifacts_carry_exactly_what_the_next_phase_reads() -> None:
    steps = {job: [s for s in WORKFLOW["jobs"][job]["steps"] if "upload-artifact" in s.get("uses", "")]
             for job in ("build-export", "load")}
    export_paths = steps["build-export"][0]["with"]["path"]
    results_paths = steps["load"][0]["with"]["path"]
    assert "work/exports/${{ matrix.runtime }}/" in export_paths and "state.json" in export_paths
    assert "work/results/${{ matrix.runtime }}.jsonl" in results_paths
