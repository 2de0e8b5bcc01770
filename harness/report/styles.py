"""How statuses, changes and values look in the report: colours, labels, glyphs, formatting.

Shared by every HTML view module; nothing here reads the document.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from harness.document.cell import FAILURES, Status
from harness.document.results import EXPECTED
from harness.store.state import RuntimeState

MISSING = "—"  # the marker of a grid position (or a value) that has no result at all
FAILING = tuple(s.value for s in Status if s in FAILURES)  # the red ones, in Status order
NOT_RUN = (Status.UNAVAILABLE.value, Status.SKIPPED.value, Status.NOT_APPLICABLE.value)
INFRA = Status.INFRA_ERROR.value
RUNTIME_STATES = tuple(s.value for s in RuntimeState)
# A link becomes an href only when it is plainly http(s); anything else (javascript:, data:,
# relative paths, quotes or spaces) is shown as text.
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
    Status.ACCURACY_DROP.value: StatusStyle(
        "mAP↓", "#f5c710", "#000", "ran, but its mAP fell more than tolerances.map_drop below the FP32 reference's"
    ),
    Status.EXPORT_FAILED.value: StatusStyle(
        "exp", "#e69f00", "#000", "the producer could not export the model in this mode"
    ),
    Status.CONVERT_FAILED.value: StatusStyle("conv", "#882255", "#fff", "a deployment tool could not convert it"),
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

# The worst unexpected outcome first: what a pair of runtimes shows in the overview.
WORST_FIRST = tuple(
    s.value
    for s in (
        Status.CRASH,
        Status.CONVERT_FAILED,
        Status.LOAD_FAILED,
        Status.RUN_FAILED,
        Status.ACCURACY_DROP,
        Status.MISMATCH,
        Status.TIMEOUT,
        Status.EXPORT_FAILED,
    )
)
assert set(WORST_FIRST) == set(FAILING)

# The summary groups the shown statuses so that "nothing ran here" and harness trouble are
# never added to the incompatibilities.
SUMMARY_GROUPS = (
    ("verdicts", (Status.PASS.value, Status.FLAKY.value, EXPECTED, *FAILING)),
    ("not run here", NOT_RUN),
    ("infrastructure", (INFRA,)),
)


def css(status: str) -> str:
    # Only known statuses become class names; anything else is text, never markup.
    return f"s-{status}" if status in STYLES else "s-unknown"


def label(status: str) -> str:
    return STYLES[status].label if status in STYLES else (status[:5] or "?")


def value(item: Any) -> str:
    """Numbers and detail values as JSON would show them (1e-06, true, [..]); text verbatim."""
    if item is None:
        return MISSING
    if isinstance(item, str):
        return item
    return json.dumps(item, ensure_ascii=False, default=str)


def size(nbytes: int) -> str:
    """A file size as a person reads it."""
    if nbytes < 1000:
        return f"{nbytes:g} B"
    return f"{nbytes / 1e3:.1f} kB" if nbytes < 1e6 else f"{nbytes / 1e6:.1f} MB"


def on_off(flag: bool | None) -> str:
    return "" if flag is None else ("on" if flag else "off")


def safe_link(link: str) -> str | None:
    """The link if it may be an href (plain http/https), else None and it is shown as text."""
    return link if SAFE_LINK.fullmatch(link.strip()) and link == link.strip() else None


def short_time(iso: str) -> str:
    """2026-11-23T16:00:00Z -> 11-23 16:00: a column header, not a record."""
    found = re.match(r"\d{4}-(\d\d-\d\d)T(\d\d:\d\d)", iso)
    return f"{found.group(1)} {found.group(2)}" if found else ""
