"""The shipped GitHub Actions workflow stays in step with the noxfile and the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import nox
import yaml

from noxfile import runtime_ids

ROOT = Path(__file__).parents[2]
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "nightly.yml").read_text())
PER_RUNTIME = ("image", "export", "load")
# The first major of each action that runs on node24 (node20 left GitHub's runners in
# September 2026: an action on it does not start). `nox -s lint` runs actionlint, which
# knows the runtimes of released versions; this keeps the floor visible here.
NODE24_FROM = {
    "actions/checkout": 5,
    "actions/setup-python": 6,
    "actions/upload-artifact": 6,
    "actions/download-artifact": 7,
    "actions/cache": 5,
}


def steps(job: str) -> list[dict]:
    return WORKFLOW["jobs"][job]["steps"]


def runs(job: str) -> str:
    return "\n".join(step.get("run", "") for step in steps(job))


def uses(job: str, action: str) -> list[dict]:
    return [s for s in steps(job) if s.get("uses", "").startswith(f"actions/{action}@")]


def nox_sessions_named(job: dict) -> list[str]:
    text = " ".join(step.get("run", "") for step in job["steps"])
    return re.findall(r"nox -s ((?:[\w.\-]|\$\{\{ matrix\.runtime \}\})+)", text)


def test_jobs_form_the_phase_pipeline() -> None:
    jobs = WORKFLOW["jobs"]
    assert list(jobs) == ["plan", "image", "export", "load", "report"]
    assert jobs["image"]["needs"] == "plan"
    assert jobs["export"]["needs"] == ["plan", "image"] and jobs["load"]["needs"] == ["plan", "image", "export"]
    for name in PER_RUNTIME:
        assert jobs[name]["strategy"]["matrix"]["runtime"] == "${{ fromJSON(needs.plan.outputs.runtimes) }}"
        assert jobs[name]["strategy"]["fail-fast"] is False, "one runtime failing must not cancel the others"


def test_every_nox_session_the_workflow_calls_exists() -> None:
    called = {s for job in WORKFLOW["jobs"].values() for s in nox_sessions_named(job)}
    ids = runtime_ids(sections=("runtimes", "deployments"))  # `nox -s runtimes` lists both
    per_runtime = {s.replace("${{ matrix.runtime }}", rid) for s in called for rid in ids if "matrix" in s}
    static = {s for s in called if "matrix" not in s}
    names = set(nox.registry.get())  # importing the noxfile registered its sessions
    assert static | per_runtime <= names, (static | per_runtime) - names


def test_every_runtime_runs_in_its_docker_image_never_in_a_venv() -> None:
    for job in PER_RUNTIME:
        phases = [line for line in runs(job).splitlines() if "nox -s " in line and "-${{ matrix.runtime }}" in line]
        assert phases and all(line.rstrip().endswith("-- --backend docker") for line in phases), (job, phases)
    assert "--backend venv" not in yaml.safe_dump(WORKFLOW)


def test_each_image_is_built_once_and_loaded_by_the_jobs_that_use_it() -> None:
    assert "nox -s build-${{ matrix.runtime }} -- --backend docker" in runs("image")
    assert "docker save" in runs("image") and "gzip" in runs("image")
    [upload] = uses("image", "upload-artifact")
    assert upload["with"]["name"] == "image-${{ matrix.runtime }}" and "images/" in upload["with"]["path"]
    for job in ("export", "load"):
        [download] = [d for d in uses(job, "download-artifact") if d["with"].get("name")]
        assert download["with"]["name"] == "image-${{ matrix.runtime }}"
        text = runs(job)
        # Loaded before anything runs in it; the build step then only probes (no image, no rebuild).
        assert text.index("docker load") < text.index("nox -s build-") < text.index("nox -s " + job)
    report_downloads = [d["with"]["pattern"] for d in uses("report", "download-artifact")]
    assert report_downloads == ["export-*", "results-*"], "the report never downloads the images"


def test_artifacts_carry_exactly_what_the_next_phase_reads() -> None:
    [exports] = uses("export", "upload-artifact")
    [results] = uses("load", "upload-artifact")
    assert "work/exports/${{ matrix.runtime }}/" in exports["with"]["path"] and "state.json" in exports["with"]["path"]
    assert "work/results/${{ matrix.runtime }}.jsonl" in results["with"]["path"]


def test_every_action_is_on_a_major_that_runs_on_node24() -> None:
    used = {s["uses"] for job in WORKFLOW["jobs"].values() for s in job["steps"] if "uses" in s}
    assert {u.split("@")[0] for u in used} == set(NODE24_FROM)
    for ref in used:
        action, version = ref.split("@")
        assert re.fullmatch(r"v\d+", version), f"{ref}: pin a major version"
        assert int(version[1:]) >= NODE24_FROM[action], f"{ref} runs on node20, which GitHub's runners no longer have"
