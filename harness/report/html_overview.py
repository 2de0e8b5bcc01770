"""The overview of the HTML report: producer runtimes as rows, consumer runtimes as
columns, one entry per pair (the page's script fills them in from the cell columns); the
runtimes that could not run collapsed to a line each; the selectors and filters."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Any

from harness.document.cell import first_line
from harness.document.results import ResultsDocument
from harness.report.html_sections import ordered
from harness.report.styles import TRANSITIONS
from harness.store.state import RuntimeState


def axes(doc: ResultsDocument, ids: Sequence[str]) -> dict[str, list[int]]:
    """Grid rows and columns as indexes of the page's runtime ids: the ready runtimes the
    cells name as producer (consumer), in document order, then any id that is no runtime
    (a check's user export); a runtime that is not ready has its own line instead."""
    ready = [r.id for r in doc.runtimes if r.state is RuntimeState.READY]
    known = {r.id for r in doc.runtimes}
    at = {rid: n for n, rid in enumerate(ids)}
    producers = {c.producer for c in doc.cells}
    consumers = {c.consumer for c in doc.cells}

    def side(named: set[str], seen: list[str]) -> list[int]:
        listed = [rid for rid in ready if rid in named]
        return [at[rid] for rid in ordered(listed, (x for x in seen if x not in known))]

    return {
        "rows": side(producers, [c.producer for c in doc.cells]),
        "cols": side(consumers, [c.consumer for c in doc.cells]),
    }


def collapsed(doc: ResultsDocument) -> list[dict[str, Any]]:
    """A runtime that is not ready, on one line: its state, why, and how many cells it took."""
    involved: collections.Counter[str] = collections.Counter()
    for c in doc.cells:
        involved[c.producer] += 1
        if c.consumer != c.producer:
            involved[c.consumer] += 1
    return [
        {
            "id": r.id,
            "state": r.state.value,
            "css": f"rt-{r.state.value}",
            "reason": first_line(r.reason) or "(no reason recorded)",
            "full": r.reason,
            "cells": involved[r.id],
        }
        for r in doc.runtimes
        if r.state is not RuntimeState.READY
    ]


def selectors(doc: ResultsDocument, summary: Sequence[dict[str, Any]], index: dict[str, Any]) -> list[dict[str, Any]]:
    """What the overview summarises (model, export mode, loader) and the cell filters
    (status, change); option values are indexes of the page's lists, or names for statuses."""

    def choices(name: str) -> list[tuple[str, str]]:
        return [(str(n), item) for n, item in enumerate(index[name])]

    statuses = [(s["status"], f"{s['status']} ({s['count']})") for s in summary if s["count"]]
    changes = [("@any", "any change"), *((kind, text) for kind, (_, text) in TRANSITIONS.items())]
    return [
        {"name": "model", "label": "model", "options": choices("models")},
        {"name": "export", "label": "export mode", "options": choices("exports")},
        {"name": "loader", "label": "loader", "options": choices("loaders")},
        {"name": "status", "label": "status", "options": [("@failure", "any unexpected failure"), *statuses]},
        {"name": "change", "label": "only changed", "options": [*changes, ("stale", "stale expectation")]},
    ]
