"""One cell of the HTML report: its grid entry, tooltip and detail panel, and the export
fingerprints the panels share (one per export, not one per cell)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.document.cell import first_line
from harness.document.results import (
    KEY_FIELDS,
    Cell,
    CellExpectation,
    DocumentError,
    ExportEntry,
    ResultsDocument,
    RuntimeEntry,
    Workaround,
)
from harness.report.styles import MISSING, TRANSITIONS, css, label, on_off, safe_link, size, value

TOOLTIP_ERROR_CHARS = 300  # a tooltip is a glance; the detail panel has the whole error
EXPORT_DETAIL = "export_"  # what an export failure left in a cell's details
Triple = tuple[str, str, str]  # (producer, model, export)


def triple(cell: Cell) -> Triple:
    return (cell.producer, cell.model, cell.export)


def cell_view(
    n: int, cell: Cell, runtimes: Mapping[str, RuntimeEntry], fingerprints: Mapping[Triple, dict[str, Any]]
) -> dict[str, Any]:
    status = cell.status.value
    transition = transition_view(cell)
    expectation = expectation_view(cell.expectation) if cell.expectation else None
    fingerprint = fingerprints.get(triple(cell))
    return {
        "n": n,
        "key": {k: getattr(cell, k) for k in KEY_FIELDS},
        "slug": cell.slug,
        "status": status,
        "shown": cell.shown_as,
        "css": css(cell.shown_as),
        "real_css": css(status),
        "real_label": label(status),
        "label": label(cell.shown_as),
        "stage": cell.stage.value if cell.stage else "",
        "error": cell.error,
        "log": cell.log,
        "max_abs_diff": value(cell.max_abs_diff),
        "duration": value(cell.duration_s),
        # reproduce has its own copyable block; every other detail is a row of the numbers table
        "numbers": [(k, value(v)) for k, v in cell.details.items() if k not in ("reproduce", "repro")],
        "reproduce": str(cell.details.get("reproduce") or ""),
        "repro": str(cell.details.get("repro") or ""),
        "transition": transition,
        "expectation": expectation,
        "stale": bool(expectation and expectation["stale"]),
        "fingerprint": fingerprint["id"] if fingerprint else None,
        "consumer_fp": paddle_fp(runtimes.get(cell.consumer)),
        "title": tooltip(cell, transition, expectation),
        "workarounds": [workaround_view(w) for w in cell.workarounds or []],
    }


def workaround_view(tried: Workaround) -> dict[str, str]:
    """What `diagnose` tried on this cell, with the status it reached."""
    status = tried.status.value
    name, error = tried.workaround, first_line(tried.error)
    return {"name": name, "status": status, "css": css(status), "label": label(status), "error": error}


def transition_view(cell: Cell) -> dict[str, str] | None:
    if cell.transition is None:
        return None
    glyph, text = TRANSITIONS[cell.transition]
    previous = cell.previous
    return {
        "kind": cell.transition,
        "glyph": glyph,
        "label": text,
        "previous_status": previous.status.value if previous else "",
        "previous_diff": value(previous.max_abs_diff if previous else None),
    }


def expectation_view(exp: CellExpectation) -> dict[str, Any]:
    return {
        "reason": exp.reason,
        "link": exp.link,
        "href": safe_link(exp.link),
        "expires": exp.expires,
        "selector": exp.selector,
        "stale": exp.stale or "",
    }


def tooltip(cell: Cell, transition: dict[str, str] | None, expectation: dict[str, Any] | None) -> str:
    status, shown = cell.status.value, cell.shown_as
    line = first_line(cell.error)
    if len(line) > TOOLTIP_ERROR_CHARS:
        line = line[:TOOLTIP_ERROR_CHARS] + "…"
    parts = [f"status: {shown} ({status})" if shown != status else f"status: {status}"]
    parts.append(f"stage: {cell.stage.value if cell.stage else MISSING}")
    if line:
        parts.append(f"error: {line}")
    parts.append(f"max_abs_diff: {value(cell.max_abs_diff)}")
    if transition:
        parts.append(f"{transition['label']} (was {transition['previous_status'] or MISSING})")
    if expectation:
        parts.append(f"expected: {expectation['reason']}")
        if expectation["stale"]:
            parts.append(f"stale expectation: {expectation['stale']}")
    if cell.fixed_by:
        parts.append("fixed by: " + "; ".join(cell.fixed_by))
    return "\n".join(parts)


def paddle_fp(runtime: RuntimeEntry | None) -> dict[str, Any]:
    """A runtime's fingerprint with every key present (the runtime may never have started)."""
    fp = runtime.fingerprint if runtime else None
    if fp is None:
        return {"paddle_version": "", "paddle_commit": "", "python": "", "numpy": "", "packages": []}
    known = {k: getattr(fp, k) for k in ("paddle_version", "paddle_commit", "python", "numpy")}
    return {**known, "packages": list(fp.packages)}


# ---------------------------------------------------------------- export fingerprints


def export_fingerprints(
    doc: ResultsDocument, shown: Sequence[int], runtimes: Mapping[str, RuntimeEntry]
) -> dict[Triple, dict[str, Any]]:
    """One fingerprint per export in the grid, written once as its own panel: every consumer
    and loader of an export shares it, and a copy per cell made up a third of a full report."""
    records = {(e.producer, e.model, e.export): e for e in doc.exports}
    by_export: dict[Triple, list[Cell]] = {}
    for cell in (doc.cells[n] for n in shown):
        by_export.setdefault(triple(cell), []).append(cell)
    found: dict[Triple, dict[str, Any]] = {}
    for key, group in by_export.items():
        record = records.get(key)
        view = export_view(record or from_details(group), record is not None, runtimes.get(key[0]))
        producer = view["producer"]
        if view["recorded"] or view["status"] or view["files"] or producer["paddle_version"] or producer["packages"]:
            found[key] = {**view, "id": f"export-{len(found)}", "key": dict(zip(("producer", "model", "export"), key))}
    return found


def from_details(group: Sequence[Cell]) -> ExportEntry | None:
    """Without an `exports` record, what an export failure left in a cell's details is the
    record; cells whose consumer never ran (unavailable, skipped) have none, so look for one that has."""
    for cell in group:
        evidence = {k[len(EXPORT_DETAIL) :]: v for k, v in cell.details.items() if k.startswith(EXPORT_DETAIL)}
        if not evidence:
            continue
        data = {**evidence, "producer": cell.producer, "model": cell.model, "export": cell.export}
        try:
            return ExportEntry.from_json({**data, "status": ""}, "cell details", f"{cell.slug}.details")
        except DocumentError:
            continue  # evidence of an unexpected shape: shown in the numbers table, not here
    return None


def export_view(entry: ExportEntry | None, recorded: bool, producer: RuntimeEntry | None) -> dict[str, Any]:
    """The export's fingerprint, plus the producer runtime's Paddle and pip freeze."""
    e = entry or ExportEntry("", "", "", "")
    return {
        "recorded": recorded,
        "status": e.status,
        "error": (e.error or "") if recorded else "",
        "program_file": e.program_file or "",
        "program_format": e.program_format or "",
        "pir_api": on_off(e.pir_api),
        "paddle_version": e.paddle_version or "",
        "files": [(name, size(n)) for name, n in (e.files or {}).items()],
        "params_sha256": e.params_sha256 or "",
        "to_static_kwargs": value(e.to_static_kwargs) if e.to_static_kwargs is not None else "",
        "static_function": e.static_function or "",
        "warnings": list(e.warnings or []),
        "producer": paddle_fp(producer),
    }
