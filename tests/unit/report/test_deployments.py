"""Deployment consumers in the report: columns beside the Paddle runtimes in the overview,
`convert_failed` counted as a failure wherever failures are counted, "where do exports load"
naming where an export deploys, and an upstream report for a Lite or paddle2onnx issue."""

from __future__ import annotations

import ast
import datetime
from pathlib import Path

import pytest

from harness.config.matrix import Matrix, parse_matrix
from harness.config.plan import planned_cells
from harness.document.cell import CellKey, Result, Stage, Status
from harness.document.results import ResultsDocument
from harness.report.collect import collect
from harness.report.html import render_html
from harness.report.junit import junit_xml
from harness.report.markdown import markdown
from harness.report.styles import FAILING, STYLES, WORST_FIRST
from harness.report.upstream import upstream_report
from harness.report.upstream_deploy import convert_command
from harness.store.files import write_json_atomic
from harness.store.layout import Workspace
from harness.store.results import append_result
from tests.unit.report.dom import Page, parse

MATRIX = """
runtimes: [{id: cpu-3.2.2, version: "3.2.2"}, {id: cpu-2.6.2, version: "2.6.2"}]
models: [{id: control_tiny, family: control}]
export_modes: [{id: on-legacy, full_graph: true, program_format: legacy}]
loaders: [{id: predictor, api: predictor}]
deployments:
  - {id: lite-2.10, tool: lite, python: "3.9", packages: ["paddlelite==2.10", "numpy<2"], targets: [x86, "arm,x86"]}
  - {id: onnx-p2o-1.3.1, tool: onnx, python: "3.11", packages: ["paddle2onnx==1.3.1", "onnxruntime==1.32.0"],
     opsets: [13]}
"""
TODAY = datetime.date(2026, 12, 1)
LITE_ERROR = "[F ...e-Lite/lite/core/model/general/program_desc.cc:51 GetBlock] Check failed: idx >= blocks.size()"


@pytest.fixture(scope="module")
def matrix() -> Matrix:
    return parse_matrix(MATRIX)


@pytest.fixture(scope="module")
def doc(matrix: Matrix, tmp_path_factory: pytest.TempPathFactory) -> ResultsDocument:
    ws = Workspace(tmp_path_factory.mktemp("work"))
    fingerprints = {"lite-2.10": {"tool_version": "paddlelite 2.10 (opt v2.10)", "python": "3.9.18"}}
    for rid in matrix.consumer_ids:
        state = {"id": rid, "state": "ready", "backend": "venv", "fingerprint": fingerprints.get(rid, {})}
        write_json_atomic(ws.state_file(rid), state)
    for producer in ("cpu-3.2.2", "cpu-2.6.2"):
        out = ws.export_dir(producer, "control_tiny", "on-legacy")
        write_json_atomic(out / "export.json", {"status": "ok", "program_file": "model.pdmodel"})
    verdicts = {
        "lite-x86": (Status.PASS, None, ""),
        "lite-arm+x86": (Status.MISMATCH, Stage.COMPARE, "scene 0: output 0: shape [0], reference [1, 4, 64]"),
        "onnx-opset13": (Status.CONVERT_FAILED, Stage.CONVERT, LITE_ERROR),
        "predictor": (Status.PASS, None, ""),
    }
    for key in planned_cells(matrix):
        status, stage, error = verdicts[key.loader]
        details = {"signal": "SIGABRT"} if status is Status.CONVERT_FAILED else {}
        result = Result.for_cell(key, status, stage=stage, error=error, details=details)
        append_result(ws.results_file(key.consumer), result)
    return collect(matrix, ws, TODAY)


def test_deployment_consumers_are_runtimes_of_the_document_after_the_paddle_ones(doc: ResultsDocument) -> None:
    assert [(r.id, r.tool, r.version, r.package) for r in doc.runtimes] == [
        ("cpu-3.2.2", "", "3.2.2", "paddlepaddle"),
        ("cpu-2.6.2", "", "2.6.2", "paddlepaddle"),
        ("lite-2.10", "lite", "2.10", "paddlelite"),
        ("onnx-p2o-1.3.1", "onnx", "1.3.1", "paddle2onnx"),
    ]
    lite = doc.runtimes[2]
    assert lite.pins == ["paddlelite==2.10", "numpy<2"] and lite.to_json()["tool"] == "lite"
    assert "tool" not in doc.runtimes[0].to_json(), "a Paddle runtime's record is what it always was"
    loaders = {ld.id: ld for ld in doc.loaders}
    assert (loaders["lite-arm+x86"].api, loaders["lite-arm+x86"].valid_targets) == ("lite", "arm,x86")
    assert (loaders["onnx-opset13"].api, loaders["onnx-opset13"].opset) == ("onnx", 13)
    again = ResultsDocument.from_json(doc.to_json(), "results.json")
    assert again.runtimes == doc.runtimes and again.loaders == doc.loaders and again.compat_ranges == doc.compat_ranges


