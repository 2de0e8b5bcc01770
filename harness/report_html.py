"""results.json -> one static, self-contained HTML report.

Everything the page needs is inside the file (inline CSS, a few lines of inline JS, no
fonts or scripts from elsewhere), so it opens from file:// and can be attached to an
issue. Errors and logs come from the runtimes under test and are untrusted text: the
template is rendered with autoescape on, and nothing here marks a string as safe.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

# pandas ships no type hints; the lint extra installs pandas-stubs, hence unused-ignore too.
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from harness.status import Status, first_line

TEMPLATES = Path(__file__).parent / "templates"
ROW_KEYS = ["producer", "model", "export"]
COL_KEYS = ["consumer", "loader"]
MISSING = "—"  # the marker of a grid position that has no result at all
TOOLTIP_ERROR_CHARS = 300  # a tooltip is a glance; the detail panel has the whole error
RUNTIME_STATES = ("ready", "unavailable", "skipped", "not_built")


@dataclass(frozen=True)
class StatusStyle:
    label: str  # short text in the cell, so the grid reads without colour
    background: str
    foreground: str  # black or white, whichever reads on the background
    meaning: str


# Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), failures
# in saturated colours, "nothing ran" statuses in greys; the label carries the rest.
STYLES: dict[str, StatusStyle] = {
    Status.PASS.value: StatusStyle(
        "pass", "#b5e3cf", "#000", "exported, loaded and ran; outputs match the producer's reference"
    ),
    Status.MISMATCH.value: StatusStyle(
        "mism", "#f0e442", "#000", "ran, but outputs differ from the producer's reference"
    ),
    Status.EXPORT_FAILED.value: StatusStyle(
        "exp", "#e69f00", "#000", "the producer could not export the model in this mode"
    ),
    Status.LOAD_FAILED.value: StatusStyle("load", "#d55e00", "#fff", "the consumer could not load the exported model"),
    Status.RUN_FAILED.value: StatusStyle("run", "#cc79a7", "#000", "the model loaded, but inference raised an error"),
    Status.CRASH.value: StatusStyle("crash", "#000", "#fff", "a process died by a signal (the stage says which one)"),
    Status.TIMEOUT.value: StatusStyle("t/o", "#56b4e9", "#000", "a step ran past its time limit and was killed"),
    Status.UNAVAILABLE.value: StatusStyle(
        "unav", "#9a9a9a", "#000", "a runtime could not be built here; the runtimes table says why"
    ),
    Status.SKIPPED.value: StatusStyle(
        "skip", "#d4d4d4", "#000", "deliberately not run here (e.g. GPU runtime, no GPU)"
    ),
    Status.NOT_APPLICABLE.value: StatusStyle(
        "n/a", "#f4f4f4", "#555", "the producer's Paddle has no such export option"
    ),
    Status.INFRA_ERROR.value: StatusStyle(
        "infra", "#0072b2", "#fff", "the harness itself failed; not an incompatibility"
    ),
}


def render_html(results: dict[str, Any]) -> str:
    """The whole report page for one results.json document."""
    cells: list[dict[str, Any]] = list(results.get("cells") or [])
    runtimes = {str(rt["id"]): rt for rt in results.get("runtimes") or []}
    frame = _frame(cells)
    rows = list(
        itertools.product(
            _order(list(runtimes), frame["producer"]),
            _order(list(results.get("models") or []), frame["model"]),
            _order([m["id"] for m in results.get("export_modes") or []], frame["export"]),
        )
    )
    cols = list(
        itertools.product(
            _order(list(runtimes), frame["consumer"]),
            _order([ld["id"] for ld in results.get("loaders") or []], frame["loader"]),
        )
    )
    grid = _grid(frame, rows, cols)
    shown = sorted(n for line in grid for n in line if n is not None)
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            meta={k: results.get(k, "") for k in ("generated_at", "backend", "matrix", "schema_version")},
            styles=STYLES,
            missing=MISSING,
            summary=_summary(frame),
            positions=len(rows) * len(cols),
            empty_positions=len(rows) * len(cols) - len(shown),
            dropped=len(cells) - len(shown),  # duplicates, or cells without a full key
            runtimes=[_runtime_view(rt) for rt in runtimes.values()],
            header=_header(cols, runtimes),
            loaders=[loader for _, loader in cols],
            body=_body(rows, grid, cells, runtimes),
            details=[_cell_view(n, cells[n]) for n in shown],
        )
    )


def write_html(results: dict[str, Any], path: Path) -> None:
    """Render and replace ``path`` atomically: a reader never sees half a report."""
    text = render_html(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a report is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # errors and logs are untrusted text
        undefined=jinja2.StrictUndefined,  # a template typo fails loudly, not as a blank
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _frame(cells: list[dict[str, Any]]) -> Any:
    """One row per cell; ``n`` is the cell's index in results["cells"]."""
    frame = pd.DataFrame(cells, columns=[*ROW_KEYS, *COL_KEYS, "status"])
    frame["n"] = range(len(frame))
    return frame


def _order(listed: list[str], seen: Any) -> list[str]:
    """Ids in results.json order, then any id only a cell names, so no cell is dropped."""
    order = list(dict.fromkeys(listed))
    known = set(order)
    return order + [str(x) for x in seen.dropna().unique() if str(x) not in known]


