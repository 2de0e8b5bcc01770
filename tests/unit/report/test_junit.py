"""JUnit XML: one testcase per cell, failures / errors / skipped by what the cell shows;
compared byte for byte with a golden file rendered from tests/data/report_v2.json."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.document.cell import CellKey, Result, Stage, Status
from harness.document.results import EXPECTED, Cell
from harness.report.junit import junit_xml, write_junit
from tests.unit.report.data import SMALL, V2, assert_golden, raw, typed


def test_junit_matches_the_golden_file() -> None:
    assert_golden("junit.xml", junit_xml(typed(raw(V2))))


def test_one_testcase_per_cell_with_the_right_kind() -> None:
    doc = typed(raw(V2))
    suite = ET.fromstring(junit_xml(doc))
    cases = suite.findall("testcase")
    assert len(cases) == len(doc.cells) == int(suite.get("tests", "0")) == 192
    kinds = {(c.get("classname"), c.get("name")): [e.tag for e in c] for c in cases}
    for cell in doc.cells:
        tags = kinds[(f"{cell.producer}.{cell.model}.{cell.export}", f"{cell.consumer}/{cell.loader}")]
        if cell.shown_as == "pass":
            assert tags == []
        elif cell.shown_as == "infra_error":
            assert tags == ["error"]
        elif cell.shown_as in ("mismatch", "load_failed", "crash"):
            assert tags == ["failure"]
        else:  # expected, unavailable, skipped, not_applicable
            assert tags == ["skipped"], cell.shown_as
    summary = doc.summary
    assert suite.get("failures") == str(summary["mismatch"] + summary["load_failed"] + summary["crash"])
    assert suite.get("errors") == str(summary["infra_error"])
    assert suite.get("skipped") == str(summary[EXPECTED] + summary["unavailable"] + summary["skipped"] + 8)


def test_control_characters_in_logs_do_not_break_the_xml(tmp_path: Path) -> None:
    doc = typed(raw(SMALL))
    key = CellKey("cpu-3.3.1", "ppyoloe_tiny", "fullgraph_off-legacy", "cpu-3.3.1", "jit_load")
    bad = Cell.from_result(Result.for_cell(key, Status.LOAD_FAILED, error="bad \x00 byte", log="\x1b[31mred\x07"))
    target = tmp_path / "junit.xml"
    write_junit(dataclasses.replace(doc, cells=[bad]), target)
    [case] = ET.parse(target).getroot().findall("testcase")
    [failure] = list(case)
    assert failure.get("message") == "load_failed: bad  byte" and failure.text == "[31mred"
    assert failure.get("type") == "load_failed"


def test_a_failed_exports_log_is_written_once_and_skipped_reasons_are_one_line() -> None:
    doc = typed(raw(SMALL))
    log = "Traceback (most recent call last):\n" + "  frame\n" * 200 + "TypeError: sigmoid()"
    failed = [
        Cell.from_result(
            Result.for_cell(
                CellKey("cpu-3.3.1", "m", "legacy", c, ld),
                Status.EXPORT_FAILED,
                stage=Stage.EXPORT,
                error="TypeError",
                log=log,
            )
        )
        for c in ("cpu-2.6.2", "cpu-3.3.1")
        for ld in ("predictor", "jit_load")
    ]
    skipped = Cell.from_result(
        Result.for_cell(
            CellKey("gpu", "m", "pir", "gpu", "predictor"), Status.SKIPPED, error="no GPU " * 100 + "\nmore"
        )
    )
    text = junit_xml(dataclasses.replace(doc, cells=[*failed, skipped]))
    cases = ET.fromstring(text).findall("testcase")
    bodies = [case[0].text for case in cases[:4]]
    assert bodies[0] == log and all(
        "the same failed export as testcase cpu-3.3.1.m.legacy cpu-2.6.2/predictor" in b for b in bodies[1:]
    )
    message = cases[4][0].get("message", "")
    assert message.startswith("skipped: no GPU") and len(message) <= len("skipped: ") + 160 and "more" not in message
    assert sum(line.startswith("<testcase ") for line in text.splitlines()) == len(cases)  # a line each
