"""summary.md from a results document: a CI step summary / pull-request comment a
maintainer reads in ten seconds: counts, what changed since the previous run, stale
expectations, infrastructure, and where each producer's exports load."""

from __future__ import annotations

from pathlib import Path

from harness.document.results import ResultsDocument
from harness.store.files import write_text_atomic

CHANGES_SHOWN = 20


def one_line(text: str) -> str:
    """Table-safe: no pipes or newlines from error text breaking the table."""
    return " ".join(text.replace("|", "\\|").split())[:200]


def markdown(doc: ResultsDocument, limit: int = CHANGES_SHOWN) -> str:
    lines = [f"# Paddle export compatibility: run {doc.run.id}", ""]
    lines += [f"Matrix `{doc.matrix}`, backend {doc.backend}, generated {doc.generated_at}.", ""]
    lines += ["| status | cells |", "|---|---:|", *(f"| {k} | {v} |" for k, v in doc.summary.items()), ""]
    return "\n".join(lines + transitions(doc, limit) + stale(doc) + infra(doc) + ranges(doc)) + "\n"


def transitions(doc: ResultsDocument, limit: int) -> list[str]:
    t = doc.transitions
    if t.previous_run is None:
        return ["No previous run of this matrix to compare with.", ""]
    out = [
        f"## Since {t.previous_run.id}: {t.newly_broken} newly broken, {t.newly_fixed} newly fixed, "
        f"{t.changed} changed",
        "",
    ]
    moved = [c for c in doc.cells if c.transition]
    if moved:
        out += ["| change | cell | was | now | error |", "|---|---|---|---|---|"]
        for c in moved[:limit]:
            was = c.previous.status.value if c.previous else "?"
            out.append(f"| {c.transition} | `{c.slug}` | {was} | {c.status.value} | {one_line(c.error)} |")
        if len(moved) > limit:
            out.append(f"| ... | {len(moved) - limit} more in index.html | | | |")
        out.append("")
    return out


def stale(doc: ResultsDocument) -> list[str]:
    if not doc.stale_expectations:
        return []
    out = ["## Stale expectations", ""]
    out += [f"- {one_line(s.reason)} ({s.why_stale}; {len(s.cells)} cells) {s.link}" for s in doc.stale_expectations]
    return out + [""]


def infra(doc: ResultsDocument) -> list[str]:
    if not doc.infra.runtimes and not doc.infra.infra_error_cells:
        return []
    out = ["## Infrastructure (not incompatibilities)", ""]
    for r in doc.infra.runtimes:
        out.append(f"- `{r.runtime}` {r.state.value}: {one_line(r.reason.splitlines()[0] if r.reason else '')}")
    if doc.infra.infra_error_cells:
        out.append(f"- {doc.infra.infra_error_cells} cells could not be run by the harness (infra_error)")
    return out + [""]


def ranges(doc: ResultsDocument) -> list[str]:
    if not doc.compat_ranges:
        return []
    out = ["## Where do exports load? (every model passes with at least one loader)", ""]
    out += ["| producer | export mode | oldest | newest | loads in |", "|---|---|---|---|---|"]
    for r in doc.compat_ranges:
        nowhere = "nowhere" if r.export_status == "ok" else f"not exported ({r.export_status})"
        where = ", ".join(r.loads_in) or nowhere
        out.append(f"| {r.producer} | {r.export} | {r.oldest or '-'} | {r.newest or '-'} | {where} |")
    return out + [""]


def write_markdown(doc: ResultsDocument, path: Path, extra: str = "") -> None:
    """summary.md; ``extra`` (a check report's own section) is appended as given."""
    write_text_atomic(path, markdown(doc) + extra)
