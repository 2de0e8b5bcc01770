"""JUnit XML from a results document: one testcase per cell (a line each), so any CI shows
the matrix.

Incompatibilities are <failure>, harness problems <error>, everything that did not run
(or is expected) <skipped>. Linear in the cells with a small constant: a skipped cell says
why in one clipped line, and a failed export's log is written once, on the first testcase
of that export (the others name it), not once per consumer and loader that could not load it.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from harness.document.cell import FAILURES, Stage, Status, first_line
from harness.document.results import Cell, ResultsDocument
from harness.store.files import write_text_atomic

FAILING = frozenset(s.value for s in FAILURES)
KINDS = {"failure": "failures", "error": "errors", "skipped": "skipped"}
SKIPPED_CHARS = 160  # why a cell was skipped, in one line; the report has the rest
MESSAGE_CHARS = 500
_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))
_ATTR = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
EXPORT_STAGES = (Stage.EXPORT, Stage.REFERENCE)


def xml_text(text: str) -> str:
    """XML 1.0 cannot hold most control characters; C++ logs sometimes do."""
    return text.translate(_CONTROL)


def attr(text: str) -> str:
    return escape(xml_text(text), _ATTR)


def kind(cell: Cell) -> str | None:
    """The JUnit element of a cell: None (a pass), failure, error or skipped."""
    if cell.shown_as == Status.PASS.value:
        return None
    if cell.shown_as in FAILING:
        return "failure"
    if cell.shown_as == Status.INFRA_ERROR.value:
        return "error"
    return "skipped"  # expected, flaky, unavailable, skipped, not_applicable


def clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def junit_xml(doc: ResultsDocument) -> str:
    counts = dict.fromkeys(KINDS.values(), 0)
    first_of_export: dict[tuple[str, str, str], str] = {}
    lines = []
    for cell in doc.cells:
        classname, name = f"{cell.producer}.{cell.model}.{cell.export}", f"{cell.consumer}/{cell.loader}"
        head = f'<testcase classname="{attr(classname)}" name="{attr(name)}"'
        if cell.duration_s is not None:
            head += f' time="{cell.duration_s:.3f}"'
        what = kind(cell)
        if what is None:
            lines.append(head + " />")
            continue
        counts[KINDS[what]] += 1
        if what == "skipped":
            message = f"{cell.shown_as}: {clipped(first_line(cell.error) or cell.status.value, SKIPPED_CHARS)}"
            lines.append(f'{head}><skipped message="{attr(message)}" type="{cell.status.value}" /></testcase>')
            continue
        message = f"{cell.shown_as}: {clipped(cell.error or cell.status.value, MESSAGE_CHARS)}"
        body = cell.log
        if cell.stage in EXPORT_STAGES:
            export = (cell.producer, cell.model, cell.export)
            first = first_of_export.setdefault(export, f"{classname} {name}")
            if first != f"{classname} {name}":
                body = f"the same failed export as testcase {first}, whose text is its log"
        element = f'<{what} message="{attr(message)}" type="{cell.status.value}">{escape(xml_text(body))}</{what}>'
        lines.append(f"{head}>{element}</testcase>")
    suite = (
        f'<testsuite name="paddle-export-compat" tests="{len(doc.cells)}" failures="{counts["failures"]}" '
        f'errors="{counts["errors"]}" skipped="{counts["skipped"]}">'
    )
    return "\n".join(["<?xml version='1.0' encoding='utf-8'?>", suite, *lines, "</testsuite>", ""])


def write_junit(doc: ResultsDocument, path: Path) -> None:
    write_text_atomic(path, junit_xml(doc))
