"""Runtime tier: PaddleDetection's own DINO (the DETR family paddledet 2.6 ships, the closest
to RT-DETR), trained from random weights and exported by PaddleDetection's export steps in
real Paddle 2.6.2 and 3.3.1 venvs, FP32 and post-training INT8, then run on the CPU with
oneDNN on (the default), off, and with its INT8 kernels.

Runs `python -m harness matrix` on tests/data/matrix-ppdet-detr.yaml as a user would. The
assertions are about behaviour, not about which cells pass: the exports are ppdet's own,
the model detects clearly above chance on images it never saw, every 3.x consumer was tried
with oneDNN on and off and says what happened, and every cell that ran carries its mAP.
Slow (~4 min): DINO trains 200 steps per runtime and each ppdet process imports ppdet.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.runtime.conftest import RAN, ROOT, cells_of, run_matrix

pytestmark = pytest.mark.runtime
MATRIX = ROOT / "tests" / "data" / "matrix-ppdet-detr.yaml"


@pytest.fixture(scope="module")
def detr_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_matrix(tmp_path_factory, MATRIX, "ppdet DETR runtime tier")


cells = cells_of


def record(run: dict[str, Any], producer: str, export: str) -> dict[str, Any]:
    path = run["work"] / "exports" / producer / "ppdet_dino" / export / "export.json"
    found: dict[str, Any] = json.loads(path.read_text())
    return found


def test_no_cell_is_a_harness_failure(detr_run: dict[str, Any]) -> None:
    assert not cells(detr_run, status="infra_error")


def test_paddle_2_6_exports_paddledetections_own_dino(detr_run: dict[str, Any]) -> None:
    found = record(detr_run, "cpu-2.6.2", "fullgraph_on-legacy")
    assert found["status"] == "ok", found.get("error")
    assert (found["family"], found["ppdet_version"], found["architecture"]) == ("ppdet", "2.6.0", "DETR")
    assert {"infer_cfg.yml", "model.pdmodel", "model.pdiparams", "eval.npz"} <= set(found["files"])


def test_dino_detects_clearly_above_chance_on_images_it_never_saw(detr_run: dict[str, Any]) -> None:
    ran = [c for c in detr_run["results"]["cells"] if c["status"] in RAN]
    assert ran, "some DINO export ran somewhere"
    for cell in ran:
        found = cell["details"]["accuracy"]
        assert found["reference_map50"] > found["chance_map50"] + 0.1, found
        assert found["images"] == 32


def test_every_3x_consumer_tried_onednn_on_and_off_and_says_what_happened(detr_run: dict[str, Any]) -> None:
    exported = [
        (c["producer"], c["export"]) for c in cells(detr_run, consumer="cpu-3.3.1", loader="predictor")
        if c["status"] not in ("export_failed", "not_applicable")
    ]
    assert exported, "at least one DINO export reached the 3.3.1 predictor"
    for producer, export in exported:
        for loader in ("predictor", "predictor-no-onednn", "predictor-onednn-int8"):
            [cell] = cells(detr_run, producer=producer, export=export, consumer="cpu-3.3.1", loader=loader)
            assert cell["status"] in RAN or cell["error"], cell  # a failure keeps its verbatim error
            if loader == "predictor-no-onednn" and cell["status"] in RAN:
                assert "disable_mkldnn()" in cell["details"]["config_calls"]


def test_an_int8_dino_export_holds_quantize_ops_or_says_why_not(detr_run: dict[str, Any]) -> None:
    for producer in ("cpu-2.6.2", "cpu-3.3.1"):
        found = record(detr_run, producer, "fullgraph_on-legacy-int8")
        if found["status"] == "ok":
            assert found["quantization"]["quant_ops"]["quantize_linear"] > 0, found["quantization"]
        else:
            assert found["error"] and found["status"] == "export_failed", found
