"""Runtime tier: the whole loop with real Paddle 2.6.2 and 3.3.1 in real uv venvs.

Runs `python -m harness matrix` on tests/data/matrix-small.yaml exactly as a user would
(no patching), then reads reports/results.json. The small matrix also declares a
runtime from Paddle's own index (unreachable here) and a GPU runtime (no GPU here).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.config.matrix import load_matrix
from harness.config.plan import planned_cells
from harness.document.cell import Status
from tests.runtime.conftest import MATRIX, harness

pytestmark = pytest.mark.runtime
PREDICTORS = ("predictor", "predictor-no-ir-optim")


def cells(run: dict[str, Any], **match: str) -> list[dict[str, Any]]:
    return [c for c in run["results"]["cells"] if all(c[k] == v for k, v in match.items())]


def test_every_planned_cell_is_present_once_with_a_known_status(run: dict[str, Any]) -> None:
    planned = {k.slug for k in planned_cells(load_matrix(MATRIX))}
    seen = [
        "__".join(c[k] for k in ("producer", "model", "export", "consumer", "loader")) for c in run["results"]["cells"]
    ]
    assert sorted(seen) == sorted(planned)
    known = {s.value for s in Status}
    assert {c["status"] for c in run["results"]["cells"]} <= known
    assert not cells(run, status="infra_error"), "the harness itself must not fail on this matrix"


def test_low_version_exports_pass_on_the_high_version_predictor(run: dict[str, Any]) -> None:
    for model in ("ppyoloe_tiny", "rtdetr_tiny"):
        for loader in PREDICTORS:
            [cell] = cells(
                run,
                producer="cpu-2.6.2",
                consumer="cpu-3.3.1",
                model=model,
                export="fullgraph_on-legacy",
                loader=loader,
            )
            assert cell["status"] == "pass", cell
            assert cell["max_abs_diff"] is not None and cell["max_abs_diff"] <= 0.05
            assert cell["details"]["matched"] == cell["details"]["reference_boxes"] >= 1, "compared real boxes"


def test_every_pass_carries_its_map_which_is_the_references(run: dict[str, Any]) -> None:
    """FP32 exports on FP32 loaders: the numbers decide; the mAP on the evaluation set is shown
    and, where the numbers pass, equals the producer's reference mAP (both verdicts agree)."""
    passes = cells(run, status="pass")
    assert passes
    for cell in passes:
        found = cell["details"]["accuracy"]
        assert found["decides"] is False and found["agrees"] is True, cell["details"]
        assert found["reference_map50"] > found["chance_map50"] + 0.1, "trained clearly above chance"


def test_high_version_pir_export_is_not_a_pass_on_the_low_version(run: dict[str, Any]) -> None:
    pir = cells(run, producer="cpu-3.3.1", consumer="cpu-2.6.2", export="fullgraph_on-pir")
    assert pir and all(c["status"] != "pass" for c in pir)
    assert all(c["error"] for c in pir), "every failed cell keeps its verbatim error"
    # ...while the same exports pass in the runtime that wrote them.
    own = cells(run, producer="cpu-3.3.1", consumer="cpu-3.3.1", export="fullgraph_on-pir", loader="predictor")
    assert own and all(c["status"] == "pass" for c in own)


def test_crashed_cells_name_their_signal_and_lose_nothing_else(run: dict[str, Any]) -> None:
    crashed = cells(run, status="crash")
    # 3.3.1's PIR exports make 2.6.2's predictor die by SIGSEGV: the small matrix has crashes.
    assert crashed, "expected crash cells (3.3.1 PIR exports in the 2.6.2 predictor)"
    for cell in crashed:
        assert cell["details"].get("signal") or cell["stage"] == "export", cell
        consumer_cells = cells(run, consumer=cell["consumer"])
        assert any(c["status"] == "pass" for c in consumer_cells), "a fresh worker carried on"


def test_full_graph_off_export_failure_of_paddledetection_is_shown(run: dict[str, Any]) -> None:
    for producer, consumer in (("cpu-2.6.2", "cpu-3.3.1"), ("cpu-3.3.1", "cpu-2.6.2")):
        failed = cells(run, producer=producer, consumer=consumer, export="fullgraph_off-legacy-ppdet")
        assert failed and all(c["status"] == "export_failed" and c["stage"] == "export" for c in failed)
        assert all("Can't call main_program when full_graph=False" in c["error"] for c in failed)


def test_unbuildable_and_gpu_runtimes_are_shown_not_dropped(run: dict[str, Any]) -> None:
    by_id = {r["id"]: r for r in run["results"]["runtimes"]}
    assert by_id["cpu-2.5"]["state"] == "unavailable" and "paddlepaddle.org.cn" in by_id["cpu-2.5"]["reason"]
    assert by_id["gpu-2.6.2"]["state"] == "skipped" and "no GPU" in by_id["gpu-2.6.2"]["reason"]
    assert {c["status"] for c in cells(run, consumer="cpu-2.5")} == {"unavailable", "skipped"}
    assert all(c["status"] == "skipped" for c in cells(run, producer="gpu-2.6.2"))


def test_not_applicable_modes_say_why(run: dict[str, Any]) -> None:
    na = cells(run, producer="cpu-2.6.2", export="fullgraph_on-pir", consumer="cpu-3.3.1")
    assert na and all(c["status"] == "not_applicable" and "PIR" in c["error"] for c in na)


def test_fingerprints_are_real(run: dict[str, Any]) -> None:
    by_id = {r["id"]: r for r in run["results"]["runtimes"]}
    for rid, version in (("cpu-2.6.2", "2.6.2"), ("cpu-3.3.1", "3.3.1")):
        fp = by_id[rid]["fingerprint"]
        assert fp["paddle_version"] == version and len(fp["paddle_commit"]) >= 7
        assert f"paddlepaddle=={version}" in fp["packages"]


def test_report_is_rebuilt_from_results_alone(run: dict[str, Any], tmp_path: Path) -> None:
    proc = harness("report", work=run["work"], reports=tmp_path)
    assert proc.returncode == 0, proc.stderr
    again = json.loads((tmp_path / "results.json").read_text())
    assert again["cells"] == run["results"]["cells"]
    html = (tmp_path / "index.html").read_text()  # the rebuilt page, not the first run's
    assert all(rid in html for rid in ("cpu-2.5", "cpu-2.6.2", "cpu-3.3.1", "gpu-2.6.2"))
