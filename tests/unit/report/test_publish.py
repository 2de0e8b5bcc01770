"""publish: the one writer entry point, for the matrix report (write_reports) and for any
other assembled document (a check report passes its own Markdown section)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from harness.config.matrix import load_matrix
from harness.config.plan import planned_cells
from harness.document.results import read_document
from harness.report.html import render_html
from harness.report.junit import junit_xml
from harness.report.markdown import markdown
from harness.report.publish import OUTPUTS, publish, write_reports
from harness.store.layout import Workspace
from tests.unit.report.data import DATA, V2, raw, typed

MATRIX = load_matrix(DATA / "matrix-small.yaml")


def test_publish_writes_every_output_from_the_one_document(tmp_path: Path) -> None:
    doc = typed(raw(V2))
    out = tmp_path / "reports"
    written = publish(doc, out, None, extra_markdown="## Check\n\n- cpu-3.3.1: loads and runs\n")
    assert written == doc  # no history asked for: nothing added
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)  # no history file, no temp files
    assert read_document(out / "results.json") == dataclasses.replace(doc, schema_version=2)  # written as schema 2
    assert (out / "index.html").read_text(encoding="utf-8") == render_html(doc)
    assert (out / "junit.xml").read_text(encoding="utf-8") == junit_xml(doc)
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert summary == markdown(doc) + "## Check\n\n- cpu-3.3.1: loads and runs\n"


def test_write_reports_is_collect_then_publish(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    doc = write_reports(MATRIX, Workspace(tmp_path / "work"), out, out / "history.sqlite")
    assert doc.summary == {"infra_error": len(planned_cells(MATRIX))}
    assert read_document(out / "results.json") == doc and doc.schema_version == 2
    assert (out / "index.html").read_text(encoding="utf-8").count("<html") == 1
    assert (out / "history.sqlite").exists() and doc.trend and doc.transitions.previous_run is None
