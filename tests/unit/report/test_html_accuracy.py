"""The HTML report's accuracy: the section (per model and precision; quantized vs FP32 with
the consumers' CPUs), the CPU column of the runtimes table, and the detail panel's accuracy
block, precision and quantization record. Pages without precision data are as before."""

from __future__ import annotations

from typing import Any

import pytest

from harness.report.html import render_html
from tests.unit.report.data import SCRIPT, cell_index, page, render, typed
from tests.unit.report.dom import Node, Page, parse
from tests.unit.report.precision_data import (
    FP32_MODE,
    INT8_MODE,
    LITE,
    LITE_ARM,
    ONEDNN,
    PREDICTOR,
    A,
    B,
    precision_document,
)


@pytest.fixture(scope="module")
def precision() -> dict[str, Any]:
    return precision_document()


@pytest.fixture(scope="module")
def precision_page(precision: dict[str, Any]) -> Page:
    return page(precision)


def texts(row: Node) -> list[str]:
    return [" ".join(c.text().split()) for c in row.children if isinstance(c, Node)]


def test_the_accuracy_section_has_a_row_per_model_and_precision(precision_page: Page) -> None:
    section = precision_page.node.find("section", id="accuracy")
    assert "more than 0.05 (tolerances.map_drop)" in " ".join(section.text().split())
    rows = section.find("table", id="accuracy-summary").find("tbody").find_all("tr")
    got = {(r.attrs["data-export-precision"], r.attrs["data-loader-precision"]): texts(r) for r in rows}
    assert got[("fp32", "fp32")] == ["det", "fp32", "fp32", "4", "3", "3", "0", "1", "0.260–0.300", "0.260 / 0.300 / 0.300"]
    assert got[("int8", "int8")] == ["det", "int8", "int8", "2", "1", "0", "1", "1", "0.300", "0.000 / 0.000 / 0.000"]
    assert got[("int8", "converted")][3:8] == ["1", "1", "0", "1", "0"]
    assert len(rows) == 6


def test_quantized_vs_fp32_links_each_outcome_to_its_cell(precision: dict[str, Any], precision_page: Page) -> None:
    table = precision_page.node.find("table", id="quantized-table")
    assert texts(table.find("thead").find("tr"))[5:] == [PREDICTOR, ONEDNN, LITE_ARM]
    rows = table.find("tbody").find_all("tr")
    assert [(r.attrs["data-producer"], r.attrs["data-consumers"]) for r in rows] == [(A, A), (A, B), (A, LITE), (B, A), (B, B)]
    first = rows[0].find_all("td")
    assert texts(rows[0])[2:] == [
        "legacy-int8 (legacy)",
        "0.300",
        A,
        "FP32 0.300 → INT8 0.310",
        "FP32 0.290 → INT8 0.000 (accuracy_drop)",
        "—",
    ]
    drop = first[4]
    assert "s-accuracy_drop" in drop.classes() and drop.attrs["data-status"] == "accuracy_drop"
    links = [a.attrs["href"] for a in drop.find_all("a")]
    assert links == [
        f"#cell-{cell_index(precision, producer=A, export=FP32_MODE, consumer=A, loader=ONEDNN)}",
        f"#cell-{cell_index(precision, producer=A, export=INT8_MODE, consumer=A, loader=ONEDNN)}",
    ]
    crash = rows[1].find_all("td")[4]
    assert crash.text() == "both crash" and "s-crash" in crash.classes()
    assert "s-missing" in rows[0].find_all("td")[5].classes()


def test_the_cpus_are_beside_the_comparison_and_in_the_runtimes_table(precision_page: Page) -> None:
    caption = " ".join(precision_page.node.find("table", id="quantized-table").find("caption").text().split())
    assert "cpu-2.6.2: Xeon <A> (avx2 avx512f avx512_vnni); cpu-3.3.1: EPYC B (avx2); lite-2.14: not recorded" in caption
    runtimes = precision_page.node.find("section", id="runtimes").find("table")
    assert "CPU" in texts(runtimes.find("thead").find("tr"))
    cpus = [r.find("td", class_="cpu") for r in runtimes.find("tbody").find_all("tr")]
    assert cpus[0].text() == "Xeon <A>avx2 avx512f avx512_vnni"
    assert cpus[0].find("small").text() == "avx2 avx512f avx512_vnni"
    assert cpus[2].text() == "—"


