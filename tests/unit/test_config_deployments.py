"""Deployment consumers in matrix.yaml: declared as data, checked naming the key, planned as
cells (producers x models x export modes x deployments x their targets / opsets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.deployments import Deployment
from harness.config.matrix import Runtime, load_matrix, parse_matrix
from harness.config.plan import planned_cells
from harness.document.cell import CellKey
from harness.errors import ConfigError
from tests.unit.helpers import problems_of

ROOT = Path(__file__).parents[2]
BASE = """
runtimes: [{id: cpu-2.6.2, version: "2.6.2"}, {id: cpu-3.2.2, version: "3.2.2"}]
models: [{id: control_tiny, family: control}, {id: ppyoloe_tiny}]
export_modes: [{id: on-legacy, full_graph: true, program_format: legacy}, {id: on-pir, full_graph: true, program_format: pir}]
loaders: [{id: predictor, api: predictor}, {id: jit_load, api: jit_load}]
"""
LITE = '{id: lite-2.10, tool: lite, python: "3.9", packages: ["paddlelite==2.10", "numpy<2"], targets: [x86, "arm,x86"]}'
ONNX = (
    '{id: onnx-p2o-2.1.0, tool: onnx, python: "3.11", opsets: [11, 13],'
    ' packages: ["paddle2onnx==2.1.0", "paddlepaddle==3.2.2", "onnxruntime==1.32.0", "setuptools"]}'
)


def with_deployments(*entries: str) -> str:
    return BASE + "deployments:\n" + "".join(f"  - {e}\n" for e in entries)


def test_deployments_are_optional_and_parse_into_consumers_with_their_loaders() -> None:
    assert parse_matrix(BASE).deployments == ()
    matrix = parse_matrix(with_deployments(LITE, ONNX))
    lite, onnx = matrix.deployments
    assert (lite.tool, lite.python, lite.version, lite.requirement) == ("lite", "3.9", "2.10", "paddlelite==2.10")
    assert [ld.id for ld in lite.loaders] == ["lite-x86", "lite-arm+x86"], "ids safe for cell slugs"
    assert lite.loader("lite-arm+x86").target == "arm,x86" and lite.loader("lite-arm+x86").option == "--valid_targets=arm,x86"
    assert [(ld.id, ld.opset) for ld in onnx.loaders] == [("onnx-opset11", 11), ("onnx-opset13", 13)]
    assert onnx.requirements == ["paddle2onnx==2.1.0", "paddlepaddle==3.2.2", "onnxruntime==1.32.0", "setuptools"]
    assert (onnx.device, onnx.candidates, onnx.sources) == ("cpu", (onnx,), ())
    assert matrix.consumer_ids == ["cpu-2.6.2", "cpu-3.2.2", "lite-2.10", "onnx-p2o-2.1.0"]
    assert matrix.consumer("lite-2.10") is lite and isinstance(matrix.consumer("cpu-2.6.2"), Runtime)
    assert matrix.deployment("cpu-2.6.2") is None


def test_a_paddle_runtime_installs_what_it_always_did() -> None:
    rt = Runtime(id="cpu-2.5", version="2.5.2", pins=("numpy<2",))
    assert rt.requirements == ["paddlepaddle==2.5.2", "setuptools", "numpy<2"]


def test_cells_are_the_paddle_product_then_every_deployment_target_and_opset() -> None:
    matrix = parse_matrix(with_deployments(LITE, ONNX))
    cells = planned_cells(matrix)
    paddle = [c for c in cells if c.consumer.startswith("cpu-")]
    deployed = [c for c in cells if not c.consumer.startswith("cpu-")]
    assert len(paddle) == 2 * 2 * 2 * 2 * 2 and paddle == planned_cells(parse_matrix(BASE))
    assert len(deployed) == 2 * 2 * 2 * (2 + 2) and cells == paddle + deployed
    assert CellKey("cpu-3.2.2", "control_tiny", "on-pir", "lite-2.10", "lite-arm+x86") in deployed
    assert CellKey("cpu-2.6.2", "ppyoloe_tiny", "on-legacy", "onnx-p2o-2.1.0", "onnx-opset11") in deployed
    assert not any(c.consumer == "lite-2.10" and c.loader == "predictor" for c in cells)
    assert {c.slug.count("__") for c in deployed} == {4} and all("," not in c.slug for c in deployed)


def test_select_takes_deployment_ids_beside_runtime_ids() -> None:
    matrix = parse_matrix(with_deployments(LITE, ONNX))
    chosen = matrix.select(["cpu-2.6.2", "onnx-p2o-2.1.0"])
    assert [rt.id for rt in chosen.runtimes] == ["cpu-2.6.2"] and [d.id for d in chosen.deployments] == ["onnx-p2o-2.1.0"]
    assert matrix.select(["cpu-2.6.2"]).deployments == (), "runtimes alone: no deployment consumer"
    with pytest.raises(ConfigError, match="Perhaps you meant 'lite-2.10'"):
        matrix.select(["lite-2.1"])


def test_mistakes_are_collected_naming_the_key() -> None:
    text = with_deployments(
        '{id: lite-a, tool: lite, python: 3.9, packages: ["paddlelite>=2.10"], targets: [x86, "x86,riscv"], opsets: [13]}',
        '{id: onnx-a, tool: onnx, python: "3.11", packages: ["paddle2onnx==2.1.0"], opsets: [5, 13, 13], targts: []}',
        '{id: cpu-2.6.2, tool: tflite, python: "3.11", packages: ["-r evil.txt"]}',
    )
    onnx_a = [
        "deployments[onnx-a].packages: pin that Paddle, like 'paddlepaddle==3.2.2': paddle2onnx 2.1.0 links the Paddle"
        " installed next to it",
        "deployments[onnx-a].packages: pin the ONNX Runtime that runs the result, like 'onnxruntime==1.20.1'",
        "deployments[onnx-a].opsets[0]: 5 is not an ONNX opset paddle2onnx writes (7-21)",
        "deployments[onnx-a].opsets: each once",
    ]
    assert problems_of(text) == [
        "deployments[0].python: must be str, got float 3.9",
        "deployments[1]: unknown key 'targts'. Perhaps you meant 'targets'?",
        "deployments[2].tool: must be one of lite, onnx, got 'tflite'",
        *onnx_a,  # every entry that parsed is checked in the same pass
    ]
    fixed = text.replace("python: 3.9", 'python: "3.9"').replace(", targts: []", "").replace("tool: tflite", "tool: onnx")
    assert problems_of(fixed) == [
        "deployments[lite-a].packages: pin the tool exactly, like 'paddlelite==<version>'",
        "deployments[lite-a].packages: add 'numpy<2' (or numpy==1.x): numpy 2 makes Paddle-Lite's wheels read garbage"
        " input, silently",
        "deployments[lite-a].opsets: lite deployments have no opsets",
        "deployments[lite-a].targets[1]: 'x86,riscv' must list some of x86, arm, like 'arm,x86'",
        *onnx_a,
        "deployments[cpu-2.6.2].id: 'cpu-2.6.2' is also a runtime id; a consumer id must be unique",
        "deployments[cpu-2.6.2].packages[0]: '-r evil.txt' must be one requirement on one line, like 'numpy<2'",
        "deployments[cpu-2.6.2].packages: pin the tool exactly, like 'paddle2onnx==<version>'",
        "deployments[cpu-2.6.2].packages: pin the ONNX Runtime that runs the result, like 'onnxruntime==1.20.1'",
        "deployments[cpu-2.6.2].opsets: onnx deployments need at least one opset, e.g. [13]",
    ]


def test_expectations_may_cover_convert_failures() -> None:
    text = with_deployments(LITE) + 'expectations: [{reason: "Lite reads no PIR", consumer: "lite-*", statuses: [convert_failed]}]\n'
    assert parse_matrix(text).expectations[0].statuses == ("convert_failed",)


def test_the_default_matrix_has_lite_and_onnx_columns_and_the_positive_control() -> None:
    matrix = load_matrix(ROOT / "matrix.yaml")
    tools = {d.tool for d in matrix.deployments}
    assert tools == {"lite", "onnx"}
    lite = [d for d in matrix.deployments if d.tool == "lite"]
    assert all({"x86", "arm,x86"} <= set(d.targets) for d in lite)
    p2o = {d.version.split(".")[0] for d in matrix.deployments if d.tool == "onnx"}
    assert {"1", "2"} <= p2o, "paddle2onnx 2.x and one 1.x release"
    assert any(m.id == "control_tiny" and m.family == "control" for m in matrix.models)
    assert all(isinstance(d, Deployment) and d.version for d in matrix.deployments), "every tool pinned exactly"
