"""Runtime tier: `python -m harness check` on a user's model, with real Paddle 2.6.2 and 3.3.1.

Self-sufficient: builds the two runtimes of tests/data/matrix-small.yaml (fast with the uv
cache; HARNESS_TEST_WORK reuses a work directory), takes a model the harness itself exported
in 2.6.2, dresses it up as a PaddleDetection output_inference directory with an
infer_cfg.yml, and runs the real command line. No patching.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.runtime
ROOT = Path(__file__).parents[2]
MATRIX = ROOT / "tests" / "data" / "matrix-small.yaml"
RUNTIMES = ("cpu-2.6.2", "cpu-3.3.1")
NAME = "ppyoloe_crn_s_tiny_coco"
PRODUCER = f"check:{NAME}"
INFER_CFG = """\
mode: paddle
draw_threshold: 0.5
metric: COCO
use_dynamic_shape: false
arch: YOLO
Preprocess:
- interp: 2
  keep_ratio: false
  target_size: [64, 64]
  type: Resize
- {is_scale: true, mean: [0.0, 0.0, 0.0], std: [1.0, 1.0, 1.0], type: NormalizeImage}
- type: Permute
label_list: [a, b, c]
"""


def harness(*args: str, work: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "harness", *args, "--backend", "venv", "--matrix", str(MATRIX), "--work", str(work)]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=3000)


def ready(work: Path, rt: str) -> bool:
    state = work / "runtimes" / rt / "state.json"
    return state.exists() and json.loads(state.read_text())["state"] == "ready"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # HARNESS_TEST_WORK lets a developer keep built venvs between test runs.
    work = Path(os.environ.get("HARNESS_TEST_WORK") or tmp_path_factory.mktemp("work"))
    for rt in RUNTIMES:
        if not ready(work, rt):
            proc = harness("build", rt, work=work)
            assert ready(work, rt), proc.stdout + proc.stderr
    return work


@pytest.fixture(scope="module")
def user_model(work: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model the harness exported in Paddle 2.6.2, laid out as PaddleDetection's export writes it."""
    export = work / "exports" / "cpu-2.6.2" / "ppyoloe_tiny" / "fullgraph_on-legacy"
    if not (export / "model.pdmodel").exists():
        proc = harness("export", "cpu-2.6.2", work=work)
        assert (export / "model.pdmodel").exists(), proc.stdout + proc.stderr
    target = tmp_path_factory.mktemp("user") / "output_inference" / NAME
    target.mkdir(parents=True)
    for name in ("model.pdmodel", "model.pdiparams", "model.pdiparams.info"):
        shutil.copyfile(export / name, target / name)
    (target / "infer_cfg.yml").write_text(INFER_CFG)
    return target


def run_check(path: Path, work: Path, reports: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return harness("check", str(path), "--reports", str(reports), *extra, work=work)


@pytest.fixture(scope="module")
def checked(work: Path, user_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    reports = tmp_path_factory.mktemp("reports")
    # 3.3.1's jit.load cannot read a legacy program: check's default answer would be exit 10.
    proc = run_check(user_model, work, reports, "--fail-on", "never")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"results": json.loads((reports / "results.json").read_text()), "stdout": proc.stdout, "reports": reports}


def cells(results: dict[str, Any], **match: str) -> list[dict[str, Any]]:
    return [c for c in results["cells"] if all(c[k] == v for k, v in match.items())]


def test_one_row_with_every_runtime_and_every_report_file(checked: dict[str, Any]) -> None:
    results = checked["results"]
    assert {(c["producer"], c["model"], c["export"]) for c in results["cells"]} == {(PRODUCER, NAME, "legacy")}
    assert [r["id"] for r in results["runtimes"]] == list(RUNTIMES)
    assert {c["consumer"] for c in results["cells"]} == set(RUNTIMES)
    assert len(results["cells"]) == len(RUNTIMES) * len(results["loaders"])
    assert not cells(results, status="infra_error"), "the harness itself must not fail on a good model"
    for name in ("index.html", "junit.xml", "summary.md"):
        assert (checked["reports"] / name).stat().st_size > 0
    assert results["check"]["inputs"] == [
        # ppyoloe_tiny exports with H and W open (-1): infer_cfg.yml fills them in.
        {"name": "image", "shape": [1, 3, 64, 64], "dtype": "float32", "source": "the program + infer_cfg.yml"}
    ]


def test_the_legacy_export_passes_with_the_predictor_in_both_runtimes(checked: dict[str, Any]) -> None:
    results = checked["results"]
    # Paddle 2.6.2 records its version in a legacy program, so it is the reference.
    assert results["check"]["reference"] == "cpu-2.6.2"
    for rt in RUNTIMES:
        [cell] = cells(results, consumer=rt, loader="predictor")
        assert cell["status"] == "pass", cell
        assert cell["max_abs_diff"] is not None and cell["max_abs_diff"] <= 0.05
        assert cell["details"]["matched"] == cell["details"]["reference_boxes"] >= 1, "compared real boxes"
        assert cell["details"]["reference_runtime"] == "cpu-2.6.2"
        assert cell["details"].get("reference") is (True if rt == "cpu-2.6.2" else None)
    # predictor-no-ir-optim in 3.3.1 is a real comparison with 2.6.2's outputs, not with itself.
    [other] = cells(results, consumer="cpu-3.3.1", loader="predictor-no-ir-optim")
    assert other["status"] == "pass" and other["max_abs_diff"] is not None


def test_each_runtime_gets_one_summary_line(checked: dict[str, Any]) -> None:
    out = checked["stdout"]
    assert "reference: cpu-2.6.2: the program was written by Paddle 2.6.2" in out
    assert "\ncpu-2.6.2 [reference]: loads and runs (predictor" in out
    assert "\ncpu-3.3.1: loads and runs (predictor" in out


def test_a_truncated_program_is_a_failed_cell_with_paddles_own_error(
    work: Path, user_model: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "output_inference" / "broken_ppyoloe"
    shutil.copytree(user_model, broken)
    program = broken / "model.pdmodel"
    program.write_bytes(program.read_bytes()[: program.stat().st_size // 3])
    proc = run_check(broken, work, tmp_path / "reports")
    # It fails in every runtime it was asked about: check says so with its documented exit code.
    assert proc.returncode == 10, proc.stdout + proc.stderr
    assert "--fail-on never" in proc.stderr and "Traceback" not in proc.stderr
    results = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert {c["consumer"] for c in results["cells"]} == set(RUNTIMES)
    for cell in results["cells"]:
        assert cell["status"] in ("load_failed", "crash"), cell
        assert cell["error"] and "\n" not in cell["error"] and "Traceback" not in cell["error"], cell["error"]
    [predictor] = cells(results, consumer="cpu-3.3.1", loader="predictor")
    assert predictor["status"] == "crash" or "program_desc" in predictor["error"], predictor["error"]
    assert results["check"]["reference"] is None
    assert "reference: none: the model ran in no runtime" in proc.stdout


def test_a_directory_with_no_model_is_one_clear_message(work: Path, tmp_path: Path) -> None:
    empty = tmp_path / "output_inference" / "nothing_here"
    empty.mkdir(parents=True)
    (empty / "infer_cfg.yml").write_text(INFER_CFG)
    proc = run_check(empty, work, tmp_path / "reports")
    assert proc.returncode != 0
    assert proc.stderr.startswith(f"error: no exported model in {empty}"), proc.stderr
    assert proc.stderr.count("error:") == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "reports").exists(), "nothing is written for a model that is not there"
