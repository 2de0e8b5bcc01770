"""JUnit XML from a results document: one testcase per cell, so any CI shows the matrix.

Incompatibilities are <failure>, harness problems <error>, everything that did not run
(or is expected) <skipped>.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.document.cell import FAILURES, Status
from harness.document.results import Cell, ResultsDocument
from harness.store.files import write_text_atomic

FAILING = frozenset(s.value for s in FAILURES)
KINDS = {"failure": "failures", "error": "errors", "skipped": "skipped"}
_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))


def xml_text(text: str) -> str:
    """XML 1.0 cannot hold most control characters; C++ logs sometimes do."""
    return text.translate(_CONTROL)


def kind(cell: Cell) -> str | None:
    """The JUnit element of a cell: None (a pass), failure, error or skipped."""
    if cell.shown_as == Status.PASS.value:
        return None
    if cell.shown_as in FAILING:
        return "failure"
    if cell.shown_as == Status.INFRA_ERROR.value:
        return "error"
    return "skipped"  # expected, flaky, unavailable, skipped, not_applicable


def junit_xml(doc: ResultsDocument) -> str:
    suite = ET.Element("testsuite", name="paddle-export-compat", tests=str(len(doc.cells)))
    counts = dict.fromkeys(KINDS.values(), 0)
    for cell in doc.cells:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{cell.producer}.{cell.model}.{cell.export}",
            name=f"{cell.consumer}/{cell.loader}",
            time=f"{cell.duration_s or 0:.3f}",
        )
        what = kind(cell)
        if what is None:
            continue
        counts[KINDS[what]] += 1
        message = f"{cell.shown_as}: {cell.error or cell.status.value}"
        element = ET.SubElement(case, what, message=xml_text(message), type=cell.status.value)
        element.text = xml_text(cell.log) if what != "skipped" else None
    for key, value in counts.items():
        suite.set(key, str(value))
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def write_junit(doc: ResultsDocument, path: Path) -> None:
    write_text_atomic(path, junit_xml(doc))