@pytest.mark.parametrize("fixture", ["small_doc", "v2_doc"])
def test_pages_without_precision_data_have_no_accuracy_section_or_cpu_column(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    doc: Node = request.getfixturevalue(fixture)
    assert not [s for s in doc.find_all("section") if s.attrs.get("id") == "accuracy"]
    assert "CPU" not in texts(doc.find("section", id="runtimes").find("thead").find("tr"))


def test_untrusted_cpu_and_quantization_text_stays_text(precision: dict[str, Any]) -> None:
    data = precision_document()
    data["runtimes"][0]["fingerprint"]["cpu"] = {"model": SCRIPT, "flags": [SCRIPT]}
    data["exports"][1]["quantization"] = {"quantizer": SCRIPT}
    html = render_html(typed(data))
    assert SCRIPT not in html
    doc = parse(html)
    assert SCRIPT in doc.find("table", id="quantized-table").find("caption").text()
    assert Page.of(doc).detail["exports"][1]["quantization"] == [["quantizer", SCRIPT]]


# ---------------------------------------------------------------- the detail panel


def block(shown: Page, data: dict[str, Any], **key: str) -> dict[str, list[str]]:
    rows = shown.more(cell_index(data, **key))["accuracy"]
    return {term: [text, cls] for term, text, cls in rows}


def test_an_accuracy_drop_says_accuracy_decided_and_what_the_numbers_said(
    precision: dict[str, Any], precision_page: Page
) -> None:
    rows = block(precision_page, precision, producer=A, export=INT8_MODE, consumer=A, loader=ONEDNN)
    assert rows["verdict"] == ["accuracy decides (INT8 export, precision loader)", "decides"]
    assert rows["mAP@0.5"] == ["0.000 (FP32 reference 0.300; chance 0.001)", ""]
    assert rows["mAP@0.5:0.95"] == ["0.000 (FP32 reference 0.100)", ""]
    assert rows["drop"] == ["0.300 below the reference: more than tolerances.map_drop 0.05", "over"]
    assert rows["evaluation set"] == ["32 images, 57 objects", ""]
    assert rows["precision"] == ["export int8, loader int8", ""]
    assert rows["numeric comparison (not deciding)"] == ["mismatch: 10 of 10 boxes unmatched", ""]
    assert "agrees" not in rows


def test_an_fp32_cell_says_numbers_decide_and_whether_its_map_agrees(
    precision: dict[str, Any], precision_page: Page
) -> None:
    rows = block(precision_page, precision, producer=A, export=FP32_MODE, consumer=A, loader=PREDICTOR)
    assert rows["verdict"] == ["numbers decide; mAP shown", ""]
    assert rows["drop"][0] == "0.000 below the reference: within tolerances.map_drop 0.05"
    assert rows["agrees"][0].startswith("yes: ")
    assert "numeric comparison (not deciding)" not in rows


def test_a_precision_loader_and_a_converted_model_are_named(precision: dict[str, Any], precision_page: Page) -> None:
    onednn = block(precision_page, precision, producer=A, export=FP32_MODE, consumer=A, loader=ONEDNN)
    assert onednn["verdict"][0] == "accuracy decides (precision loader)"
    assert onednn["numeric comparison (not deciding)"][0] == "mismatch: scene 0: score differs by 0.003"
    lite = block(precision_page, precision, producer=A, export=INT8_MODE, consumer=LITE, loader=LITE_ARM)
    assert lite["verdict"][0] == "accuracy decides (INT8 export, converted model)"


def test_the_block_replaces_the_raw_details_and_a_bad_record_stays_raw(precision: dict[str, Any]) -> None:
    data = precision_document()
    n = cell_index(data, producer=A, export=INT8_MODE, consumer=A, loader=ONEDNN)
    data["cells"][n]["details"]["load_s"] = 0.5
    m = cell_index(data, producer=B, export=FP32_MODE, consumer=B, loader=PREDICTOR)
    data["cells"][m]["details"] = {"accuracy": "n/a", "numeric": {"status": "pass"}}
    shown = page(data)
    assert shown.more(n)["details"] == {"load_s": 0.5}
    assert "accuracy" not in shown.more(m) and shown.more(m)["details"] == data["cells"][m]["details"]


def test_the_export_panel_has_the_precision_and_quantization_record(
    precision: dict[str, Any], precision_page: Page
) -> None:
    int8 = precision_page.more(cell_index(precision, producer=A, export=INT8_MODE, consumer=A, loader=PREDICTOR))
    assert int8["export"]["precision"] == "int8"
    assert int8["export"]["quantization"] == [
        ["quantizer", "paddle.quantization.PTQ, observer AbsmaxObserver(quant_bits=8)"],
        ["calibration", "16 images"],
        ["quant ops", "quantize_linear 66 · dequantize_linear 103"],
        ["INT8 weights", "0"],
    ]
    fp32 = precision_page.more(cell_index(precision, producer=A, export=FP32_MODE, consumer=A, loader=PREDICTOR))
    assert fp32["export"]["precision"] == "fp32" and "quantization" not in fp32["export"]


def test_the_consumer_fingerprint_has_its_cpu(precision_page: Page) -> None:
    fingerprints = dict(zip(precision_page.index["ids"], precision_page.detail["fingerprints"]))
    assert fingerprints[A]["cpu"] == "Xeon <A> · avx2 avx512f avx512_vnni"
    assert "cpu" not in fingerprints[LITE]


def test_the_precision_page_is_well_formed(precision: dict[str, Any]) -> None:
    render(precision)  # parse() asserts every element is closed where it was opened
