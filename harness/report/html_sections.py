"""The sections of the HTML report around the grid: summary and headline, what changed,
stale expectations, infrastructure, runtimes, "where do exports load?" and the trend."""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from harness.document.cell import Status, first_line
from harness.document.results import (
    EXPECTED,
    CompatRange,
    ResultsDocument,
    RuntimeEntry,
    StaleExpectation,
    TrendPoint,
)
from harness.report.compat import by_version
from harness.report.html_grid import ordered, runtime_mark
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

# --- summary


def summary_view(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Count per shown status: every status, zeros too, in legend order."""
    counts = frame["shown"].value_counts()
    groups = {status: name for name, members in SUMMARY_GROUPS for status in members}
    return [
        {"status": s, "css": css(s), "label": label(s), "count": int(counts.get(s, 0)), "group": groups[s]}
        for s in STYLES
    ]


def headline(summary: Sequence[dict[str, Any]]) -> dict[str, int]:
    """The ten-second line: failing (red) cells, expected ones, passes, and everything else apart."""
    by = {s["status"]: s["count"] for s in summary}
    return {
        "failing": sum(by[s] for s in FAILING),
        "expected": by[EXPECTED],
        "pass": by[Status.PASS.value],
        "not_run": sum(by[s] for s in NOT_RUN),
        "infra": by[INFRA],
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


def stale_view(doc: ResultsDocument, in_grid: set[int]) -> list[dict[str, Any]]:
    """Stale expectations, each with links to the cells that made it stale."""
    by_slug = {cell.slug: n for n, cell in enumerate(doc.cells) if n in in_grid}
    return [_stale_entry(entry, by_slug) for entry in doc.stale_expectations]


def _stale_entry(entry: StaleExpectation, by_slug: Mapping[str, int]) -> dict[str, Any]:
    return {
        "reason": entry.reason,
        "link": entry.link,
        "href": safe_link(entry.link),
        "expires": entry.expires,
        "selector": entry.selector,
        "why": entry.why_stale,
        "cells": [(slug, by_slug.get(slug)) for slug in entry.cells],
    }


def infra_view(doc: ResultsDocument, in_grid: set[int]) -> dict[str, Any]:
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
            # `first` links to the group's first cell that has a detail panel
            {"consumer": consumer, "error": error, "count": len(ns), "first": min(set(ns) & in_grid, default=None)}
            for (consumer, error), ns in groups.items()
        ],
    }


def runtime_view(runtime: RuntimeEntry) -> dict[str, Any]:
    fp = runtime.fingerprint  # None when the runtime never started
    return {
        **runtime_mark(runtime.id, {runtime.id: runtime}),
        "requirement": f"{runtime.package}=={runtime.version}",
        "device": runtime.device,
        "python": runtime.python,
        "python_actual": fp.python if fp else "",
        "commit": fp.paddle_commit if fp else "",
        "numpy": fp.numpy if fp else "",
        "packages": list(fp.packages) if fp else [],
    }


# --- where do exports load?


def compat_view(doc: ResultsDocument) -> dict[str, Any] | None:
    """Rows producer, columns export mode, oldest -> newest consumer."""
    entries = doc.compat_ranges
    if not entries:
        return None
    index = {(e.producer, e.export): e for e in entries}
    named_producers, named_modes = {k[0] for k in index}, {k[1] for k in index}
    producers = ordered([r.id for r in doc.runtimes if r.id in named_producers], (k[0] for k in index))
    modes = ordered([m.id for m in doc.export_modes if m.id in named_modes], (k[1] for k in index))
    order = [r.id for r in by_version(doc.runtimes)]
    # The untested runtimes are usually the same for every entry: said once above the table.
    common = [r for r in entries[0].not_tested if all(r in e.not_tested for e in entries)]
    return {
        "modes": modes,
        "not_tested": common,
        "rows": [
            {"producer": p, "cells": [range_view(index.get((p, m)), order, common) for m in modes]} for p in producers
        ],
    }


def range_view(entry: CompatRange | None, order: Sequence[str], said: Sequence[str]) -> dict[str, Any] | None:
    if entry is None:
        return None
    oldest, newest = entry.oldest or "", entry.newest or ""
    # Consumers between oldest and newest that were tested and do not load it: a range is
    # only a range if it has no holes, so the holes are named.
    span = order[order.index(oldest) : order.index(newest) + 1] if oldest in order and newest in order else []
    gaps = [c for c in span if c not in entry.loads_in and c not in entry.not_tested]
    if not entry.loads_in:
        text, style = "loads nowhere", "cr-none"
    else:
        text, style = (oldest if oldest == newest else f"{oldest} → {newest}"), ("cr-gaps" if gaps else "cr-ok")
    title = [f"loads in: {', '.join(entry.loads_in) or 'none'}"]
    if gaps:
        title.append(f"does not load in: {', '.join(gaps)}")
    if entry.not_tested:
        title.append(f"not tested: {', '.join(entry.not_tested)}")
    if entry.export_status != "ok":
        title.append(f"export: {entry.export_status}")
    return {
        "text": text,
        "css": style,
        "gaps": gaps,
        "not_tested": [r for r in entry.not_tested if r not in said],
        "export_status": "" if entry.export_status == "ok" else entry.export_status,
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
        table = pd.DataFrame([p.counts for p in points]).fillna(0).astype(int)
        seen = set(map(str, table.columns))
        statuses = [s for s in STYLES if s in seen] + sorted(seen - set(STYLES))
        rows = table.reindex(columns=statuses, fill_value=0).to_numpy().tolist()
        runs = [_trend_run(point, [int(n) for n in row], statuses) for point, row in zip(points, rows)]
        views.append(
            {
                "runtime": runtime,
                "statuses": [{"status": s, "css": css(s), "label": label(s)} for s in statuses],
                "runs": runs,
            }
        )
    return views


def _trend_run(point: TrendPoint, counts: list[int], statuses: list[str]) -> dict[str, Any]:
    total = sum(counts)
    return {
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