def _grid(frame: Any, rows: Sequence[tuple[str, ...]], cols: Sequence[tuple[str, ...]]) -> list[list[int | None]]:
    """Cell indexes laid out rows x cols; None where no cell reported that position."""
    # A cell reported twice would make pivot fail; the later one is the newer result.
    unique = frame.astype({k: str for k in [*ROW_KEYS, *COL_KEYS]}).drop_duplicates(ROW_KEYS + COL_KEYS, keep="last")
    table = unique.pivot(index=ROW_KEYS, columns=COL_KEYS, values="n").reindex(
        index=pd.MultiIndex.from_tuples(rows, names=ROW_KEYS),
        columns=pd.MultiIndex.from_tuples(cols, names=COL_KEYS),
    )
    return [[None if pd.isna(n) else int(n) for n in line] for line in table.itertuples(index=False)]


def _summary(frame: Any) -> list[dict[str, Any]]:
    """Count per status: every known status (zeros too), then any unknown one seen."""
    counts = {str(k): int(v) for k, v in frame["status"].value_counts().items()}
    statuses = list(STYLES) + sorted(set(counts) - set(STYLES))
    return [{"status": s, "css": _css(s), "label": _label(s), "count": counts.get(s, 0)} for s in statuses]


def _header(cols: Sequence[tuple[str, ...]], runtimes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """First header row: each consumer runtime once, spanning its loaders."""
    spans = [(consumer, len(list(group))) for consumer, group in itertools.groupby(c for c, _ in cols)]
    return [{**_runtime_mark(consumer, runtimes), "span": span} for consumer, span in spans]


def _body(
    rows: Sequence[tuple[str, ...]],
    grid: list[list[int | None]],
    cells: list[dict[str, Any]],
    runtimes: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Grid rows; producer and model headers only on the first row of their block (rowspan)."""
    producer_span = sum(1 for r in rows if r[0] == rows[0][0]) if rows else 0
    model_span = sum(1 for r in rows if r[:2] == rows[0][:2]) if rows else 0
    body = []
    for i, ((producer, model, export), line) in enumerate(zip(rows, grid)):
        body.append(
            {
                "producer": _runtime_mark(producer, runtimes) if i % producer_span == 0 else None,
                "producer_span": producer_span,
                "model": model if i % model_span == 0 else None,
                "model_span": model_span,
                "export": export,
                "cells": [None if n is None else _cell_view(n, cells[n]) for n in line],
            }
        )
    return body


def _runtime_mark(runtime_id: str, runtimes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A runtime's grid header: not-ready runtimes get a class, a "(state)" note and the reason."""
    runtime = runtimes.get(runtime_id, {})
    state = str(runtime.get("state") or "")
    return {
        "id": runtime_id,
        "state": state,
        "css": f"rt-{state}" if state in RUNTIME_STATES else "rt-unknown",
        "marked": state not in ("", "ready"),
        "reason": str(runtime.get("reason") or ""),
    }


def _runtime_view(runtime: dict[str, Any]) -> dict[str, Any]:
    fingerprint = runtime.get("fingerprint") or {}  # null when the runtime never started
    return {
        **_runtime_mark(str(runtime["id"]), {str(runtime["id"]): runtime}),
        "requirement": f"{runtime.get('package', 'paddlepaddle')}=={runtime.get('version', '?')}",
        "device": runtime.get("device", ""),
        "python": runtime.get("python", ""),
        "python_actual": fingerprint.get("python", ""),
        "commit": fingerprint.get("paddle_commit", ""),
        "numpy": fingerprint.get("numpy", ""),
        "packages": list(fingerprint.get("packages") or []),
    }


def _cell_view(n: int, cell: dict[str, Any]) -> dict[str, Any]:
    status = str(cell.get("status") or "")
    error = str(cell.get("error") or "")
    details = cell.get("details") or {}
    return {
        "n": n,
        "key": {k: str(cell.get(k, "")) for k in [*ROW_KEYS, *COL_KEYS]},
        "status": status,
        "css": _css(status),
        "label": _label(status),
        "stage": cell.get("stage") or "",
        "error": error,
        "log": str(cell.get("log") or ""),
        "max_abs_diff": _value(cell.get("max_abs_diff")),
        "duration": _value(cell.get("duration_s")),
        "numbers": [(str(k), _value(v)) for k, v in details.items()],
        "title": _tooltip(status, cell.get("stage"), error, cell.get("max_abs_diff")),
    }


def _tooltip(status: str, stage: Any, error: str, max_abs_diff: Any) -> str:
    line = first_line(error)
    if len(line) > TOOLTIP_ERROR_CHARS:
        line = line[:TOOLTIP_ERROR_CHARS] + "…"
    parts = [f"status: {status}", f"stage: {stage or MISSING}"]
    if line:
        parts.append(f"error: {line}")
    parts.append(f"max_abs_diff: {_value(max_abs_diff)}")
    return "\n".join(parts)


def _css(status: str) -> str:
    # Only known statuses become class names; anything else is text, never markup.
    return f"s-{status}" if status in STYLES else "s-unknown"


def _label(status: str) -> str:
    return STYLES[status].label if status in STYLES else (status[:5] or "?")


def _value(value: Any) -> str:
    """Numbers and detail values as JSON would show them (1e-06, true, [..]); text verbatim."""
    if value is None:
        return MISSING
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)