def test_the_overview_has_deployment_columns_beside_the_paddle_runtimes(doc: ResultsDocument) -> None:
    page = Page.of(parse(render_html(doc)))
    index = page.index
    assert [index["ids"][n] for n in index["cols"]] == ["cpu-3.2.2", "cpu-2.6.2", "lite-2.10", "onnx-p2o-1.3.1"]
    assert [index["ids"][n] for n in index["rows"]] == ["cpu-3.2.2", "cpu-2.6.2"], "deployments export nothing"
    assert [index["runtimes"][n]["tool"] for n in index["cols"]] == ["", "", "lite", "onnx"]
    assert {"lite-x86", "lite-arm+x86", "onnx-opset13"} <= set(index["loaders"])
    rows = page.node.find("table", **{"class": "runtimes"}).find_all("tr")
    lite = [r for r in rows if "lite-2.10" in r.text()]
    assert lite and "(deployment: lite)" in lite[0].text() and "paddlelite==2.10 numpy<2" in lite[0].text()


def test_convert_failed_is_a_failure_everywhere_failures_are_counted(doc: ResultsDocument) -> None:
    assert "convert_failed" in FAILING and "convert_failed" in WORST_FIRST and STYLES["convert_failed"].label == "conv"
    assert doc.summary["convert_failed"] == 2
    xml = junit_xml(doc)
    assert xml.count('type="convert_failed"') == 2 and xml.count("<failure ") == 4  # + 2 arm,x86 mismatches
    assert "cells failed to convert, load, run or match" in markdown(doc)
    page = Page.of(parse(render_html(doc)))
    assert page.node.find("strong", **{"data-count": "unexpected"}).text() == "4"


def test_where_do_exports_load_names_where_each_export_deploys(doc: ResultsDocument) -> None:
    ranges = {r.producer: r for r in doc.compat_ranges}
    assert ranges["cpu-2.6.2"].loads_in == ["cpu-2.6.2", "cpu-3.2.2"], "Paddle runtimes only, oldest first"
    assert ranges["cpu-2.6.2"].deploys_in == ["lite-2.10"], "one target passing is enough; ONNX never converted it"
    html = render_html(doc)
    assert "deploys: lite-2.10" in html
    assert "cpu-2.6.2 → cpu-3.2.2; deploys: lite-2.10" in markdown(doc)


def test_a_failing_deployment_cell_has_an_upstream_report_for_the_tools_issue_tracker(doc: ResultsDocument) -> None:
    runtimes = {r.id: r for r in doc.runtimes}
    loaders = {ld.id: ld for ld in doc.loaders}
    converted = next(c for c in doc.cells if c.loader == "onnx-opset13")
    text = upstream_report(converted, consumer=runtimes[converted.consumer], producer=runtimes[converted.producer],
                           loader=loaders[converted.loader], export=None)  # fmt: skip
    assert text.startswith("### paddle2onnx 1.3.1 (opset 13) cannot convert a model exported by Paddle")
    assert "paddle2onnx --model_dir . --model_filename model.pdmodel" in text and LITE_ERROR in text
    mismatch = next(c for c in doc.cells if c.loader == "lite-arm+x86" and c.producer == "cpu-2.6.2")
    text = upstream_report(mismatch, consumer=runtimes["lite-2.10"], producer=runtimes["cpu-2.6.2"],
                           loader=loaders["lite-arm+x86"], export=None)  # fmt: skip
    assert "paddlelite 2.10 (opt v2.10) (valid_targets=arm,x86) gives different outputs for" in text
    script = text.split("```python\n", 1)[1].split("\n```", 1)[0]
    ast.parse(script, feature_version=(3, 7))  # runs on the Lite wheels' Python 3.7 too
    assert "from paddlelite.lite import MobileConfig, create_paddle_predictor" in script and "import paddle\n" not in script


def test_the_converters_command_line_is_the_tools_own() -> None:
    from harness.document.runtimes import LoaderEntry

    lite = LoaderEntry("lite-arm+x86", "lite", valid_targets="arm,x86")
    assert convert_command(lite, "model.pdmodel", False) == (
        "paddle_lite_opt --model_file=model.pdmodel --param_file=model.pdiparams --valid_targets=arm,x86 "
        "--optimize_out_type=naive_buffer --optimize_out=model"
    )
    onnx = LoaderEntry("onnx-opset13", "onnx", opset=13)
    assert convert_command(onnx, "model.json", True).endswith("--enable_auto_update_opset False --optimize_tool None")


def test_a_document_without_deployments_renders_as_before(tmp_path: Path) -> None:
    plain = parse_matrix(MATRIX.split("deployments:")[0])
    ws = Workspace(tmp_path)
    doc = collect(plain, ws, TODAY)
    assert all(not r.tool for r in doc.runtimes) and all(not r.deploys_in for r in doc.compat_ranges)
    assert [ld.to_json() for ld in doc.loaders] == [{"id": "predictor", "api": "predictor", "onednn": "default",
                                                      "ir_optim": "default"}]  # fmt: skip
    assert CellKey("cpu-3.2.2", "control_tiny", "on-legacy", "cpu-2.6.2", "predictor") in [c.key for c in doc.cells]
