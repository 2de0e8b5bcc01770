"""The matrix grid of the HTML report: rows producer x model x export mode, columns consumer
x loader, laid out with a pandas pivot of the cells; its header, body rows and filter bar."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness.document.results import ResultsDocument, RuntimeEntry
from harness.report.frame import COL_KEYS, ROW_KEYS, first_seen
from harness.report.styles import TRANSITIONS

Row = tuple[str, str, str]  # (producer, model, export)
Column = tuple[str, str]  # (consumer, loader)


@dataclass(frozen=True)
class Layout:
    rows: list[Row]  # in document order
    cols: list[Column]
    grid: list[list[int | None]]  # the cell index at each position; None where no cell reported it

    @property
    def shown(self) -> list[int]:
        return sorted(n for line in self.grid for n in line if n is not None)


def layout(doc: ResultsDocument, frame: pd.DataFrame) -> Layout:
    runtime_ids = [r.id for r in doc.runtimes]
    producers = set(first_seen(frame, "producer"))
    # Rows only for runtimes that produced something: a `check` report has one producer
    # (the user's export), not one empty row per runtime.
    listed = [r for r in runtime_ids if r in producers] if producers else runtime_ids
    rows = list(
        itertools.product(
            ordered(listed, first_seen(frame, "producer")),
            ordered(doc.models, first_seen(frame, "model")),
            ordered([m.id for m in doc.export_modes], first_seen(frame, "export")),
        )
    )
    cols = list(
        itertools.product(
            ordered(runtime_ids, first_seen(frame, "consumer")),
            ordered([ld.id for ld in doc.loaders], first_seen(frame, "loader")),
        )
    )
    return Layout(rows, cols, pivot(frame, rows, cols))


def ordered(listed: Iterable[str], seen: Iterable[str]) -> list[str]:
    """Ids in document order, then any id only a cell names, so no cell is dropped."""
    order = list(dict.fromkeys(listed))
    known = set(order)
    return order + [x for x in dict.fromkeys(seen) if x not in known]


def pivot(frame: pd.DataFrame, rows: Sequence[Row], cols: Sequence[Column]) -> list[list[int | None]]:
    """Cell indexes laid out rows x cols; None where no cell reported that position."""
    # A cell reported twice would make pivot fail; the later one is the newer result.
    unique = frame.drop_duplicates(ROW_KEYS + COL_KEYS, keep="last")
    table = unique.pivot(index=ROW_KEYS, columns=COL_KEYS, values="n").reindex(
        index=pd.MultiIndex.from_tuples(rows, names=ROW_KEYS),
        columns=pd.MultiIndex.from_tuples(cols, names=COL_KEYS),
    )
    return [[None if pd.isna(n) else int(n) for n in line] for line in table.itertuples(index=False)]


def runtime_mark(runtime_id: str, runtimes: Mapping[str, RuntimeEntry]) -> dict[str, Any]:
    """A runtime's header: not-ready runtimes get a class, a "(state)" note and the reason.
    A producer that is not a runtime (a check's user export) has no state."""
    runtime = runtimes.get(runtime_id)
    state = runtime.state.value if runtime else ""
    return {
        "id": runtime_id,
        "state": state,
        "css": f"rt-{state}" if runtime else "rt-unknown",
        "marked": state not in ("", "ready"),
        "reason": runtime.reason if runtime else "",
    }


def header(cols: Sequence[Column], runtimes: Mapping[str, RuntimeEntry]) -> list[dict[str, Any]]:
    """First header row: each consumer runtime once, spanning its loaders."""
    spans = [(consumer, len(list(group))) for consumer, group in itertools.groupby(c for c, _ in cols)]
    return [{**runtime_mark(consumer, runtimes), "span": span} for consumer, span in spans]


def body(
    grid: Layout, views: Mapping[int, dict[str, Any]], runtimes: Mapping[str, RuntimeEntry]
) -> list[dict[str, Any]]:
    """Grid rows. Every row carries its producer and model header (no rowspan), so a filter
    can hide any row; a repeat of the row above is marked `dup` and drawn faint."""
    out = []
    previous: tuple[str, ...] = ()
    for (producer, model, export), line in zip(grid.rows, grid.grid):
        out.append(
            {
                "producer": runtime_mark(producer, runtimes),
                "model": model,
                "export": export,
                "dup_producer": previous[:1] == (producer,),
                "dup_model": previous[:2] == (producer, model),
                "cells": [None if n is None else views[n] for n in line],
            }
        )
        previous = (producer, model, export)
    return out


def filters(grid: Layout, summary: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The filter bar: one select per key; status and change filter cells, the others rows/columns."""

    def unique(values: Iterable[str]) -> list[tuple[str, str]]:
        return [(v, v) for v in dict.fromkeys(values)]

    statuses = [(s["status"], f"{s['status']} ({s['count']})") for s in summary if s["count"]]
    changes = [("@any", "any change"), *((kind, text) for kind, (_, text) in TRANSITIONS.items())]
    rows, cols = grid.rows, grid.cols
    return [
        {"name": "producer", "label": "producer", "options": unique(r[0] for r in rows)},
        {"name": "model", "label": "model", "options": unique(r[1] for r in rows)},
        {"name": "export", "label": "export mode", "options": unique(r[2] for r in rows)},
        {"name": "consumer", "label": "consumer", "options": unique(c[0] for c in cols)},
        {"name": "loader", "label": "loader", "options": unique(c[1] for c in cols)},
        {"name": "status", "label": "status", "options": [("@failure", "any failure (red)"), *statuses]},
        {"name": "change", "label": "only changed", "options": [*changes, ("stale", "stale expectation")]},
    ]
