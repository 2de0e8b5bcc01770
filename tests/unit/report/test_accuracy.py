"""The accuracy tables (harness/report/accuracy.py) and what summary.md and junit.xml make of
them: the mAP per model and precision, quantized vs FP32 per producer runtime, the consumers'
CPUs; documents without precision data read exactly as before."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from harness.report.accuracy import Accuracy, has_accuracy, quantized, summary_rows
from harness.report.junit import junit_xml
from harness.report.markdown import markdown
from tests.unit.report.data import SMALL, V2, raw, typed
from tests.unit.report.precision_data import (
    DROP_ERROR,
    INT8_MODE,
    LITE,
    MODEL,
    ONEDNN,
    PREDICTOR,
    A,
    B,
    accuracy,
    cell,
    precision_document,
)


def rows_by_group(data: dict[str, Any]) -> dict[tuple[str, str], tuple[Any, ...]]:
    return {
        (r.export_precision, r.loader_precision): (r.cells, r.ran, r.passed, r.dropped, r.failed, r.reference, r.consumer)
        for r in summary_rows(typed(data))
    }


def test_summary_rows_count_each_model_and_precision_group() -> None:
    rows = rows_by_group(precision_document())
    assert list(rows) == [
        ("fp32", "fp32"),
        ("fp32", "int8"),
        ("fp32", "converted"),
        ("int8", "fp32"),
        ("int8", "int8"),
        ("int8", "converted"),
    ]
    # cells, with mAP, pass, accuracy_drop, other failures, FP32 reference, min / median / max
    # fp32/fp32: three passes (two producers' references) and a user export's mismatch.
    assert rows[("fp32", "fp32")] == (4, 3, 3, 0, 1, "0.260–0.300", "0.260 / 0.300 / 0.300")
    assert rows[("fp32", "int8")] == (2, 1, 1, 0, 1, "0.300", "0.290 / 0.290 / 0.290")
    assert rows[("fp32", "converted")] == (1, 1, 1, 0, 0, "0.300", "0.280 / 0.280 / 0.280")
    # int8/fp32: a pass, a load failure, two failed exports (no mAP: grouped by the document's
    # export modes and loaders) and the not-applicable PIR export (in no count).
    assert rows[("int8", "fp32")] == (5, 1, 1, 0, 3, "0.300", "0.310 / 0.310 / 0.310")
    assert rows[("int8", "int8")] == (2, 1, 0, 1, 1, "0.300", "0.000 / 0.000 / 0.000")
    assert rows[("int8", "converted")] == (1, 1, 0, 1, 0, "0.300", "0.100 / 0.100 / 0.100")
    assert {r.model for r in summary_rows(typed(precision_document()))} == {MODEL}


def test_the_median_of_an_even_count_and_cells_without_an_mAP() -> None:
    data = precision_document()
    data["cells"] = [
        cell(A, "legacy", A, PREDICTOR, "pass", accuracy(m)) for m in (0.1, 0.2, 0.4, 0.5)
    ] + [cell(A, "legacy", B, PREDICTOR, "timeout", stage="run")]
    assert rows_by_group(data) == {("fp32", "fp32"): (5, 4, 4, 0, 1, "0.300", "0.100 / 0.300 / 0.500")}
    data["cells"] = [cell(A, "legacy", B, PREDICTOR, "load_failed", stage="load")]
    assert rows_by_group(data) == {("fp32", "fp32"): (1, 0, 0, 0, 1, "—", "—")}


def test_the_judges_record_decides_a_cells_group_before_the_document() -> None:
    data = precision_document()
    # An FP32 export mode, but the judge saw an INT8 export (and a converted model).
    data["cells"] = [cell(A, "legacy", A, PREDICTOR, "pass", accuracy(0.3, export="int8", loader="converted"))]
    assert list(rows_by_group(data)) == [("int8", "converted")]


def test_accuracy_details_of_an_unexpected_shape_are_missing_not_an_error() -> None:
    data = precision_document()
    weird = cell(A, "legacy", A, PREDICTOR, "pass", {"map50": "high", "images": 3.5, "decides": "yes"})
    data["cells"] = [weird, cell(A, "legacy", B, PREDICTOR, "pass")]
    data["cells"][1]["details"]["accuracy"] = "0.3"
    doc = typed(data)
    acc = Accuracy.of(doc.cells[0])
    assert acc is not None and (acc.map50, acc.images, acc.decides) == (None, None, False)
    assert Accuracy.of(doc.cells[1]) is None
    assert rows_by_group(data) == {("fp32", "fp32"): (2, 0, 2, 0, 0, "—", "—")}


@pytest.mark.parametrize("path", [SMALL, V2])
def test_documents_without_precision_data_have_no_accuracy_sections(path: Any) -> None:
    doc = typed(raw(path))
    assert not has_accuracy(doc) and quantized(doc) is None
    md = markdown(doc)
    assert "## Accuracy" not in md and "## Quantized" not in md


def test_any_one_of_accuracy_int8_modes_or_int8_loaders_shows_them() -> None:
    data = precision_document()
    assert has_accuracy(typed(data))
    fp32_only = {**data, "export_modes": data["export_modes"][:1], "loaders": data["loaders"][:1]}
    assert has_accuracy(typed(fp32_only))  # the cells' mAP
    assert not has_accuracy(typed({**fp32_only, "cells": [cell(A, "legacy", A, PREDICTOR, "pass")]}))
    int8_loader = {**fp32_only, "loaders": data["loaders"][:2], "cells": []}
    assert has_accuracy(typed(int8_loader)) and quantized(typed(int8_loader)) is None


def test_quantized_compares_each_int8_export_with_its_fp32_twin_per_consumer_and_loader() -> None:
    table = quantized(typed(precision_document()))
    assert table is not None
    assert table.loaders == [PREDICTOR, ONEDNN, "lite-arm"]
    got = [(r.producer, r.int8_export, r.fp32_export, r.reference, r.consumers, r.texts) for r in table.rows]
    assert got == [
        (A, INT8_MODE, "legacy", "0.300", [A], ["FP32 0.300 → INT8 0.310", "FP32 0.290 → INT8 0.000 (accuracy_drop)", "—"]),
        (A, INT8_MODE, "legacy", "0.300", [B], ["FP32 0.300 → INT8 load_failed", "both crash", "—"]),
        (A, INT8_MODE, "legacy", "0.300", [LITE], ["—", "—", "FP32 0.280 → INT8 0.100 (accuracy_drop)"]),
        # B's FP32 export has no cell in cpu-2.6.2: the INT8 export's status alone.
        (B, INT8_MODE, "legacy", "0.260", [A], ["INT8 export_failed", "—", "—"]),
        (B, INT8_MODE, "legacy", "0.260", [B], ["FP32 0.260 → INT8 export_failed", "—", "—"]),
    ]
    # The not-applicable INT8 PIR export (2.6.2 writes no PIR) has no row.
    assert all(r.int8_export == INT8_MODE for r in table.rows)
    # Each outcome names its cell (the HTML links it).
    doc = typed(precision_document())
    drop = table.rows[0].pairs[1].int8
    assert drop is not None and doc.cells[drop.index].status.value == "accuracy_drop"


def test_consumers_whose_outcomes_read_the_same_share_a_row() -> None:
    data = precision_document()
    data["cells"] = [c for c in data["cells"] if c["producer"] == B and c["export"] == INT8_MODE]
    table = quantized(typed(data))
    assert table is not None
    assert [(r.consumers, r.texts) for r in table.rows] == [([A, B], ["INT8 export_failed"])]


def test_the_consumers_cpus_are_grouped_by_model_and_flags() -> None:
    data = precision_document()
    table = quantized(typed(data))
    assert table is not None
    assert [c.text for c in table.cpus] == [
        "cpu-2.6.2: Xeon <A> (avx2 avx512f avx512_vnni)",
        "cpu-3.3.1: EPYC B (avx2)",
        "lite-2.14: not recorded",
    ]
    data["runtimes"][1]["fingerprint"]["cpu"] = data["runtimes"][0]["fingerprint"]["cpu"]
    table = quantized(typed(data))
    assert table is not None and table.cpus[0].text == "cpu-2.6.2, cpu-3.3.1: Xeon <A> (avx2 avx512f avx512_vnni)"


def test_markdown_has_the_accuracy_summary_and_quantized_vs_fp32() -> None:
    md = markdown(typed(precision_document()))
    assert "## Accuracy per model and precision (mAP@0.5 on the evaluation set)" in md
    assert "a fall of more than 0.05 below the reference" in md
    assert "| det | fp32 | fp32 | 4 | 3 | 3 | 0 | 1 | 0.260–0.300 | 0.260 / 0.300 / 0.300 |" in md
    assert "| det | int8 | int8 | 2 | 1 | 0 | 1 | 1 | 0.300 | 0.000 / 0.000 / 0.000 |" in md
    assert "| producer | model | INT8 export (FP32 twin) | FP32 reference | consumer | predictor | " in md
    assert (
        "| cpu-2.6.2 | det | legacy-int8 (legacy) | 0.300 | cpu-2.6.2 | FP32 0.300 → INT8 0.310 "
        "| FP32 0.290 → INT8 0.000 (accuracy_drop) | — |"
    ) in md
    assert "| cpu-3.3.1 | det | legacy-int8 (legacy) | 0.260 | cpu-2.6.2 | INT8 export_failed | — | — |" in md
    assert "Consumer CPUs (oneDNN INT8 kernels depend on their instruction sets): cpu-2.6.2: Xeon <A> (avx2" in md
    # The accuracy sections come after "where do exports load?", the summary's last section before.
    assert md.index("## Accuracy per model") < md.index("## Quantized vs FP32")


def test_markdown_says_when_no_int8_export_applies() -> None:
    data = precision_document()
    data["cells"] = [c for c in data["cells"] if c["export"] != INT8_MODE]
    md = markdown(typed(data))
    assert "## Quantized vs FP32 per runtime (mAP@0.5)" in md
    assert "No INT8 export was made (every INT8 export mode is not applicable here)." in md


def test_an_accuracy_drop_is_a_junit_failure_with_its_error() -> None:
    doc = typed(precision_document())
    suite = ET.fromstring(junit_xml(doc))
    case = next(
        c
        for c in suite.findall("testcase")
        if (c.get("classname"), c.get("name")) == (f"{A}.{MODEL}.{INT8_MODE}", f"{A}/{ONEDNN}")
    )
    [failure] = list(case)
    assert failure.tag == "failure" and failure.get("type") == "accuracy_drop"
    assert failure.get("message") == f"accuracy_drop: {DROP_ERROR}"
    drops = sum(c.status.value == "accuracy_drop" for c in doc.cells)
    failing = sum(c.status.value in ("accuracy_drop", "mismatch", "crash", "load_failed", "export_failed") for c in doc.cells)
    assert drops == 2 and suite.get("failures") == str(failing)
