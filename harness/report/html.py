"""A results document -> one static, self-contained HTML report.

Everything the page needs is inside the file (inline CSS, inline JS, the data), so it opens
from file:// and can be attached to an issue. The first screen answers "does version X's
export run on version Y": the pair overview (html_overview). The cells themselves are data
(html_data), drawn by the page's script on demand, so the page costs the same few bytes per
cell at any scale; the sections whose size does not grow with the cells (html_sections) are
written as HTML. Errors, logs, expectation reasons and reproduce lines are untrusted text:
the template autoescapes, the script writes text with textContent only, and only http(s)
links ever become an href.
"""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from harness.document.results import ResultsDocument
from harness.report.html_data import page_data, script_json
from harness.report.html_overview import axes, collapsed, selectors
from harness.report.html_sections import (
    accuracy_view,
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
from harness.report.styles import MISSING, STALE_GLYPH, STYLES, TRANSITIONS
from harness.store.files import write_text_atomic

TEMPLATES = Path(__file__).parent / "templates"


def render_html(doc: ResultsDocument) -> str:
    """The whole report page for one results document."""
    data = page_data(doc)
    summary = summary_view(doc)
    runtimes = [runtime_view(rt) for rt in doc.runtimes]
    data.index.update(axes(doc, data.index["ids"]), missing=MISSING, stale_glyph=STALE_GLYPH)
    return _template().render(
        meta={
            "generated_at": doc.generated_at,
            "backend": doc.backend,
            "matrix": doc.matrix,
            "schema_version": doc.schema_version,
            "cells": len(doc.cells),
        },
        run={"id": doc.run.id, "previous_id": doc.run.previous_id or ""},
        styles=STYLES,
        missing=MISSING,
        transitions_legend=TRANSITIONS,
        stale_glyph=STALE_GLYPH,
        summary=summary,
        headline=headline(doc),
        runtime_counts=runtime_counts(doc.runtimes),
        changes=changes_view(doc),
        stale=stale_view(doc),
        infra=infra_view(doc),
        runtimes=runtimes,
        cpu_column=any(r["cpu_model"] or r["cpu_flags"] for r in runtimes),  # older documents: no column
        accuracy=accuracy_view(doc),
        collapsed=collapsed(doc),
        selectors=selectors(doc, summary, data.index),
        compat=compat_view(doc),
        trend=trend_view(doc),
        index_json=script_json(data.index),
        detail_blob=data.detail,
    )


def write_html(doc: ResultsDocument, path: Path) -> None:
    """Render and replace ``path`` atomically: a reader never sees half a report."""
    write_text_atomic(path, render_html(doc))


@functools.lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # errors and logs are untrusted text
        undefined=jinja2.StrictUndefined,  # a template typo fails loudly, not as a blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2")
