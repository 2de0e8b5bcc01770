"""Runtime tier: the precision axis and the accuracy verdict in real Paddle 2.6.2 and 3.3.1 venvs.

Runs `python -m harness matrix` on tests/data/matrix-precision.yaml as a user would: the
RT-DETR-like tiny detector is trained, exported FP32 and post-training INT8
(paddle.quantization), and loaded with the default predictor, oneDNN INT8 and jit.load; a
TensorRT INT8 loader is declared and must be `skipped` here (no GPU). The assertions are
about behaviour, never about which cells pass: every cell that ran carries its mAP on the
evaluation set; where accuracy decides, the status follows the mAP and map_drop; where the
numbers decide and pass, the mAP is the reference's; an INT8 export holds quantize ops.
~1.5 min with a warm uv cache.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.runtime.conftest import RAN, ROOT, cells_of, run_matrix

pytestmark = pytest.mark.runtime
MATRIX = ROOT / "tests" / "data" / "matrix-precision.yaml"


@pytest.fixture(scope="module")
def precision_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_matrix(tmp_path_factory, MATRIX, "precision runtime tier")


cells = cells_of


def precision_of(run: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    doc = run["results"]
    modes = {m["id"]: m.get("precision", "fp32") for m in doc["export_modes"]}
    loaders = {ld["id"]: ld.get("precision", "fp32") for ld in doc["loaders"]}
    return modes, loaders


def test_no_cell_is_a_harness_failure_and_gpu_loaders_are_skipped(precision_run: dict[str, Any]) -> None:
    assert not cells(precision_run, status="infra_error")
    gpu = cells(precision_run, loader="predictor-gpu-trt-int8")
    assert gpu and all(c["status"] == "skipped" and "no GPU" in c["error"] for c in gpu), gpu[:1]


def test_int8_exports_hold_quantize_ops_and_say_how_they_were_made(precision_run: dict[str, Any]) -> None:
    made = {}
    for record_path in (precision_run["work"] / "exports").glob("*/rtdetr_tiny/*-int8*/export.json"):
        record = json.loads(record_path.read_text())
        if record["status"] != "ok":
            continue
        quant = record["quantization"]
        made[record_path.parent.name, record["paddle_version"]] = quant["quantizer"]
        assert record["precision"] == "int8" and quant["calibration_images"] == 16
        assert quant["quant_ops"]["quantize_linear"] > 0 and quant["quant_ops"]["dequantize_linear"] > 0
        # The INT8 weights are counted in the params file itself, tensor by tensor.
        assert quant["int8_weights"] == quant["params_dtypes"].get("INT8", 0)
        if quant["quantizer"].startswith("paddleslim"):
            assert quant["int8_weights"] > 0, "PaddleSlim's QDQ format stores INT8 weights"
    quantizers = set(made.values())
    assert quantizers == {"paddle.quantization.PTQ", "paddleslim.quant.quant_post_static"}, made
    assert len(made) >= 3, "2.6.2 (legacy, both quantizers) and 3.3.1 (PIR) quantize the RT-DETR-like model"


def test_every_cell_that_ran_carries_its_map_next_to_the_reference_and_chance(precision_run: dict[str, Any]) -> None:
    ran = [c for c in precision_run["results"]["cells"] if c["status"] in RAN]
    assert ran
    for cell in ran:
        found = cell["details"]["accuracy"]
        assert 0.0 <= found["map50"] <= 1.0 and 0.0 <= found["map"] <= found["map50"] + 1e-9, cell["details"]
        # The FP32 model is trained clearly above chance on images it never saw.
        assert found["reference_map50"] > found["chance_map50"] + 0.1, found
        assert found["images"] == 32 and found["objects"] > 32


def test_accuracy_decides_exactly_for_int8_exports_and_precision_loaders(precision_run: dict[str, Any]) -> None:
    modes, loaders = precision_of(precision_run)
    map_drop = precision_run["results"]["tolerances"]["map_drop"]
    decided = 0
    for cell in precision_run["results"]["cells"]:
        if cell["status"] not in RAN:
            continue
        found = cell["details"]["accuracy"]
        int8 = "int8" in (modes[cell["export"]], loaders[cell["loader"]])
        assert found["decides"] is int8, cell
        if int8:
            decided += 1
            assert cell["details"]["numeric"]["status"] in ("pass", "mismatch"), "the numbers are kept, not deciding"
            judged_ok = found["drop"] <= map_drop
            assert (cell["status"] in ("pass", "flaky")) is judged_ok, cell
            assert (cell["status"] == "accuracy_drop") is (not judged_ok) and cell["stage"] == (
                None if judged_ok else "accuracy"
            )
    assert decided >= 4, "INT8 exports and the oneDNN INT8 loader were judged by their mAP"


def test_an_fp32_numeric_pass_has_the_references_map(precision_run: dict[str, Any]) -> None:
    modes, loaders = precision_of(precision_run)
    passes = [
        c
        for c in cells(precision_run, status="pass")
        if modes[c["export"]] == "fp32" and loaders[c["loader"]] == "fp32"
    ]
    assert passes
    for cell in passes:
        found = cell["details"]["accuracy"]
        assert found["agrees"] is True and abs(found["map50"] - found["reference_map50"]) <= 0.01, cell["details"]


def test_fingerprints_say_what_the_cpu_offers_int8_kernels(precision_run: dict[str, Any]) -> None:
    for rt in precision_run["results"]["runtimes"]:
        fp = rt["fingerprint"]
        assert fp["capabilities"]["ptq_int8"] is True
        assert isinstance(fp["cpu"]["flags"], list) and fp["cpu"]["model"]
