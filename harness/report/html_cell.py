"""What a cell's detail panel shows, as plain data for the page's script: the evidence, its
accuracy (mAP against the FP32 reference), what changed, the workarounds `diagnose` tried, the
upstream report; and the export fingerprints (with an INT8 export's quantization record) and
runtime fingerprints (with their CPU flags) the panels share (one per export or runtime, not
one per cell)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from harness.document.cell import FAILURES, first_line
from harness.document.results import (
    Cell,
    CellExpectation,
    DocumentError,
    ExportEntry,
    LoaderEntry,
    ResultsDocument,
    RuntimeEntry,
    Tolerances,
)
from harness.report.accuracy import CONVERTED, INT8, Accuracy, cpu_of, fixed
from harness.report.styles import MISSING, on_off, safe_link, size, value
from harness.report.upstream import upstream_sections

EXPORT_DETAIL = "export_"  # what an export failure left in a cell's details
HIDDEN_DETAILS = ("repro",)  # derived from the key; older documents stored it per cell
ACCURACY_DETAILS = ("accuracy", "numeric")  # the accuracy block's
Triple = tuple[str, str, str]  # (producer, model, export)


def triple(cell: Cell) -> Triple:
    return (cell.producer, cell.model, cell.export)


def cell_detail(
    cell: Cell, log: int, upstream: list[int] | None, export: int | None, map_drop: float = Tolerances.map_drop
) -> dict[str, Any]:
    """A cell's panel data beyond what the page's columns hold; only the keys that are set.
    ``log`` and ``upstream`` index shared texts, ``export`` the shared export fingerprints;
    ``map_drop`` is the tolerance its accuracy block compares the drop with."""
    entry: dict[str, Any] = {}
    if log >= 0:
        entry["log"] = log
    accuracy = accuracy_rows(cell, map_drop)
    moved = ACCURACY_DETAILS if accuracy else ()  # shown in their own block, not as raw numbers
    details = {k: v for k, v in cell.details.items() if k not in HIDDEN_DETAILS and k not in moved}
    if details:
        entry["details"] = details
    if accuracy:
        entry["accuracy"] = accuracy
    if cell.max_abs_diff is not None:
        entry["diff"] = cell.max_abs_diff
    if cell.duration_s is not None:
        entry["duration"] = cell.duration_s
    if cell.previous is not None:
        entry["previous"] = {"status": cell.previous.status.value, "diff": value(cell.previous.max_abs_diff)}
    if cell.workarounds:
        entry["workarounds"] = [
            {"name": w.workaround, "status": w.status.value, "error": first_line(w.error)} for w in cell.workarounds
        ]
    if cell.fixed_by:
        entry["fixed_by"] = list(cell.fixed_by)
    if upstream is not None:
        entry["upstream"] = upstream
    if export is not None:
        entry["export"] = export
    return entry


def accuracy_rows(cell: Cell, map_drop: float) -> list[list[str]] | None:
    """The accuracy block: [term, text, css class] rows; None when the cell has no mAP record."""
    acc = Accuracy.of(cell)
    if acc is None:
        return None
    rows = [["verdict", decided_by(acc), "decides" if acc.decides else ""]]
    chance = f"; chance {fixed(acc.chance_map50)}" if acc.chance_map50 is not None else ""
    rows.append(["mAP@0.5", f"{fixed(acc.map50)} (FP32 reference {fixed(acc.reference_map50)}{chance})", ""])
    rows.append(["mAP@0.5:0.95", f"{fixed(acc.map)} (FP32 reference {fixed(acc.reference_map)})", ""])
    if acc.drop is not None:
        over = acc.drop > map_drop
        judged = ("more than" if over else "within") + f" tolerances.map_drop {map_drop:g}"
        rows.append(["drop", f"{fixed(acc.drop)} below the reference: {judged}", "over" if over else ""])
    if acc.images is not None or acc.objects is not None:
        rows.append(["evaluation set", f"{value(acc.images)} images, {value(acc.objects)} objects", ""])
    precisions = f"export {acc.export_precision or MISSING}, loader {acc.loader_precision or MISSING}"
    rows.append(["precision", precisions, ""])
    if acc.agrees is not None:
        agrees = "yes" if acc.agrees else "no"
        rows.append(["agrees", f"{agrees}: the FP32 numbers pass, so mAP must equal the reference's within 0.01", ""])
    numeric = cell.details.get("numeric")
    if isinstance(numeric, Mapping):
        error = first_line(str(numeric.get("error") or ""))
        said = value(numeric.get("status")) + (f": {error}" if error else "")
        rows.append(["numeric comparison (not deciding)", said, ""])
    return rows


def decided_by(acc: Accuracy) -> str:
    """Which verdict decided the cell, and why."""
    if not acc.decides:
        return "numbers decide; mAP shown"
    why = [
        "INT8 export" if acc.export_precision == INT8 else "",
        "precision loader" if acc.loader_precision == INT8 else "",
        "converted model" if acc.loader_precision == CONVERTED else "",
    ]
    named = ", ".join(w for w in why if w)
    return f"accuracy decides ({named})" if named else "accuracy decides"


def expectation_view(exp: CellExpectation) -> dict[str, Any]:
    return {
        "reason": exp.reason,
        "link": exp.link,
        "href": safe_link(exp.link),
        "expires": exp.expires,
        "selector": exp.selector,
        "stale": exp.stale or "",
    }


def upstream_for(
    doc: ResultsDocument, intern: Callable[[str], int]
) -> Callable[[Cell, ExportEntry | None], list[int] | None]:
    """The upstream report of a failing cell as interned sections (None for any other cell)."""
    runtimes = {rt.id: rt for rt in doc.runtimes}
    loaders: Mapping[str, LoaderEntry] = {ld.id: ld for ld in doc.loaders}
    memo: dict[Hashable, str] = {}  # sections many cells share, made once

    def sections(cell: Cell, export: ExportEntry | None) -> list[int] | None:
        if cell.status not in FAILURES:
            return None
        parts = upstream_sections(
            cell,
            consumer=runtimes.get(cell.consumer),
            producer=runtimes.get(cell.producer),
            loader=loaders.get(cell.loader),
            export=export,
            memo=memo,
        )
        return [intern(part) for part in parts]

    return sections


def paddle_fp(runtime: RuntimeEntry | None) -> dict[str, Any]:
    """A runtime's fingerprint with every key present (the runtime may never have started);
    a deployment consumer's names its tool too (and the Paddle it links, if any)."""
    fp = runtime.fingerprint if runtime else None
    if fp is None:
        return {"paddle_version": "", "paddle_commit": "", "python": "", "numpy": "", "packages": []}
    known = {k: getattr(fp, k) for k in ("paddle_version", "paddle_commit", "python", "numpy")}
    tool = {"tool_version": str(fp.extra["tool_version"])} if fp.extra.get("tool_version") else {}
    found = cpu_of(runtime)
    cpu = {"cpu": f"{found[0] or MISSING} · {' '.join(found[1]) or 'no flags recorded'}"} if found else {}
    return {**known, "packages": list(fp.packages), **tool, **cpu}


