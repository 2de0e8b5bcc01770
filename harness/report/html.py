"""A results document -> one static, self-contained HTML report.

Everything the page needs is inside the file (inline CSS, a little inline JS, no fonts or
scripts from elsewhere), so it opens from file:// and can be attached to an issue. Errors,
logs, expectation reasons, reproduce commands and pip freeze lines are untrusted text: the
template is rendered with autoescape on, nothing here marks a string as safe, and only
http(s) links ever become an href.

The document was validated once when it was read or assembled, so the views below read
its fields as they are. Views: html_grid (the matrix), html_cell (a cell and its export's
fingerprint), html_sections (everything around the grid).
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from harness.document.results import ResultsDocument
from harness.report import html_grid
from harness.report.frame import cell_frame
from harness.report.html_cell import cell_view, export_fingerprints
from harness.report.html_sections import (
    changes_view,
    compat_view,
    headline,
    infra_view,
    runtime_counts,
    runtime_view,
    stale_view,
    summary_view,
    trend_view,
)
from harness.report.styles import FAILING, MISSING, STALE_GLYPH, STYLES, TRANSITIONS
from harness.store.files import write_text_atomic

TEMPLATES = Path(__file__).parent / "templates"


def render_html(doc: ResultsDocument) -> str:
    """The whole report page for one results document."""
    frame = cell_frame(doc.cells)
    runtimes = {rt.id: rt for rt in doc.runtimes}
    grid = html_grid.layout(doc, frame)
    shown = grid.shown
    fingerprints = export_fingerprints(doc, shown, runtimes)
    views = {n: cell_view(n, doc.cells[n], runtimes, fingerprints) for n in shown}
    summary = summary_view(frame)
    positions = len(grid.rows) * len(grid.cols)
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            meta={
                "generated_at": doc.generated_at,
                "backend": doc.backend,
                "matrix": doc.matrix,
                "schema_version": doc.schema_version,
            },
            run={"id": doc.run.id, "previous_id": doc.run.previous_id or ""},
            styles=STYLES,
            missing=MISSING,
            transitions_legend=TRANSITIONS,
            stale_glyph=STALE_GLYPH,
            summary=summary,
            headline=headline(summary),
            runtime_counts=runtime_counts(doc.runtimes),
            changes=changes_view(doc),
            stale=stale_view(doc, set(shown)),
            infra=infra_view(doc, set(shown)),
            positions=positions,
            empty_positions=positions - len(shown),
            dropped=len(doc.cells) - len(shown),  # reported twice for one position
            runtimes=[runtime_view(rt) for rt in doc.runtimes],
            filters=html_grid.filters(grid, summary),
            failing=FAILING,
            header=html_grid.header(grid.cols, runtimes),
            columns=[{"consumer": consumer, "loader": loader} for consumer, loader in grid.cols],
            body=html_grid.body(grid, views, runtimes),
            compat=compat_view(doc),
            trend=trend_view(doc),
            details=[views[n] for n in shown],
            fingerprints=list(fingerprints.values()),
        )
    )


def write_html(doc: ResultsDocument, path: Path) -> None:
    """Render and replace ``path`` atomically: a reader never sees half a report."""
    write_text_atomic(path, render_html(doc))


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # errors and logs are untrusted text
        undefined=jinja2.StrictUndefined,  # a template typo fails loudly, not as a blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
