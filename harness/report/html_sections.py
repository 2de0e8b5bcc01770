"""The sections of the HTML report that are written into the page (their size does not grow
with the cells): the headline and summary, what changed, stale expectations,
infrastructure, runtimes, accuracy, "where do exports load?" and the trend."""

from __future__ import annotations

import collections
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness.document.cell import Stage, Status, first_line
from harness.document.results import EXPECTED, CompatRange, ResultsDocument, RuntimeEntry, StaleExpectation
from harness.report.accuracy import cpu_of, has_accuracy, quantized, summary_rows
from harness.report.compat import by_version
from harness.report.styles import (
    FAILING,
    INFRA,
    NOT_RUN,
    RUNTIME_STATES,
    STYLES,
    SUMMARY_GROUPS,
    TRANSITIONS,
    css,
    label,
    safe_link,
    short_time,
)

STALE_LINKS = 12  # cells linked per stale expectation; the "stale" filter lists them all
EXPORT_STAGES = (Stage.EXPORT, Stage.REFERENCE)


def ordered(listed: Iterable[str], seen: Iterable[str]) -> list[str]:
    """Ids in document order, then any id only a cell names, so nothing is dropped."""
    order = list(dict.fromkeys(listed))
    known = set(order)
    return order + [x for x in dict.fromkeys(seen) if x not in known]


# --- summary


def summary_view(doc: ResultsDocument) -> list[dict[str, Any]]:
    """Count per shown status: every status, zeros too, in legend order."""
    counts = collections.Counter(c.shown_as for c in doc.cells)
    groups = {status: name for name, members in SUMMARY_GROUPS for status in members}
    return [
        {"status": s, "css": css(s), "label": label(s), "count": counts.get(s, 0), "group": groups[s]} for s in STYLES
    ]


def headline(doc: ResultsDocument) -> dict[str, int]:
    """The ten-second line. Unexpected failures apart from expected ones; a failed export
    counted once (not once per consumer and loader that could not load it); what did not run
    and infrastructure apart from both."""
    by = collections.Counter(c.shown_as for c in doc.cells)
    failing = set(FAILING)
    at_export = [c for c in doc.cells if c.shown_as in failing and c.stage in EXPORT_STAGES]
    exports = {(c.producer, c.model, c.export) for c in at_export}
    cells = sum(by[s] for s in FAILING) - len(at_export)
    return {
        "unexpected": cells + len(exports),
        "cells": cells,
        "exports": len(exports),
        "export_cells": len(at_export),
        "expected": by[EXPECTED],
        "pass": by[Status.PASS.value],
        "flaky": by[Status.FLAKY.value],
        "not_run": sum(by[s] for s in NOT_RUN),
        "infra_runtimes": len(doc.infra.runtimes),
        "infra_cells": by[INFRA],
    }


def runtime_counts(runtimes: Sequence[RuntimeEntry]) -> list[tuple[str, int]]:
    counts = collections.Counter(rt.state.value for rt in runtimes)
    return [(state, counts[state]) for state in RUNTIME_STATES]


def changes_view(doc: ResultsDocument) -> dict[str, Any]:
    """The "since last night" line."""
    t = doc.transitions
    counts = [
        {"kind": kind, "glyph": glyph, "label": text, "count": getattr(t, kind)}
        for kind, (glyph, text) in TRANSITIONS.items()
    ]
    return {
        "previous_id": t.previous_run.id if t.previous_run else "",
        "previous_at": t.previous_run.generated_at if t.previous_run else "",
        "counts": counts,
        "total": sum(c["count"] for c in counts),
    }


def stale_view(doc: ResultsDocument) -> list[dict[str, Any]]:
    """Stale expectations, each with links to (the first of) the cells that made it stale."""
    wanted = {slug for entry in doc.stale_expectations for slug in entry.cells[:STALE_LINKS]}
    by_slug = {cell.slug: n for n, cell in enumerate(doc.cells) if wanted and cell.slug in wanted}
    return [_stale_entry(entry, by_slug) for entry in doc.stale_expectations]


def _stale_entry(entry: StaleExpectation, by_slug: Mapping[str, int]) -> dict[str, Any]:
    return {
        "reason": entry.reason,
        "link": entry.link,
        "href": safe_link(entry.link),
        "expires": entry.expires,
        "selector": entry.selector,
        "why": entry.why_stale,
        "cells": [(slug, by_slug.get(slug)) for slug in entry.cells[:STALE_LINKS]],
        "more": max(0, len(entry.cells) - STALE_LINKS),
    }


def infra_view(doc: ResultsDocument) -> dict[str, Any]:
    """Infrastructure, apart from incompatibilities: runtimes that could not be built, and the
    cells the harness could not judge, grouped by consumer and error line."""
    groups: dict[tuple[str, str], list[int]] = {}
    for n, cell in enumerate(doc.cells):
        if cell.status is Status.INFRA_ERROR:
            groups.setdefault((cell.consumer, first_line(cell.error)), []).append(n)
    return {
        "problems": [{"runtime": p.runtime, "state": p.state.value, "reason": p.reason} for p in doc.infra.runtimes],
        "cells": sum(len(ns) for ns in groups.values()),
        "groups": [
            {"consumer": consumer, "error": error, "count": len(ns), "first": ns[0]}
            for (consumer, error), ns in groups.items()
        ],
    }


