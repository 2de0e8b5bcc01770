"""The one writer entry point: a results document -> reports/{results.json, index.html,
junit.xml, summary.md}, after adding history (transitions, trend) when there is one."""

from __future__ import annotations

from pathlib import Path

from harness.config.matrix import Matrix
from harness.document.results import ResultsDocument, write_document
from harness.report.collect import collect
from harness.report.history import add_history
from harness.report.html import write_html
from harness.report.junit import write_junit
from harness.report.markdown import write_markdown
from harness.store.layout import Workspace

OUTPUTS = ("results.json", "index.html", "junit.xml", "summary.md")


def publish(
    doc: ResultsDocument, out_dir: Path, history_path: Path | None, extra_markdown: str = ""
) -> ResultsDocument:
    """Add history (unless ``history_path`` is None), write every output to ``out_dir`` and
    return the document as written. ``extra_markdown`` is appended to summary.md (a check
    report's own section)."""
    if history_path is not None:
        doc = add_history(doc, history_path, doc.tolerances.score_atol)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_document(doc, out_dir / "results.json")
    write_html(doc, out_dir / "index.html")
    write_junit(doc, out_dir / "junit.xml")
    write_markdown(doc, out_dir / "summary.md", extra_markdown)
    return doc


def write_reports(matrix: Matrix, ws: Workspace, out_dir: Path, history_path: Path | None = None) -> ResultsDocument:
    """The matrix report from the work directory alone: collect + publish."""
    return publish(collect(matrix, ws), out_dir, history_path)
