"""The data the report page renders from, at a flat cost per cell.

Two blobs go into the page. The *index* (plain JSON): every cell as one entry in each of a
few columns of small integers (runtime, model, export mode, loader, status, stage, change,
expectation; ids index the lists beside them) plus its error, interned; the overview, the
drill-down, the filters and the cell list need nothing else. The *detail* (JSON,
raw-deflated, base64): what a detail panel shows (logs, evidence, reproduce lines, upstream
reports, fingerprints), every shared text kept once; the page's script inflates it with the
browser's own DecompressionStream when a panel first opens. No network, no per-cell markup.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from harness.document.cell import CellKey, Stage
from harness.document.results import ResultsDocument
from harness.report.collect import repro_command
from harness.report.html_cell import (
    HIDDEN_DETAILS,
    cell_detail,
    expectation_view,
    export_records,
    export_views,
    fingerprints,
    triple,
    upstream_for,
)
from harness.report.styles import STYLES, TRANSITIONS, WORST_FIRST

K = TypeVar("K", bound=Hashable)
STAGES = ["", *(s.value for s in Stage)]
CHANGES = ["", *TRANSITIONS]


class Interned(Generic[K]):
    """Values kept once, in first-seen order; a value's index stands for it."""

    def __init__(self, items: Iterable[K] = ()) -> None:
        self.index: dict[K, int] = {}
        for item in items:
            self(item)

    def __call__(self, item: K) -> int:
        return self.index.setdefault(item, len(self.index))

    def column(self, values: Iterable[K]) -> list[int]:
        """The index of each value (the fast path for a column of many cells)."""
        get, index = self.index.get, self.index
        return [n if (n := get(v)) is not None else index.setdefault(v, len(index)) for v in values]

    @property
    def items(self) -> list[K]:
        return list(self.index)


@dataclass(frozen=True)
class PageData:
    index: dict[str, Any]  # the page's plain JSON
    detail: str  # base64 of the raw-deflated detail JSON


def page_data(doc: ResultsDocument) -> PageData:
    cells = doc.cells
    ids = Interned(r.id for r in doc.runtimes)
    statuses = Interned(STYLES)
    stages, changes = Interned(STAGES), Interned(CHANGES)
    models, modes = Interned(doc.models), Interned(m.id for m in doc.export_modes)
    loaders, errors = Interned(ld.id for ld in doc.loaders), Interned([""])
    expectations: Interned[tuple[tuple[str, Any], ...]] = Interned()
    expectation_ids = {
        id(e): 1 + expectations(tuple(expectation_view(e).items())) for c in cells if (e := c.expectation)
    }
    cols = {
        "p": ids.column(c.producer for c in cells),
        "m": models.column(c.model for c in cells),
        "e": modes.column(c.export for c in cells),
        "c": ids.column(c.consumer for c in cells),
        "l": loaders.column(c.loader for c in cells),
        "s": statuses.column(c.status.value for c in cells),
        "x": statuses.column(c.shown_as for c in cells),
        "g": stages.column(c.stage.value if c.stage else "" for c in cells),
        "r": errors.column(c.error for c in cells),
        "d": [None if (v := c.max_abs_diff) is None else float(f"{v:.4g}") for c in cells],
        "t": changes.column(c.transition or "" for c in cells),
        "q": [expectation_ids[id(c.expectation)] if c.expectation else 0 for c in cells],
    }
    runtimes = {rt.id: rt for rt in doc.runtimes}
    key = CellKey("{producer}", "{model}", "{export}", "{consumer}", "{loader}")
    index = {
        "ids": ids.items,
        "runtimes": [_runtime(runtimes.get(rid)) for rid in ids.items],
        "models": models.items,
        "exports": modes.items,
        "loaders": loaders.items,
        "statuses": statuses.items,
        "labels": [STYLES[st].label if st in STYLES else st[:5] for st in statuses.items],
        "worst": [statuses(st) for st in WORST_FIRST],
        "stages": stages.items,
        "changes": [[kind, *TRANSITIONS.get(kind, ("", ""))] for kind in changes.items],
        "errors": errors.items,
        "expectations": [dict(item) for item in expectations.items],
        "repro": repro_command(key),
        "cells": cols,
    }
    return PageData(index, pack(_detail(doc, ids.items)))


def _runtime(rt: Any) -> dict[str, Any]:
    if rt is None:  # named by a cell only (a check's user export, an unlisted consumer)
        return {"state": "", "reason": "", "version": "", "device": "", "tool": ""}
    return {"state": rt.state.value, "reason": rt.reason, "version": rt.version, "device": rt.device, "tool": rt.tool}


def _detail(doc: ResultsDocument, ids: list[str]) -> dict[str, Any]:
    texts = Interned([""])
    records = export_records(doc)
    export_ids = {k: n for n, k in enumerate(records)}
    upstream = upstream_for(doc, texts)
    per_cell = [
        cell_detail(
            cell,
            texts(cell.log) if cell.log else -1,
            upstream(cell, records.get(triple(cell))),
            export_ids.get(triple(cell)),
            doc.tolerances.map_drop,
        )
        for cell in doc.cells
    ]
    return {
        "texts": texts.items,
        "cells": per_cell,
        "exports": export_views(doc, records),
        "fingerprints": fingerprints(ids, {rt.id: rt for rt in doc.runtimes}),
        "hidden": list(HIDDEN_DETAILS),
    }


def pack(data: Any) -> str:
    """JSON, raw deflate (what DecompressionStream("deflate-raw") reads), base64."""
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str).encode()
    squeeze = zlib.compressobj(6, zlib.DEFLATED, -15)
    return base64.b64encode(squeeze.compress(raw) + squeeze.flush()).decode("ascii")


def unpack(text: str) -> Any:
    """The inverse of `pack` (tests and tools read the page's detail with it)."""
    return json.loads(zlib.decompress(base64.b64decode(text), -15).decode())


def script_json(data: Any) -> str:
    """JSON that can sit inside a <script> element: no "<" can end it or open a comment."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    return text.replace("<", "\\u003c")