def runtime_view(runtime: RuntimeEntry) -> dict[str, Any]:
    fp = runtime.fingerprint  # None when the runtime never started
    state = runtime.state.value
    cpu_model, cpu_flags = cpu_of(runtime) or ("", [])
    return {
        "id": runtime.id,
        "state": state,
        "css": f"rt-{state}",
        "reason": runtime.reason,
        # A deployment consumer holds exactly its packages (its tool pinned among them).
        "requirement": " ".join(runtime.pins) if runtime.deployment else runtime.wheel,
        "image": image_line(runtime),
        "tool": runtime.tool,
        "device": runtime.device,
        "python": runtime.python,
        "python_actual": fp.python if fp else "",
        "commit": fp.paddle_commit if fp else "",
        "numpy": fp.numpy if fp else "",
        "packages": list(fp.packages) if fp else [],
        # the instruction sets oneDNN's INT8 kernels depend on (recorded by newer harnesses)
        "cpu_model": cpu_model,
        "cpu_flags": cpu_flags,
    }


def image_line(runtime: RuntimeEntry) -> str:
    """`2072 MB image, built in 95 s` for a runtime the docker backend built."""
    if runtime.image_size is None:
        return ""
    built = f", built in {runtime.image_build_s:.0f} s" if runtime.image_build_s is not None else ""
    return f"{runtime.image_size / 1e6:.0f} MB image{built}"


# --- accuracy


def accuracy_view(doc: ResultsDocument) -> dict[str, Any] | None:
    """The mAP per model and precision, and quantized vs FP32 per producer runtime; None
    (no section) for a document without precision data."""
    if not has_accuracy(doc):
        return None
    return {"rows": summary_rows(doc), "quantized": quantized(doc), "map_drop": doc.tolerances.map_drop}


# --- where do exports load?


def compat_view(doc: ResultsDocument) -> dict[str, Any] | None:
    """Rows producer x model, columns export mode: oldest -> newest consumer where that
    model's export loads (an entry without a model, from an older file: every model)."""
    entries = doc.compat_ranges
    if not entries:
        return None
    index = {(e.producer, e.model, e.export): e for e in entries}
    producers = ordered([r.id for r in doc.runtimes if any(k[0] == r.id for k in index)], (k[0] for k in index))
    models = ordered([m for m in doc.models if any(k[1] == m for k in index)], (k[1] for k in index))
    modes = ordered([m.id for m in doc.export_modes if any(k[2] == m.id for k in index)], (k[2] for k in index))
    order = [r.id for r in by_version(doc.runtimes)]
    # The untested runtimes are usually the same for every entry: said once above the table.
    common = [r for r in entries[0].not_tested if all(r in e.not_tested for e in entries)]
    rows = []
    for producer in producers:
        lines = [m for m in models if any((producer, m, mode) in index for mode in modes)]
        for n, model in enumerate(lines):
            cells = [range_view(index.get((producer, model, mode)), order, common) for mode in modes]
            rows.append({"producer": producer, "model": model, "span": len(lines) if n == 0 else 0, "cells": cells})
    return {"modes": modes, "not_tested": common, "rows": rows}


def range_view(entry: CompatRange | None, order: Sequence[str], said: Sequence[str]) -> dict[str, Any] | None:
    if entry is None:
        return None
    oldest, newest = entry.oldest or "", entry.newest or ""
    # Consumers between oldest and newest that were tested and do not load it: a range is
    # only a range if it has no holes, so the holes are named.
    span = order[order.index(oldest) : order.index(newest) + 1] if oldest in order and newest in order else []
    gaps = [c for c in span if c not in entry.loads_in and c not in entry.not_tested]
    exported = entry.export_status == "ok"
    if not entry.loads_in:
        text, style = ("loads nowhere" if exported else "not exported"), "cr-none"
    else:
        text, style = (oldest if oldest == newest else f"{oldest} → {newest}"), ("cr-gaps" if gaps else "cr-ok")
    title = [f"loads in: {', '.join(entry.loads_in) or 'none'}"]
    if gaps:
        title.append(f"does not load in: {', '.join(gaps)}")
    if entry.not_tested:
        title.append(f"not tested: {', '.join(entry.not_tested)}")
    if not exported:
        title.append(f"export: {entry.export_status}")
    if entry.deploys_in:
        title.append(f"deploys in: {', '.join(entry.deploys_in)}")
    return {
        "text": text,
        "css": style,
        "gaps": gaps,
        "not_tested": [r for r in entry.not_tested if r not in said],
        "export_status": "" if exported else entry.export_status,
        "deploys": list(entry.deploys_in),
        "title": "\n".join(title),
    }


# --- trend


def trend_view(doc: ResultsDocument) -> list[dict[str, Any]]:
    """Per consumer runtime, counts per shown status over the last runs (oldest first)."""
    views = []
    for runtime in ordered([r.id for r in doc.runtimes if r.id in doc.trend], doc.trend):
        points = doc.trend[runtime]
        if not points:
            continue
        seen = {s for p in points for s in p.counts}
        statuses = [s for s in STYLES if s in seen] + sorted(seen - set(STYLES))
        runs = []
        for point in points:
            counts = [point.counts.get(s, 0) for s in statuses]
            total = sum(counts)
            runs.append(
                {
                    "id": point.run_id,
                    "at": point.generated_at,
                    "short": short_time(point.generated_at) or point.run_id[:13],
                    "total": total,
                    "counts": counts,
                    # bar segments, bottom-up: percentages of this run's cells
                    "segments": [
                        {"status": s, "css": css(s), "count": n, "pct": round(100 * n / total, 2)}
                        for s, n in zip(statuses, counts)
                        if n and total
                    ],
                }
            )
        views.append(
            {
                "runtime": runtime,
                "statuses": [{"status": s, "css": css(s), "label": label(s)} for s in statuses],
                "runs": runs,
            }
        )
    return views