# ---------------------------------------------------------------- export fingerprints


def export_records(doc: ResultsDocument) -> dict[Triple, ExportEntry]:
    """Each export's record: from `exports`, else what an export failure left in a cell's
    details (cells whose consumer never ran have none, so look for one that has)."""
    records = {(e.producer, e.model, e.export): e for e in doc.exports}
    found: dict[Triple, ExportEntry] = {}
    for cell in doc.cells:
        key = triple(cell)
        if key in records or key in found or not any(k.startswith(EXPORT_DETAIL) for k in cell.details):
            continue
        entry = from_details(cell)
        if entry is not None:
            found[key] = entry
    return {**found, **records}


def from_details(cell: Cell) -> ExportEntry | None:
    evidence = {k[len(EXPORT_DETAIL) :]: v for k, v in cell.details.items() if k.startswith(EXPORT_DETAIL)}
    data = {**evidence, "producer": cell.producer, "model": cell.model, "export": cell.export, "status": ""}
    try:
        return ExportEntry.from_json(data, "cell details", f"{cell.slug}.details")
    except DocumentError:
        return None  # evidence of an unexpected shape: shown in the numbers table, not here


def export_view(entry: ExportEntry, recorded: bool) -> dict[str, Any]:
    """The export's fingerprint as the panel shows it (the producer runtime's is apart)."""
    return {
        "recorded": recorded,
        "status": entry.status,
        "error": (entry.error or "") if recorded else "",
        "program_file": entry.program_file or "",
        "program_format": entry.program_format or "",
        "pir_api": on_off(entry.pir_api),
        "paddle_version": entry.paddle_version or "",
        "files": [[name, size(n)] for name, n in (entry.files or {}).items()],
        "params_sha256": entry.params_sha256 or "",
        "to_static_kwargs": value(entry.to_static_kwargs) if entry.to_static_kwargs is not None else "",
        "static_function": entry.static_function or "",
        "warnings": list(entry.warnings or []),
        # an INT8 export's (older documents have neither key, so their page data is as it was)
        **({"precision": entry.precision} if entry.precision else {}),
        **({"quantization": quantization_rows(entry.quantization)} if entry.quantization else {}),
    }


def quantization_rows(record: Mapping[str, Any]) -> list[list[str]]:
    """An INT8 export's quantization record as [term, text] rows (known keys first, any other
    verbatim): what quantized it, on how many images, what the saved program holds."""
    rest = dict(record)
    rows = []
    if "quantizer" in rest or "observer" in rest:
        quantizer, observer = value(rest.pop("quantizer", None)), rest.pop("observer", None)
        rows.append(["quantizer", quantizer + (f", observer {value(observer)}" if observer is not None else "")])
    if "calibration_images" in rest:
        rows.append(["calibration", f"{value(rest.pop('calibration_images'))} images"])
    ops = rest.pop("quant_ops", None)
    if isinstance(ops, Mapping):
        rows.append(["quant ops", " · ".join(f"{name} {value(n)}" for name, n in ops.items()) or "none"])
    elif ops is not None:
        rows.append(["quant ops", value(ops)])
    if "int8_weights" in rest:
        rows.append(["INT8 weights", value(rest.pop("int8_weights"))])
    return rows + [[key, value(item)] for key, item in rest.items()]


def export_views(doc: ResultsDocument, records: Mapping[Triple, ExportEntry]) -> list[dict[str, Any]]:
    recorded = {(e.producer, e.model, e.export) for e in doc.exports}
    return [export_view(entry, key in recorded) for key, entry in records.items()]


def fingerprints(ids: Sequence[str], runtimes: Mapping[str, RuntimeEntry]) -> list[dict[str, Any]]:
    """Per runtime id of the page: its Paddle fingerprint (empty where it never started)."""
    return [paddle_fp(runtimes.get(rid)) for rid in ids]
