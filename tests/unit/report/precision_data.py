"""A small hand-made results document with the precision axis: one detector ("det"), an FP32
and an INT8 legacy export mode and an INT8 PIR one, an FP32 loader, a oneDNN INT8 loader and a
Paddle-Lite (converted) loader; producers cpu-2.6.2 and cpu-3.3.1 (their CPUs in their
fingerprints), a Lite consumer. Each test edits its own copy (``precision_document()``)."""

from __future__ import annotations

from typing import Any

A, B, LITE = "cpu-2.6.2", "cpu-3.3.1", "lite-2.14"
FP32_MODE, INT8_MODE, PIR_INT8 = "legacy", "legacy-int8", "pir-int8"
PREDICTOR, ONEDNN, LITE_ARM = "predictor", "predictor-onednn-int8", "lite-arm"
MODEL = "det"
FLAGS_A = ["avx2", "avx512f", "avx512_vnni"]
QUANTIZATION = {
    "quantizer": "paddle.quantization.PTQ",
    "observer": "AbsmaxObserver(quant_bits=8)",
    "calibration_images": 16,
    "int8_weights": 0,
    "quant_ops": {"quantize_linear": 66, "dequantize_linear": 103},
}


def accuracy(
    map50: float,
    reference: float = 0.30,
    export: str = "fp32",
    loader: str = "fp32",
    decides: bool = False,
    agrees: bool | None = None,
) -> dict[str, Any]:
    """A cell's details["accuracy"] as the judge writes it."""
    data: dict[str, Any] = {
        "map50": map50,
        "map": round(map50 / 3, 4),
        "reference_map50": reference,
        "reference_map": round(reference / 3, 4),
        "chance_map50": 0.0006,
        "images": 32,
        "objects": 57,
        "drop": round(reference - map50, 4),
        "export_precision": export,
        "loader_precision": loader,
        "decides": decides,
    }
    if agrees is not None:
        data["agrees"] = agrees
    return data


def cell(
    producer: str,
    export: str,
    consumer: str,
    loader: str,
    status: str,
    acc: dict[str, Any] | None = None,
    numeric: dict[str, Any] | None = None,
    stage: str | None = None,
    error: str = "",
) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if acc is not None:
        details["accuracy"] = acc
    if numeric is not None:
        details["numeric"] = numeric
    return {
        "producer": producer,
        "model": MODEL,
        "export": export,
        "consumer": consumer,
        "loader": loader,
        "status": status,
        "stage": stage,
        "error": error,
        "log": "",
        "max_abs_diff": None,
        "details": details,
        "duration_s": 1.0,
    }


def runtime(rid: str, cpu: dict[str, Any] | None, tool: str = "") -> dict[str, Any]:
    fingerprint: dict[str, Any] = {"python": "3.11.7", "paddle_version": rid.split("-")[-1], "numpy": "2.4.6"}
    if cpu is not None:
        fingerprint["cpu"] = cpu
    data = {"id": rid, "version": rid.split("-")[-1], "state": "ready", "fingerprint": fingerprint}
    return {**data, "tool": tool} if tool else data


DROP_ERROR = "mAP@0.5 0.000 on the evaluation set is 0.300 below the FP32 reference's 0.300 (map_drop 0.05)"


def cells() -> list[dict[str, Any]]:
    return [
        # A's FP32 export: numbers decide on the FP32 loader; the INT8 loader's mAP decides.
        cell(A, FP32_MODE, A, PREDICTOR, "pass", accuracy(0.30, agrees=True)),
        cell(
            A, FP32_MODE, A, ONEDNN, "pass", accuracy(0.29, loader="int8", decides=True),
            numeric={"status": "mismatch", "error": "scene 0: score differs by 0.003\nsecond line"},
        ),
        cell(A, FP32_MODE, B, PREDICTOR, "pass", accuracy(0.30, agrees=True)),
        cell(A, FP32_MODE, B, ONEDNN, "crash", stage="load", error="SIGSEGV"),
        cell(A, FP32_MODE, LITE, LITE_ARM, "pass", accuracy(0.28, loader="converted", decides=True)),
        # A's INT8 export
        cell(A, INT8_MODE, A, PREDICTOR, "pass", accuracy(0.31, export="int8", decides=True)),
        cell(
            A, INT8_MODE, A, ONEDNN, "accuracy_drop", accuracy(0.0, export="int8", loader="int8", decides=True),
            numeric={"status": "mismatch", "error": "10 of 10 boxes unmatched"}, stage="accuracy", error=DROP_ERROR,
        ),
        cell(A, INT8_MODE, B, PREDICTOR, "load_failed", stage="load", error="RuntimeError: no kernel"),
        cell(A, INT8_MODE, B, ONEDNN, "crash", stage="load", error="SIGSEGV"),
        cell(
            A, INT8_MODE, LITE, LITE_ARM, "accuracy_drop", accuracy(0.10, export="int8", loader="converted", decides=True),
            stage="accuracy", error=DROP_ERROR,
        ),
        # 2.6.2 writes no PIR: the INT8 PIR export does not apply to A.
        cell(A, PIR_INT8, A, PREDICTOR, "not_applicable", stage="export", error="no PIR writer"),
        # B's FP32 export (its own reference), its INT8 export failed.
        cell(B, FP32_MODE, B, PREDICTOR, "pass", accuracy(0.26, reference=0.26, agrees=True)),
        cell(B, INT8_MODE, A, PREDICTOR, "export_failed", stage="export", error="TypeError: matmul()"),
        cell(B, INT8_MODE, B, PREDICTOR, "export_failed", stage="export", error="TypeError: matmul()"),
        # A user export (no export mode of the matrix) and an unlisted loader: counted as FP32.
        cell(B, "user", B, "custom", "mismatch", stage="compare", error="score differs"),
    ]


def precision_document() -> dict[str, Any]:
    """The raw results.json (what a test edits; data.typed makes it a ResultsDocument)."""
    return {
        "schema_version": 2,
        "generated_at": "2026-11-23T16:00:00Z",
        "matrix": "matrix-precision.yaml",
        "backend": "venv",
        "runtimes": [
            runtime(A, {"model": "Xeon <A>", "flags": FLAGS_A}),
            runtime(B, {"model": "EPYC B", "flags": ["avx2"]}),
            runtime(LITE, None, tool="lite"),
        ],
        "models": [MODEL],
        "export_modes": [
            {"id": FP32_MODE, "program_format": "legacy", "full_graph": True, "precision": "fp32"},
            {"id": INT8_MODE, "program_format": "legacy", "full_graph": True, "precision": "int8"},
            {"id": PIR_INT8, "program_format": "pir", "full_graph": True, "precision": "int8"},
        ],
        "loaders": [
            {"id": PREDICTOR, "api": "predictor", "precision": "fp32"},
            {"id": ONEDNN, "api": "predictor", "onednn": "int8", "precision": "int8"},
            {"id": LITE_ARM, "api": "lite", "valid_targets": "arm"},
        ],
        "tolerances": {"map_drop": 0.05},
        "exports": [
            {"producer": A, "model": MODEL, "export": FP32_MODE, "status": "ok", "precision": "fp32"},
            {
                "producer": A,
                "model": MODEL,
                "export": INT8_MODE,
                "status": "ok",
                "precision": "int8",
                "quantization": QUANTIZATION,
            },
            {"producer": A, "model": MODEL, "export": PIR_INT8, "status": "not_applicable", "error": "no PIR"},
        ],
        "cells": cells(),
    }
