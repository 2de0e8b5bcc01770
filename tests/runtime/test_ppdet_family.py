"""Runtime tier: PaddleDetection's own PP-YOLOE, trained and exported by PaddleDetection's
code in real Paddle 2.6.2 and 3.3.1 venvs, loaded by both.

Runs `python -m harness matrix` on tests/data/matrix-ppdet.yaml exactly as a user would
(no patching): paddledet and its pinned dependencies are installed next to each runtime
(uv --no-deps --target). Paddle 2.6.2's legacy export works and is read by both runtimes;
Paddle 3.3.1 cannot run PaddleDetection 2.6's export in either program format. Slow
(~90 s with a warm uv cache): each train/export process imports ppdet (10-20 s), and the
model trains 100 steps (from its initial weights it detects nothing).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.runtime.conftest import ROOT, cells_of, run_matrix

pytestmark = pytest.mark.runtime
MATRIX = ROOT / "tests" / "data" / "matrix-ppdet.yaml"


@pytest.fixture(scope="module")
def ppdet_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_matrix(tmp_path_factory, MATRIX, "ppdet runtime tier")


cells = cells_of


def test_no_cell_is_a_harness_failure(ppdet_run: dict[str, Any]) -> None:
    assert len(ppdet_run["results"]["cells"]) == 2 * 1 * 2 * 2 * 2
    assert not cells(ppdet_run, status="infra_error"), "the harness itself must not fail on this matrix"


def test_paddle_2_6_legacy_export_of_ppdet_passes_in_both_runtimes_with_real_boxes(ppdet_run: dict[str, Any]) -> None:
    for consumer in ("cpu-2.6.2", "cpu-3.3.1"):
        [cell] = cells(ppdet_run, producer="cpu-2.6.2", export="fullgraph_on-legacy", consumer=consumer, loader="predictor")
        assert cell["status"] == "pass", cell
        assert cell["details"]["matched"] == cell["details"]["reference_boxes"] >= 1, "compared real boxes"
        assert cell["max_abs_diff"] is not None and cell["max_abs_diff"] <= 0.05
    # jit.load feeds inputs by position: input.npz holds exactly the pruned program's inputs.
    [own] = cells(ppdet_run, producer="cpu-2.6.2", export="fullgraph_on-legacy", consumer="cpu-2.6.2", loader="jit_load")
    assert own["status"] == "pass" and own["details"]["matched"] >= 1, own


def test_the_export_was_paddledetections_own(ppdet_run: dict[str, Any]) -> None:
    out = ppdet_run["work"] / "exports" / "cpu-2.6.2" / "ppdet_ppyoloe" / "fullgraph_on-legacy"
    record = json.loads((out / "export.json").read_text())
    assert (record["family"], record["ppdet_version"], record["architecture"]) == ("ppdet", "2.6.0", "PPYOLOE")
    assert record["pruned_inputs"] == ["image", "scale_factor"], "ppdet's _prune_input_spec dropped im_shape"
    assert {"infer_cfg.yml", "model.pdmodel", "model.pdiparams"} <= set(record["files"])
    assert "HARNESS_EXTRAS=" in record["command"], "the reproduce line carries the requires"


def test_paddle_3_3_cannot_run_ppdet_2_6s_export_and_says_why_verbatim(ppdet_run: dict[str, Any]) -> None:
    expected = {
        "fullgraph_on-legacy": "TypeError: (InvalidType) sigmoid(): argument (position 1) must be Value, but got Variable",
        "fullgraph_on-pir": "TypeError: The type of '%BBoxes' in operator multiclass_nms3 should be one of "
        "[str, bytes, Variable]",
    }
    for export, error in expected.items():
        failed = cells(ppdet_run, producer="cpu-3.3.1", export=export)
        assert len(failed) == 4
        for cell in failed:
            assert (cell["status"], cell["stage"]) == ("export_failed", "export"), cell
            assert cell["error"].startswith(error), cell["error"]
            # results.json v2 writes a log several cells share once, in `logs`, and the cell its index.
            log = cell["log"] if isinstance(cell["log"], str) else ppdet_run["results"]["logs"][cell["log"]]
            assert cell["details"]["export_ppdet_version"] == "2.6.0" and "Traceback" in log


def test_paddle_2_6_has_no_pir_export_to_try(ppdet_run: dict[str, Any]) -> None:
    na = cells(ppdet_run, producer="cpu-2.6.2", export="fullgraph_on-pir")
    assert na and all(c["status"] == "not_applicable" and "PIR" in c["error"] for c in na)
