"""JUnit XML and a Markdown summary, both rendered from results.json alone.

JUnit: one testcase per cell, so any CI shows the matrix. Incompatibilities are
<failure>, harness problems <error>, everything that did not run (or is expected)
<skipped>. Markdown: a step summary / pull-request comment a maintainer reads in
ten seconds: counts, what changed since the previous run, stale expectations,
infrastructure, and where each producer's exports load.
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from harness.history import slug
from harness.status import FAILURES, Status

_FAILING = {s.value for s in FAILURES}
_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _xml_text(text: str) -> str:
    """XML 1.0 cannot hold most control characters; C++ logs sometimes do."""
    return (text or "").translate(_CONTROL)


def junit_xml(results: dict[str, Any]) -> str:
    cells = results["cells"]
    suite = ET.Element("testsuite", name="paddle-export-compat", tests=str(len(cells)))
    counts = {"failures": 0, "errors": 0, "skipped": 0}
    for cell in cells:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{cell['producer']}.{cell['model']}.{cell['export']}",
            name=f"{cell['consumer']}/{cell['loader']}",
            time=f"{cell.get('duration_s') or 0:.3f}",
        )
        kind = _junit_kind(cell)
        if kind:
            counts[{"failure": "failures", "error": "errors", "skipped": "skipped"}[kind]] += 1
            message = f"{cell['shown_as']}: {cell.get('error') or cell['status']}"
            element = ET.SubElement(case, kind, message=_xml_text(message), type=cell["status"])
            element.text = _xml_text(cell.get("log", "")) if kind != "skipped" else None
    for key, value in counts.items():
        suite.set(key, str(value))
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def _junit_kind(cell: dict[str, Any]) -> str | None:
    shown = cell["shown_as"]
    if shown == Status.PASS.value:
        return None
    if shown in _FAILING:
        return "failure"
    if shown == Status.INFRA_ERROR.value:
        return "error"
    return "skipped"  # expected, unavailable, skipped, not_applicable


def write_junit(results: dict[str, Any], path: Path) -> None:
    write_atomic(path, junit_xml(results))


def _md(text: str) -> str:
    """One table-safe line: no pipes or newlines from error text breaking the table."""
    return " ".join(str(text).replace("|", "\\|").split())[:200]


def markdown(results: dict[str, Any], limit: int = 20) -> str:
    lines = [f"# Paddle export compatibility: run {results['run']['id']}", ""]
    lines += [f"Matrix `{results['matrix']}`, backend {results['backend']}, generated {results['generated_at']}.", ""]
    lines += ["| status | cells |", "|---|---:|"] + [f"| {k} | {v} |" for k, v in results["summary"].items()] + [""]
    lines += _transitions_md(results, limit)
    lines += _stale_md(results)
    lines += _infra_md(results)
    lines += _ranges_md(results)
    return "\n".join(lines) + "\n"


def _transitions_md(results: dict[str, Any], limit: int) -> list[str]:
    t = results.get("transitions") or {}
    if not t.get("previous_run"):
        return ["No previous run of this matrix to compare with.", ""]
    out = [
        f"## Since {t['previous_run']['id']}: {t['newly_broken']} newly broken, "
        f"{t['newly_fixed']} newly fixed, {t['changed']} changed",
        "",
    ]
    moved = [c for c in results["cells"] if c.get("transition")]
    if moved:
        out += ["| change | cell | was | now | error |", "|---|---|---|---|---|"]
        for c in moved[:limit]:
            was, error = c["previous"]["status"], _md(c.get("error", ""))
            out.append(f"| {c['transition']} | `{slug(c)}` | {was} | {c['status']} | {error} |")
        if len(moved) > limit:
            out.append(f"| ... | {len(moved) - limit} more in index.html | | | |")
        out.append("")
    return out


def _stale_md(results: dict[str, Any]) -> list[str]:
    stale = results.get("stale_expectations") or []
    if not stale:
        return []
    out = ["## Stale expectations", ""]
    out += [f"- {_md(s['reason'])} ({s['why_stale']}; {len(s['cells'])} cells) {s.get('link', '')}" for s in stale]
    return out + [""]


def _infra_md(results: dict[str, Any]) -> list[str]:
    infra = results.get("infra") or {}
    if not infra.get("runtimes") and not infra.get("infra_error_cells"):
        return []
    out = ["## Infrastructure (not incompatibilities)", ""]
    for r in infra["runtimes"]:
        out.append(f"- `{r['runtime']}` {r['state']}: {_md(r['reason'].splitlines()[0] if r['reason'] else '')}")
    if infra.get("infra_error_cells"):
        out.append(f"- {infra['infra_error_cells']} cells could not be run by the harness (infra_error)")
    return out + [""]


def _ranges_md(results: dict[str, Any]) -> list[str]:
    ranges = results.get("compat_ranges") or []
    if not ranges:
        return []
    out = ["## Where do exports load? (every model passes with at least one loader)", ""]
    out += ["| producer | export mode | oldest | newest | loads in |", "|---|---|---|---|---|"]
    for r in ranges:
        where = ", ".join(r["loads_in"]) or (
            "nowhere" if r.get("export_status", "ok") == "ok" else f"not exported ({r['export_status']})"
        )
        out.append(f"| {r['producer']} | {r['export']} | {r['oldest'] or '-'} | {r['newest'] or '-'} | {where} |")
    return out + [""]


def write_markdown(results: dict[str, Any], path: Path) -> None:
    write_atomic(path, markdown(results))
