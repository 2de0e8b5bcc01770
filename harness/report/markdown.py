"""summary.md from a results document: a CI step summary / pull-request comment a
maintainer reads in ten seconds: the headline counts, what changed since the previous run,
stale expectations, infrastructure, and where each producer's exports load, per model."""

from __future__ import annotations

from pathlib import Path

from harness.document.results import CompatRange, ResultsDocument
from harness.report.accuracy import has_accuracy, quantized, summary_rows
from harness.report.compat import by_version
from harness.report.html_sections import headline
from harness.store.files import write_text_atomic

CHANGES_SHOWN = 20


def one_line(text: str) -> str:
    """Table-safe: no pipes or newlines from error text breaking the table."""
    return " ".join(text.replace("|", "\\|").split())[:200]


def markdown(doc: ResultsDocument, limit: int = CHANGES_SHOWN) -> str:
    lines = [f"# Paddle export compatibility: run {doc.run.id}", ""]
    lines += [f"Matrix `{doc.matrix}`, backend {doc.backend}, generated {doc.generated_at}.", ""]
    lines += [headline_line(doc), ""]
    lines += ["| status | cells |", "|---|---:|", *(f"| {k} | {v} |" for k, v in doc.summary.items()), ""]
    sections = transitions(doc, limit) + stale(doc) + infra(doc) + ranges(doc)
    if has_accuracy(doc):  # only where there is precision data: other documents read as before
        sections += accuracy(doc) + quantized_vs_fp32(doc)
    return "\n".join(lines + sections) + "\n"


def headline_line(doc: ResultsDocument) -> str:
    h = headline(doc)
    exports = f", {h['export_cells']} cells" if h["exports"] else ""
    return (
        f"**{h['unexpected']} unexpected failures** ({h['cells']} cells failed to convert, load, run or match; "
        f"{h['exports']} exports failed{exports}) · {h['expected']} expected · {h['pass']} pass · "
        f"{h['not_run']} not run here · infrastructure, apart: {h['infra_runtimes']} runtimes not built, "
        f"{h['infra_cells']} cells not judged"
    )


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
    """Rows producer x model, columns export mode: where that model's export loads."""
    if not doc.compat_ranges:
        return []
    index = {(r.producer, r.model, r.export): r for r in doc.compat_ranges}
    modes = list(dict.fromkeys(r.export for r in doc.compat_ranges))
    rows = list(dict.fromkeys((r.producer, r.model) for r in doc.compat_ranges))
    order = [r.id for r in by_version(doc.runtimes)]
    out = ["## Where do exports load? (per model: passes with at least one loader)", ""]
    if any(r.deploys_in for r in doc.compat_ranges):
        out += ["*deploys*: the deployment consumers where it converts, runs and matches.", ""]
    out += ["| producer | model | " + " | ".join(modes) + " |", "|---|---|" + "---|" * len(modes)]
    for producer, model in rows:
        entries = [where(index.get((producer, model, mode)), order) for mode in modes]
        out.append(f"| {producer} | {model or 'every model'} | " + " | ".join(entries) + " |")
    return out + [""]


def where(entry: CompatRange | None, order: list[str]) -> str:
    if entry is None:
        return "-"
    deploys = f"; deploys: {', '.join(entry.deploys_in)}" if entry.deploys_in else ""
    return paddle_range(entry, order) + deploys


def paddle_range(entry: CompatRange, order: list[str]) -> str:
    if not entry.loads_in:
        return "nowhere" if entry.export_status == "ok" else f"not exported ({entry.export_status})"
    span = (
        order[order.index(entry.oldest) : order.index(entry.newest) + 1]
        if entry.oldest in order and entry.newest in order
        else []
    )
    holes = [c for c in span if c not in entry.loads_in and c not in entry.not_tested]
    text = entry.oldest if entry.oldest == entry.newest else f"{entry.oldest} → {entry.newest}"
    return f"{text} except {', '.join(holes)}" if holes else str(text)


def accuracy(doc: ResultsDocument) -> list[str]:
    """Rows model x export precision x loader precision: how its cells fared, and their mAP@0.5."""
    out = ["## Accuracy per model and precision (mAP@0.5 on the evaluation set)", ""]
    out += [
        "Cells by real status (expected failures too). *FP32 reference*: the producers' FP32 dygraph mAP@0.5; "
        f"*consumers*: min / median / max over the cells with an mAP; `accuracy_drop` is a fall of more than "
        f"{doc.tolerances.map_drop:g} below the reference where accuracy decides.",
        "",
        "| model | export | loader | cells | with mAP | pass | accuracy_drop | other failures | FP32 reference "
        "| consumers (min / median / max) |",
        "|---|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in summary_rows(doc):
        out.append(
            f"| {r.model} | {r.export_precision} | {r.loader_precision} | {r.cells} | {r.ran} | {r.passed} "
            f"| {r.dropped} | {r.failed} | {r.reference} | {r.consumer} |"
        )
    return out + [""]


def quantized_vs_fp32(doc: ResultsDocument) -> list[str]:
    """Per producer, model and INT8 export: per consumer and loader, FP32 → INT8."""
    table = quantized(doc)
    if table is None:
        return []
    out = ["## Quantized vs FP32 per runtime (mAP@0.5)", ""]
    if not table.rows:
        return out + ["No INT8 export was made (every INT8 export mode is not applicable here).", ""]
    out += [
        "Per consumer and loader: the FP32 export with the same program format → the INT8 export; "
        "its mAP@0.5 where it ran (with its status unless pass), else its status.",
        "",
        "| producer | model | INT8 export (FP32 twin) | FP32 reference | consumer | " + " | ".join(table.loaders)
        + " |",
        "|---|---|---|---:|---|" + "---|" * len(table.loaders),
    ]
    for row in table.rows:
        export = f"{row.int8_export} ({row.fp32_export or 'none'})"
        head = f"| {row.producer} | {row.model} | {export} | {row.reference} | {', '.join(row.consumers)} | "
        out.append(head + " | ".join(row.texts) + " |")
    out.append("")
    cpus = "; ".join(" ".join(cpu.text.split()) for cpu in table.cpus)
    return out + [f"Consumer CPUs (oneDNN INT8 kernels depend on their instruction sets): {cpus}", ""]


def write_markdown(doc: ResultsDocument, path: Path, extra: str = "") -> None:
    """summary.md; ``extra`` (a check report's own section) is appended as given."""
    write_text_atomic(path, markdown(doc) + extra)
