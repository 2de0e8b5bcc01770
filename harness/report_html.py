"""results.json -> one static, self-contained HTML report.

Everything the page needs is inside the file (inline CSS, a little inline JS, no fonts or
scripts from elsewhere), so it opens from file:// and can be attached to an issue. Errors,
logs, expectation reasons, reproduce commands and pip freeze lines are untrusted text: the
template is rendered with autoescape on, nothing here marks a string as safe, and only
http(s) links ever become an href.

Every key results.json gained for history, expectations and fingerprints is optional
here: a file written before them renders the same page without those sections.
"""

from __future__ import annotations

import collections
import itertools
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

# pandas ships no type hints; the lint extra installs pandas-stubs, hence unused-ignore too.
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from harness.status import FAILURES, Status, first_line

TEMPLATES = Path(__file__).parent / "templates"
ROW_KEYS = ["producer", "model", "export"]
COL_KEYS = ["consumer", "loader"]
MISSING = "—"  # the marker of a grid position that has no result at all
TOOLTIP_ERROR_CHARS = 300  # a tooltip is a glance; the detail panel has the whole error
RUNTIME_STATES = ("ready", "unavailable", "skipped", "not_built")
EXPECTED = "expected"  # a shown status only: a failing cell a declared expectation covers
FAILING = tuple(s.value for s in Status if s in FAILURES)  # the red ones, in Status order
NOT_RUN = (Status.UNAVAILABLE.value, Status.SKIPPED.value, Status.NOT_APPLICABLE.value)
INFRA = Status.INFRA_ERROR.value
INFRA_RUNTIME_STATES = ("unavailable", "not_built")  # what the report shows when results.json has no `infra`
# A link from results.json becomes an href only when it is plainly http(s); anything else
# (javascript:, data:, relative paths, quotes or spaces) is shown as text.
SAFE_LINK = re.compile(r"https?://[^\s\"'<>`\\\x00-\x1f\x7f]+", re.IGNORECASE)


@dataclass(frozen=True)
class StatusStyle:
    label: str  # short text in the cell, so the grid reads without colour
    background: str
    foreground: str  # black or white, whichever reads on the background
    meaning: str


# Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), failures
# in saturated colours, "nothing ran" statuses in greys, "expected" a muted lilac that is
# clearly not a failure; the label carries the rest.
STYLES: dict[str, StatusStyle] = {
    Status.PASS.value: StatusStyle(
        "pass", "#b5e3cf", "#000", "exported, loaded and ran; outputs match the producer's reference"
    ),
    Status.FLAKY.value: StatusStyle(
        "flaky", "#d9ead3", "#000", "failed, then passed on a retry (matrix.yaml `retries`); every attempt is kept"
    ),
    EXPECTED: StatusStyle(
        "xfail", "#e4e0ef", "#444", "a known incompatibility declared in matrix.yaml; the detail shows the real status"
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

# How a change since the previous run is marked: a glyph as well as a coloured corner, so
# the mark does not rely on colour; the words go into the tooltip and the detail panel.
TRANSITIONS: dict[str, tuple[str, str]] = {
    "newly_broken": ("▼", "newly broken"),
    "newly_fixed": ("▲", "newly fixed"),
    "changed": ("Δ", "changed"),
}
STALE_GLYPH = "!"  # plain ASCII: every font has it (an hourglass rendered as a box in headless Chromium)

# The summary groups the shown statuses so that "nothing ran here" and harness trouble are
# never added to the incompatibilities.
SUMMARY_GROUPS = (
    ("verdicts", (Status.PASS.value, Status.FLAKY.value, EXPECTED, *FAILING)),
    ("not run here", NOT_RUN),
    ("infrastructure", (INFRA,)),
)


@dataclass(frozen=True)
class Lookup:
    """What a cell's detail needs from the rest of results.json."""

    runtimes: dict[str, dict[str, Any]]
    exports: dict[tuple[str, str, str], dict[str, Any]]
    fingerprints: dict[tuple[str, str, str], dict[str, Any]]  # filled by _fingerprints


def render_html(results: dict[str, Any]) -> str:
    """The whole report page for one results.json document."""
    cells: list[dict[str, Any]] = [c if isinstance(c, dict) else {} for c in results.get("cells") or []]
    runtimes = {str(rt["id"]): rt for rt in _dicts(results.get("runtimes")) if "id" in rt}
    frame = _frame(cells)
    rows, cols = _axes(results, frame, list(runtimes))
    grid = _grid(frame, rows, cols)
    shown = sorted(n for line in grid for n in line if n is not None)
    lookup = Lookup(runtimes, _exports_index(results), {})
    lookup.fingerprints.update(_fingerprints(cells, shown, lookup))
    views = {n: _cell_view(n, cells[n], lookup) for n in shown}
    summary = _summary(frame)
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            meta={k: results.get(k, "") for k in ("generated_at", "backend", "matrix", "schema_version")},
            run=_run_view(results),
            styles=STYLES,
            missing=MISSING,
            transitions_legend=TRANSITIONS,
            stale_glyph=STALE_GLYPH,
            summary=summary,
            headline=_headline(summary),
            runtime_counts=_runtime_counts(runtimes.values()),
            changes=_transitions_view(results, cells),
            stale=_stale_view(results, cells, set(shown)),
            infra=_infra_view(results, runtimes, cells, set(shown)),
            positions=len(rows) * len(cols),
            empty_positions=len(rows) * len(cols) - len(shown),
            dropped=len(cells) - len(shown),  # duplicates, or cells without a full key
            runtimes=[_runtime_view(rt) for rt in runtimes.values()],
            filters=_filters(rows, cols, summary),
            failing=FAILING,
            header=_header(cols, runtimes),
            columns=[{"consumer": consumer, "loader": loader} for consumer, loader in cols],
            body=_body(rows, grid, views, runtimes),
            compat=_compat_view(results, runtimes),
            trend=_trend_view(results, list(runtimes)),
            details=[views[n] for n in shown],
            fingerprints=list(lookup.fingerprints.values()),
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


# --- small readers: results.json is data from elsewhere, so every optional key is checked


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The dict entries of a list; anything else in results.json is ignored, not fatal."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, (list, tuple)) else []


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _ids(entries: Any) -> list[str]:
    return [str(entry["id"]) for entry in _dicts(entries) if "id" in entry]


def _slug(cell: dict[str, Any]) -> str:
    """The cell's name in stale_expectations (harness.status.CellKey.slug)."""
    return "__".join(_text(cell.get(k)) for k in [*ROW_KEYS, *COL_KEYS])


def _shown(cell: dict[str, Any]) -> str:
    """What the grid shows: `shown_as` when the data side set it, else the real status."""
    return _text(cell.get("shown_as") or cell.get("status"))


# --- the grid


def _frame(cells: list[dict[str, Any]]) -> Any:
    """One row per cell; ``n`` is the cell's index in results["cells"]."""
    frame = pd.DataFrame(cells, columns=[*ROW_KEYS, *COL_KEYS])
    frame["shown"] = [_shown(c) for c in cells]
    frame["n"] = range(len(frame))
    return frame


def _axes(
    results: dict[str, Any], frame: Any, runtime_ids: list[str]
) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """Grid rows (producer x model x export) and columns (consumer x loader), in matrix order."""
    producers = frame["producer"].dropna().unique()
    # Rows only for runtimes that produced something: a `check` report has one producer
    # (the user's export), not one empty row per runtime.
    listed = [r for r in runtime_ids if r in set(producers)] if len(producers) else runtime_ids
    rows = itertools.product(
        _order(listed, producers),
        _order([str(m) for m in results.get("models") or []], frame["model"].dropna().unique()),
        _order(_ids(results.get("export_modes")), frame["export"].dropna().unique()),
    )
    cols = itertools.product(
        _order(runtime_ids, frame["consumer"].dropna().unique()),
        _order(_ids(results.get("loaders")), frame["loader"].dropna().unique()),
    )
    return list(rows), list(cols)


def _order(listed: list[str], seen: Iterable[Any]) -> list[str]:
    """Ids in results.json order, then any id only a cell names, so no cell is dropped."""
    order = list(dict.fromkeys(listed))
    known = set(order)
    extra = [str(x) for x in seen if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return order + [x for x in dict.fromkeys(extra) if x not in known]


def _grid(frame: Any, rows: Sequence[tuple[str, ...]], cols: Sequence[tuple[str, ...]]) -> list[list[int | None]]:
    """Cell indexes laid out rows x cols; None where no cell reported that position."""
    # A cell reported twice would make pivot fail; the later one is the newer result.
    unique = frame.astype({k: str for k in [*ROW_KEYS, *COL_KEYS]}).drop_duplicates(ROW_KEYS + COL_KEYS, keep="last")
    table = unique.pivot(index=ROW_KEYS, columns=COL_KEYS, values="n").reindex(
        index=pd.MultiIndex.from_tuples(rows, names=ROW_KEYS),
        columns=pd.MultiIndex.from_tuples(cols, names=COL_KEYS),
    )
    return [[None if pd.isna(n) else int(n) for n in line] for line in table.itertuples(index=False)]


def _header(cols: Sequence[tuple[str, ...]], runtimes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """First header row: each consumer runtime once, spanning its loaders."""
    spans = [(consumer, len(list(group))) for consumer, group in itertools.groupby(c for c, _ in cols)]
    return [{**_runtime_mark(consumer, runtimes), "span": span} for consumer, span in spans]


def _body(
    rows: Sequence[tuple[str, ...]],
    grid: list[list[int | None]],
    views: dict[int, dict[str, Any]],
    runtimes: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Grid rows. Every row carries its producer and model header (no rowspan), so a filter
    can hide any row; a repeat of the row above is marked `dup` and drawn faint."""
    body = []
    previous: tuple[str, ...] = ()
    for (producer, model, export), line in zip(rows, grid):
        body.append(
            {
                "producer": _runtime_mark(producer, runtimes),
                "model": model,
                "export": export,
                "dup_producer": previous[:1] == (producer,),
                "dup_model": previous[:2] == (producer, model),
                "cells": [None if n is None else views[n] for n in line],
            }
        )
        previous = (producer, model, export)
    return body


def _filters(
    rows: Sequence[tuple[str, ...]], cols: Sequence[tuple[str, ...]], summary: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The filter bar: one select per key; status and change filter cells, the others rows/columns."""

    def unique(values: Iterable[str]) -> list[tuple[str, str]]:
        return [(v, v) for v in dict.fromkeys(values)]

    statuses = [(s["status"], f"{s['status']} ({s['count']})") for s in summary if s["count"]]
    changes = [("@any", "any change"), *((kind, label) for kind, (_, label) in TRANSITIONS.items())]
    return [
        {"name": "producer", "label": "producer", "options": unique(r[0] for r in rows)},
        {"name": "model", "label": "model", "options": unique(r[1] for r in rows)},
        {"name": "export", "label": "export mode", "options": unique(r[2] for r in rows)},
        {"name": "consumer", "label": "consumer", "options": unique(c[0] for c in cols)},
        {"name": "loader", "label": "loader", "options": unique(c[1] for c in cols)},
        {"name": "status", "label": "status", "options": [("@failure", "any failure (red)"), *statuses]},
        {"name": "change", "label": "only changed", "options": [*changes, ("stale", "stale expectation")]},
    ]


# --- summary


def _summary(frame: Any) -> list[dict[str, Any]]:
    """Count per shown status: every known status (zeros too), then any unknown one seen."""
    counts = {str(k): int(v) for k, v in frame["shown"].value_counts().items() if str(k)}
    statuses = list(STYLES) + sorted(set(counts) - set(STYLES))
    groups = {status: name for name, members in SUMMARY_GROUPS for status in members}
    return [
        {
            "status": s,
            "css": _css(s),
            "label": _label(s),
            "count": counts.get(s, 0),
            "group": groups.get(s, "verdicts"),  # an unknown status is shown with the verdicts, not hidden
        }
        for s in statuses
    ]


def _headline(summary: list[dict[str, Any]]) -> dict[str, int]:
    """The ten-second line: failing (red) cells, expected ones, passes, and everything else apart."""
    by = {s["status"]: s["count"] for s in summary}
    unknown = sum(s["count"] for s in summary if s["status"] not in STYLES)
    return {
        "failing": sum(by.get(s, 0) for s in FAILING) + unknown,
        "expected": by.get(EXPECTED, 0),
        "pass": by.get(Status.PASS.value, 0),
        "not_run": sum(by.get(s, 0) for s in NOT_RUN),
        "infra": by.get(INFRA, 0),
    }


def _runtime_counts(runtimes: Iterable[dict[str, Any]]) -> list[tuple[str, int]]:
    counts = collections.Counter(_text(rt.get("state")) or "unknown" for rt in runtimes)
    states = [*RUNTIME_STATES, *sorted(set(counts) - set(RUNTIME_STATES))]
    return [(state, counts.get(state, 0)) for state in states]


def _run_view(results: dict[str, Any]) -> dict[str, str]:
    run = _mapping(results.get("run"))
    return {"id": _text(run.get("id")), "previous_id": _text(run.get("previous_id"))}


def _transitions_view(results: dict[str, Any], cells: list[dict[str, Any]]) -> dict[str, Any]:
    """The "since last night" line. Counts come from `transitions`; cells are the fallback."""
    data = _mapping(results.get("transitions"))
    previous = _mapping(data.get("previous_run"))
    counted = collections.Counter(_text(c.get("transition")) for c in cells)
    counts = [
        {
            "kind": kind,
            "glyph": glyph,
            "label": label,
            "count": data[kind] if isinstance(data.get(kind), int) else counted[kind],
        }
        for kind, (glyph, label) in TRANSITIONS.items()
    ]
    return {
        "history": "transitions" in results or bool(previous) or any(counted[k] for k in TRANSITIONS),
        "previous_id": _text(previous.get("id")),
        "previous_at": _text(previous.get("generated_at")),
        "counts": counts,
        "total": sum(c["count"] for c in counts),
    }


def _stale_view(results: dict[str, Any], cells: list[dict[str, Any]], in_grid: set[int]) -> list[dict[str, Any]]:
    """Stale expectations, each with links to the cells that made it stale."""
    by_slug = {_slug(cell): n for n, cell in enumerate(cells) if n in in_grid}
    return [
        {
            **_expectation_view(entry),
            "why": _text(entry.get("why_stale")),
            "cells": [(slug, by_slug.get(slug)) for slug in _strings(entry.get("cells"))],
        }
        for entry in _dicts(results.get("stale_expectations"))
    ]


def _infra_view(
    results: dict[str, Any], runtimes: dict[str, dict[str, Any]], cells: list[dict[str, Any]], in_grid: set[int]
) -> dict[str, Any]:
    """Infrastructure, apart from incompatibilities: runtimes that could not be built, and the
    cells the harness could not judge, grouped by consumer and error line."""
    raw = results.get("infra")
    listed = _dicts(raw.get("runtimes")) if isinstance(raw, dict) else _dicts(raw)
    if raw is None:  # a results.json from before `infra`: derive it from the runtime states
        listed = [rt for rt in runtimes.values() if _text(rt.get("state")) in INFRA_RUNTIME_STATES]
    problems = [
        {
            "runtime": _text(p.get("runtime", p.get("id"))) or "(host)",
            "state": _text(p.get("state")),
            "reason": _text(p.get("reason")),
        }
        for p in listed
    ]
    groups: dict[tuple[str, str], list[int]] = {}
    for n, cell in enumerate(cells):
        if cell.get("status") == INFRA:
            groups.setdefault((_text(cell.get("consumer")), first_line(_text(cell.get("error")))), []).append(n)
    return {
        "problems": problems,
        "cells": sum(len(ns) for ns in groups.values()),
        "groups": [
            # `first` links to the group's first cell that has a detail panel
            {"consumer": consumer, "error": error, "count": len(ns), "first": min(set(ns) & in_grid, default=None)}
            for (consumer, error), ns in groups.items()
        ],
    }


# --- runtimes


def _runtime_mark(runtime_id: str, runtimes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A runtime's grid header: not-ready runtimes get a class, a "(state)" note and the reason."""
    runtime = runtimes.get(runtime_id, {})
    state = _text(runtime.get("state"))
    return {
        "id": runtime_id,
        "state": state,
        "css": f"rt-{state}" if state in RUNTIME_STATES else "rt-unknown",
        "marked": state not in ("", "ready"),
        "reason": _text(runtime.get("reason")),
    }


def _runtime_view(runtime: dict[str, Any]) -> dict[str, Any]:
    fingerprint = _mapping(runtime.get("fingerprint"))  # null when the runtime never started
    return {
        **_runtime_mark(str(runtime["id"]), {str(runtime["id"]): runtime}),
        "requirement": f"{runtime.get('package', 'paddlepaddle')}=={runtime.get('version', '?')}",
        "device": _text(runtime.get("device")),
        "python": _text(runtime.get("python")),
        "python_actual": _text(fingerprint.get("python")),
        "commit": _text(fingerprint.get("paddle_commit")),
        "numpy": _text(fingerprint.get("numpy")),
        "packages": _strings(fingerprint.get("packages")),
    }


# --- one cell


def _cell_view(n: int, cell: dict[str, Any], lookup: Lookup) -> dict[str, Any]:
    status = _text(cell.get("status"))
    shown = _shown(cell)
    error = _text(cell.get("error"))
    details = _details(cell)
    kind = _text(cell.get("transition"))
    transition = _transition_view(kind, cell) if kind in TRANSITIONS else None
    expectation = _expectation_view(_mapping(cell.get("expectation"))) if cell.get("expectation") else None
    key = {k: _text(cell.get(k)) for k in [*ROW_KEYS, *COL_KEYS]}
    return {
        "n": n,
        "key": key,
        "slug": _slug(cell),
        "status": status,
        "shown": shown,
        "css": _css(shown),
        "real_css": _css(status),
        "real_label": _label(status),
        "label": _label(shown),
        "stage": _text(cell.get("stage")),
        "error": error,
        "log": _text(cell.get("log")),
        "max_abs_diff": _value(cell.get("max_abs_diff")),
        "duration": _value(cell.get("duration_s")),
        # reproduce has its own copyable block; every other detail is a row of the numbers table
        "numbers": [(str(k), _value(v)) for k, v in details.items() if k not in ("reproduce", "repro")],
        "reproduce": _text(details.get("reproduce")),
        "repro": _text(details.get("repro")),
        "transition": transition,
        "expectation": expectation,
        "stale": bool(expectation and expectation["stale"]),
        "fingerprint": _mapping(lookup.fingerprints.get((key["producer"], key["model"], key["export"]))).get("id"),
        "consumer_fp": _paddle_fp(lookup.runtimes.get(key["consumer"])),
        "title": _tooltip(cell, shown, transition, expectation),
        "workarounds": _workarounds_view(cell),
    }


def _workarounds_view(cell: dict[str, Any]) -> list[dict[str, str]]:
    """What `diagnose` tried on this cell, each with the status it reached."""
    tried = cell.get("workarounds")
    if not isinstance(tried, list):
        return []
    return [
        {"name": _text(w.get("workaround")), "status": _text(w.get("status")), "css": _css(_text(w.get("status"))),
         "label": _label(_text(w.get("status"))), "error": first_line(_text(w.get("error")))}
        for w in tried
        if isinstance(w, dict)
    ]


def _transition_view(kind: str, cell: dict[str, Any]) -> dict[str, str]:
    glyph, label = TRANSITIONS[kind]
    previous = _mapping(cell.get("previous"))
    return {
        "kind": kind,
        "glyph": glyph,
        "label": label,
        "previous_status": _text(previous.get("status")),
        "previous_diff": _value(previous.get("max_abs_diff")),
    }


def _expectation_view(exp: dict[str, Any]) -> dict[str, Any]:
    link = _text(exp.get("link"))
    return {
        "reason": _text(exp.get("reason")),
        "link": link,
        "href": _safe_link(link),
        "expires": _text(exp.get("expires")),
        "selector": _text(exp.get("selector")),
        "stale": _text(exp.get("stale")),
    }


def _safe_link(link: str) -> str | None:
    """The link if it may be an href (plain http/https), else None and it is shown as text."""
    return link if SAFE_LINK.fullmatch(link.strip()) and link == link.strip() else None


def _exports_index(results: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (_text(e.get("producer")), _text(e.get("model")), _text(e.get("export"))): e
        for e in _dicts(results.get("exports"))
    }


def _fingerprints(
    cells: list[dict[str, Any]], shown: list[int], lookup: Lookup
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """One fingerprint per export in the grid, written once as its own panel: every consumer
    and loader of an export shares it, and a copy per cell made up a third of a full report."""
    by_export: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for cell in (cells[n] for n in shown):
        triple = (_text(cell.get("producer")), _text(cell.get("model")), _text(cell.get("export")))
        by_export.setdefault(triple, []).append(cell)
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for triple, group in by_export.items():
        # Without an `exports` record, an export failure's details are the record; cells whose
        # consumer never ran (unavailable, skipped) have none, so look for one that has.
        details = next((d for d in map(_details, group) if any(k.startswith("export_") for k in d)), {})
        key = dict(zip(ROW_KEYS, triple))
        view = _export_view(key, lookup, details)
        producer = view["producer"]
        if view["recorded"] or view["status"] or view["files"] or producer["paddle_version"] or producer["packages"]:
            found[triple] = {**view, "id": f"export-{len(found)}", "key": key}
    return found


def _details(cell: dict[str, Any]) -> dict[str, Any]:
    return _mapping(cell.get("details"))


def _export_view(key: dict[str, str], lookup: Lookup, details: dict[str, Any]) -> dict[str, Any]:
    """The export's fingerprint: the `exports` record, else what an export failure left in
    the cell's details; plus the producer runtime's Paddle and pip freeze."""
    record = lookup.exports.get((key["producer"], key["model"], key["export"]))
    prefix = "export_"
    source = record if record is not None else {k[len(prefix) :]: v for k, v in details.items() if k.startswith(prefix)}
    files = source.get("files")
    return {
        "recorded": record is not None,
        "status": _text(source.get("status")),
        "error": _text(source.get("error")) if record is not None else "",
        "program_file": _text(source.get("program_file")),
        "program_format": _text(source.get("program_format")),
        "pir_api": _on_off(source.get("pir_api")),
        "paddle_version": _text(source.get("paddle_version")),
        "files": [(str(k), _size(v)) for k, v in files.items()] if isinstance(files, dict) else [],
        "params_sha256": _text(source.get("params_sha256")),
        "to_static_kwargs": _value(source["to_static_kwargs"]) if "to_static_kwargs" in source else "",
        "static_function": _text(source.get("static_function")),
        "warnings": _strings(source.get("warnings")),
        "producer": _paddle_fp(lookup.runtimes.get(key["producer"])),
    }


def _paddle_fp(runtime: dict[str, Any] | None) -> dict[str, Any]:
    """A runtime's fingerprint with every key present (the runtime may never have started)."""
    fp = _mapping(_mapping(runtime).get("fingerprint"))
    return {
        "paddle_version": _text(fp.get("paddle_version")),
        "paddle_commit": _text(fp.get("paddle_commit")),
        "python": _text(fp.get("python")),
        "numpy": _text(fp.get("numpy")),
        "packages": _strings(fp.get("packages")),
    }


def _tooltip(
    cell: dict[str, Any], shown: str, transition: dict[str, str] | None, expectation: dict[str, Any] | None
) -> str:
    status = _text(cell.get("status"))
    line = first_line(_text(cell.get("error")))
    if len(line) > TOOLTIP_ERROR_CHARS:
        line = line[:TOOLTIP_ERROR_CHARS] + "…"
    parts = [f"status: {shown} ({status})" if shown != status else f"status: {status}"]
    parts.append(f"stage: {cell.get('stage') or MISSING}")
    if line:
        parts.append(f"error: {line}")
    parts.append(f"max_abs_diff: {_value(cell.get('max_abs_diff'))}")
    if transition:
        parts.append(f"{transition['label']} (was {transition['previous_status'] or MISSING})")
    if expectation:
        parts.append(f"expected: {expectation['reason']}")
        if expectation["stale"]:
            parts.append(f"stale expectation: {expectation['stale']}")
    fixes = cell.get("fixed_by")
    if isinstance(fixes, list) and fixes:
        parts.append("fixed by: " + "; ".join(_text(f) for f in fixes))
    return "\n".join(parts)


# --- the two history/compatibility views


def _version_order(runtimes: dict[str, dict[str, Any]]) -> list[str]:
    """Runtime ids oldest Paddle first (matrix order breaks ties), as compat_ranges orders them."""

    def key(item: tuple[int, str]) -> tuple[tuple[int, ...], int]:
        index, rt_id = item
        digits = re.findall(r"\d+", _text(runtimes[rt_id].get("version")))[:3]
        return tuple(int(d) for d in digits), index

    return [rt_id for _, rt_id in sorted(enumerate(runtimes), key=key)]


def _compat_view(results: dict[str, Any], runtimes: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """ "Where do exports load?": rows producer, columns export mode, oldest -> newest consumer."""
    entries = _dicts(results.get("compat_ranges"))
    if not entries:
        return None
    index = {(_text(e.get("producer")), _text(e.get("export"))): e for e in entries}
    named_producers, named_modes = {k[0] for k in index}, {k[1] for k in index}
    producers = _order([p for p in runtimes if p in named_producers], (k[0] for k in index))
    modes = _order([m for m in _ids(results.get("export_modes")) if m in named_modes], (k[1] for k in index))
    order = _version_order(runtimes)
    # The untested runtimes are usually the same for every entry: said once above the table.
    untested = [set(_strings(e.get("not_tested"))) for e in entries]
    common = [r for r in _strings(entries[0].get("not_tested")) if all(r in u for u in untested)]
    return {
        "modes": modes,
        "not_tested": common,
        "rows": [
            {"producer": p, "cells": [_range_view(index.get((p, m)), order, common) for m in modes]} for p in producers
        ],
    }


def _range_view(entry: dict[str, Any] | None, order: list[str], said: list[str]) -> dict[str, Any] | None:
    if entry is None:
        return None
    loads_in = _strings(entry.get("loads_in"))
    not_tested = _strings(entry.get("not_tested"))
    oldest, newest = _text(entry.get("oldest")), _text(entry.get("newest"))
    # Consumers between oldest and newest that were tested and do not load it: a range is
    # only a range if it has no holes, so the holes are named.
    span = order[order.index(oldest) : order.index(newest) + 1] if oldest in order and newest in order else []
    gaps = [c for c in span if c not in loads_in and c not in not_tested]
    export_status = _text(entry.get("export_status"))
    if not loads_in:
        text, css = "loads nowhere", "cr-none"
    else:
        text, css = (oldest if oldest == newest else f"{oldest} → {newest}"), ("cr-gaps" if gaps else "cr-ok")
    title = [f"loads in: {', '.join(loads_in) or 'none'}"]
    if gaps:
        title.append(f"does not load in: {', '.join(gaps)}")
    if not_tested:
        title.append(f"not tested: {', '.join(not_tested)}")
    if export_status and export_status != "ok":
        title.append(f"export: {export_status}")
    return {
        "text": text,
        "css": css,
        "gaps": gaps,
        "not_tested": [r for r in not_tested if r not in said],
        "export_status": "" if export_status == "ok" else export_status,
        "title": "\n".join(title),
    }


def _trend_view(results: dict[str, Any], runtime_order: list[str]) -> list[dict[str, Any]]:
    """Per consumer runtime, counts per shown status over the last runs (oldest first)."""
    trend = _mapping(results.get("trend"))
    views = []
    for runtime in _order([r for r in runtime_order if r in trend], trend):
        runs = _dicts(trend.get(runtime))
        if not runs:
            continue
        counts = [{str(k): v for k, v in _mapping(r.get("counts")).items() if isinstance(v, int)} for r in runs]
        seen = set().union(*counts)
        statuses = [s for s in STYLES if s in seen] + sorted(seen - set(STYLES))
        views.append(
            {
                "runtime": runtime,
                "statuses": [{"status": s, "css": _css(s), "label": _label(s)} for s in statuses],
                "runs": [_trend_run(run, count, statuses) for run, count in zip(runs, counts)],
            }
        )
    return views


def _trend_run(run: dict[str, Any], counts: dict[str, int], statuses: list[str]) -> dict[str, Any]:
    total = sum(counts.values())
    at = _text(run.get("generated_at"))
    return {
        "id": _text(run.get("run_id")),
        "at": at,
        "short": _short_time(at) or _text(run.get("run_id"))[:13],
        "total": total,
        "counts": [counts.get(s, 0) for s in statuses],
        # bar segments, bottom-up: percentages of this run's cells
        "segments": [
            {"status": s, "css": _css(s), "count": counts[s], "pct": round(100 * counts[s] / total, 2)}
            for s in statuses
            if counts.get(s) and total
        ],
    }


def _short_time(iso: str) -> str:
    """2026-11-23T16:00:00Z -> 11-23 16:00: a column header, not a record."""
    found = re.match(r"\d{4}-(\d\d-\d\d)T(\d\d:\d\d)", iso)
    return f"{found.group(1)} {found.group(2)}" if found else ""


# --- formatting


def _css(status: str) -> str:
    # Only known statuses become class names; anything else is text, never markup.
    return f"s-{status}" if status in STYLES else "s-unknown"


def _label(status: str) -> str:
    return STYLES[status].label if status in STYLES else (status[:5] or "?")


def _size(value: Any) -> str:
    """A file size as a person reads it; anything that is not a number verbatim."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _value(value)
    if value < 1000:
        return f"{value:g} B"
    return f"{value / 1e3:.1f} kB" if value < 1e6 else f"{value / 1e6:.1f} MB"


def _on_off(flag: Any) -> str:
    return {True: "on", False: "off"}.get(flag, "") if isinstance(flag, bool) else _text(flag)


def _value(value: Any) -> str:
    """Numbers and detail values as JSON would show them (1e-06, true, [..]); text verbatim."""
    if value is None:
        return MISSING
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)
