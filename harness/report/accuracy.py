"""The accuracy tables the HTML report and summary.md share: the mAP per model and precision,
and per producer runtime the quantized (INT8) exports against their FP32 twins.

A cell that ran on a detector carries details["accuracy"] (the judge's mAP on the evaluation
set and the producer's FP32 reference). Those details are untyped JSON, so they are read here
leniently: a value of an unexpected shape is missing, never an error that stops the report.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.document.cell import FAILURES, Stage, Status
from harness.document.results import Cell, ExportModeEntry, ResultsDocument, RuntimeEntry
from harness.report.styles import MISSING, css

FP32, INT8, CONVERTED = "fp32", "int8", "converted"
PADDLE_APIS = ("predictor", "jit_load")  # any other loader api is a deployment tool's (lite, onnx)
ORDER = (FP32, INT8, CONVERTED)


def number(value: Any) -> float | None:
    """A JSON number (bool is not one), else None."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def count(value: Any) -> int | None:
    """A JSON whole number, else None."""
    found = number(value)
    return int(found) if found is not None and found.is_integer() else None


def fixed(value: float | None) -> str:
    return MISSING if value is None else f"{value:.3f}"


def span(values: Iterable[float]) -> str:
    """0.260–0.292, or one value when they agree; — for none."""
    found = sorted(set(values))
    if not found:
        return MISSING
    low, high = fixed(found[0]), fixed(found[-1])
    return low if low == high else f"{low}–{high}"


@dataclass(frozen=True)
class Accuracy:
    """A cell's details["accuracy"], typed."""

    map50: float | None
    map: float | None
    reference_map50: float | None
    reference_map: float | None
    chance_map50: float | None
    images: int | None
    objects: int | None
    drop: float | None
    export_precision: str
    loader_precision: str
    decides: bool
    agrees: bool | None  # only on FP32 numeric passes

    @classmethod
    def of(cls, cell: Cell) -> Accuracy | None:
        data = cell.details.get("accuracy")
        if not isinstance(data, Mapping):
            return None
        nums = {k: number(data.get(k)) for k in ("map50", "map", "reference_map50", "reference_map", "chance_map50")}
        agrees = data.get("agrees")
        return cls(
            **nums,
            images=count(data.get("images")),
            objects=count(data.get("objects")),
            drop=number(data.get("drop")),
            export_precision=str(data.get("export_precision") or ""),
            loader_precision=str(data.get("loader_precision") or ""),
            decides=data.get("decides") is True,
            agrees=agrees if isinstance(agrees, bool) else None,
        )


@dataclass(frozen=True)
class Precisions:
    """Which precision a cell's export and loader have, also for cells that never ran (those
    have no accuracy record to say it): from the document's export modes and loaders."""

    exports: Mapping[str, str]
    loaders: Mapping[str, str]

    @classmethod
    def of(cls, doc: ResultsDocument) -> Precisions:
        loaders = {ld.id: (ld.precision if ld.api in PADDLE_APIS else CONVERTED) for ld in doc.loaders}
        return cls({m.id: m.precision for m in doc.export_modes}, loaders)

    def group(self, cell: Cell, acc: Accuracy | None) -> tuple[str, str]:
        """(export precision, loader precision): what the judge recorded, else the document's."""
        export = (acc.export_precision if acc else "") or self.exports.get(cell.export, FP32)
        loader = (acc.loader_precision if acc else "") or self.loaders.get(cell.loader, FP32)
        return export, loader


def has_accuracy(doc: ResultsDocument) -> bool:
    """Whether the accuracy sections appear: documents without precision data render as before."""
    return (
        any(m.precision != FP32 for m in doc.export_modes)
        or any(ld.precision != FP32 for ld in doc.loaders)
        or any(isinstance(c.details.get("accuracy"), Mapping) for c in doc.cells)
    )


def ranked(seen: Iterable[str]) -> list[str]:
    """Precisions in the order fp32, int8, converted, then any other."""
    found = set(seen)
    return [p for p in ORDER if p in found] + sorted(found - set(ORDER))


def in_order(known: Iterable[str], seen: Iterable[str]) -> list[str]:
    """The ``seen`` ids in the order of ``known``, then the others as first seen."""
    found = list(dict.fromkeys(seen))
    first = [x for x in dict.fromkeys(known) if x in found]
    return first + [x for x in found if x not in first]


# ---------------------------------------------------------------- per model and precision


@dataclass
class SummaryRow:
    """One model x export precision x loader precision: how its cells fared, and their mAP@0.5."""

    model: str
    export_precision: str
    loader_precision: str
    cells: int = 0
    ran: int = 0  # cells with an mAP
    passed: int = 0
    dropped: int = 0  # accuracy_drop
    failed: int = 0  # every other failing status
    references: set[float] = field(default_factory=set)  # the producers' FP32 reference mAP@0.5
    maps: list[float] = field(default_factory=list)

    def add(self, cell: Cell, acc: Accuracy | None) -> None:
        # Real statuses: an expected failure is still an INT8 model that did not load.
        self.cells += 1
        self.passed += cell.status is Status.PASS
        self.dropped += cell.status is Status.ACCURACY_DROP
        self.failed += cell.status in FAILURES and cell.status is not Status.ACCURACY_DROP
        if acc and acc.reference_map50 is not None:
            self.references.add(acc.reference_map50)
        if acc and acc.map50 is not None:
            self.ran += 1
            self.maps.append(acc.map50)

    @property
    def reference(self) -> str:
        return span(self.references)

    @property
    def consumer(self) -> str:
        """min / median / max of the consumers' mAP@0.5."""
        if not self.maps:
            return MISSING
        return " / ".join(fixed(v) for v in (min(self.maps), statistics.median(self.maps), max(self.maps)))


def summary_rows(doc: ResultsDocument) -> list[SummaryRow]:
    precisions = Precisions.of(doc)
    rows: dict[tuple[str, str, str], SummaryRow] = {}
    for cell in doc.cells:
        acc = Accuracy.of(cell)
        key = (cell.model, *precisions.group(cell, acc))
        rows.setdefault(key, SummaryRow(*key)).add(cell, acc)
    models = in_order(doc.models, (k[0] for k in rows))
    exports, loaders = ranked(k[1] for k in rows), ranked(k[2] for k in rows)
    return sorted(
        rows.values(),
        key=lambda r: (models.index(r.model), exports.index(r.export_precision), loaders.index(r.loader_precision)),
    )


# ---------------------------------------------------------------- quantized vs FP32


@dataclass(frozen=True)
class Outcome:
    """One cell as the comparison shows it: its mAP@0.5 where it has one, else its status."""

    status: str
    map50: float | None
    index: int  # the cell's position in the document (the HTML links #cell-N)

    @property
    def css(self) -> str:
        return css(self.status)

    @property
    def text(self) -> str:
        if self.map50 is None:
            return self.status
        return fixed(self.map50) + ("" if self.status == Status.PASS.value else f" ({self.status})")


@dataclass(frozen=True)
class Pair:
    """A consumer and loader's outcome of the FP32 export and of its INT8 twin."""

    fp32: Outcome | None
    int8: Outcome | None

    @property
    def same(self) -> bool:
        """Neither ran, for the same reason (skipped, export_failed): said once."""
        return bool(self.fp32 and self.int8 and self.fp32.map50 is None and self.fp32.text == self.int8.text)

    @property
    def text(self) -> str:
        if self.fp32 is None and self.int8 is None:
            return MISSING
        if self.same and self.int8:
            return f"both {self.int8.text}"
        fp32 = f"FP32 {self.fp32.text} → " if self.fp32 else ""
        return f"{fp32}INT8 {self.int8.text if self.int8 else MISSING}"


@dataclass(frozen=True)
class Comparison:
    """One producer, model, INT8 export mode and consumer(s): per loader, FP32 → INT8."""

    producer: str
    model: str
    int8_export: str
    fp32_export: str | None  # the FP32 mode with the same program format
    reference: str  # the producer's FP32 reference mAP@0.5
    consumers: list[str]  # consumers whose outcomes are all the same share a row
    pairs: list[Pair]  # one per loader of the table

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.producer, self.model, self.int8_export)

    @property
    def texts(self) -> list[str]:
        return [p.text for p in self.pairs]


@dataclass(frozen=True)
class Cpu:
    runtimes: list[str]
    model: str
    flags: list[str]

    @property
    def text(self) -> str:
        if not self.model and not self.flags:
            return f"{', '.join(self.runtimes)}: not recorded"
        flags = " ".join(self.flags) if self.flags else "no flags recorded"
        return f"{', '.join(self.runtimes)}: {self.model or 'model not recorded'} ({flags})"


@dataclass(frozen=True)
class Quantized:
    loaders: list[str]
    rows: list[Comparison]
    cpus: list[Cpu]  # the consumer runtimes' CPUs, runtimes with the same CPU together


def cpu_of(runtime: RuntimeEntry | None) -> tuple[str, list[str]] | None:
    """(model, instruction set flags) from a runtime's fingerprint, None where not recorded."""
    fp = runtime.fingerprint if runtime else None
    cpu = fp.extra.get("cpu") if fp else None
    if not isinstance(cpu, Mapping):
        return None
    flags = cpu.get("flags")
    return str(cpu.get("model") or ""), [str(f) for f in flags] if isinstance(flags, list) else []


def twin(mode: ExportModeEntry, modes: Sequence[ExportModeEntry]) -> str | None:
    """The FP32 export mode an INT8 mode quantizes: the same program format and options,
    else the first FP32 mode with the same program format."""
    fp32 = [m for m in modes if m.precision == FP32 and m.program_format == mode.program_format]
    same = [m for m in fp32 if (m.full_graph, m.read_main_program) == (mode.full_graph, mode.read_main_program)]
    found = same or fp32
    return found[0].id if found else None


def quantized(doc: ResultsDocument) -> Quantized | None:
    """Per producer runtime and model with an INT8 export: per consumer and loader, the FP32
    export's outcome → the INT8 export's. None when the document has no INT8 export mode."""
    int8 = {m.id: m for m in doc.export_modes if m.precision == INT8}
    if not int8:
        return None
    exports = {(c.producer, c.model, c.export) for c in doc.cells if c.export in int8} - not_applicable(doc)
    involved = [c for c in doc.cells if (c.producer, c.model, c.export) in exports]
    runtimes = [r.id for r in doc.runtimes]
    loaders = in_order((ld.id for ld in doc.loaders), (c.loader for c in involved))
    consumers = in_order(runtimes, (c.consumer for c in involved))
    outcomes = Outcomes(doc)
    rows: list[Comparison] = []
    for producer in in_order(runtimes, (k[0] for k in exports)):
        for model in in_order(doc.models, (k[1] for k in exports if k[0] == producer)):
            reference = span(outcomes.references.get((producer, model), ()))
            for mode in in_order(int8, (k[2] for k in exports if k[:2] == (producer, model))):
                fp32 = twin(int8[mode], doc.export_modes)
                row = Comparison(producer, model, mode, fp32, reference, [], [])
                for consumer in consumers:
                    pairs = [
                        Pair(outcomes.get(producer, model, fp32, consumer, ld), outcomes.get(*row.key, consumer, ld))
                        for ld in loaders
                    ]
                    rows += merged(rows, row, consumer, pairs)
    shown = {rid for row in rows for rid in row.consumers}
    return Quantized(loaders, rows, cpus(r for r in doc.runtimes if r.id in shown))


def merged(rows: list[Comparison], row: Comparison, consumer: str, pairs: list[Pair]) -> list[Comparison]:
    """The new row of ``consumer`` (none when the INT8 export has no cell there), or nothing when
    it reads the same as the row before (a failed export reads the same everywhere)."""
    if not any(p.int8 for p in pairs):
        return []
    last = rows[-1] if rows else None
    if last and last.key == row.key and last.texts == [p.text for p in pairs]:
        last.consumers.append(consumer)
        return []
    return [dataclasses.replace(row, consumers=[consumer], pairs=pairs)]


def not_applicable(doc: ResultsDocument) -> set[tuple[str, str, str]]:
    """The exports that do not apply to their producer (2.x writes no PIR): left out."""
    found = {(e.producer, e.model, e.export) for e in doc.exports if e.status == Status.NOT_APPLICABLE.value}
    return found | {
        (c.producer, c.model, c.export)
        for c in doc.cells
        if c.status is Status.NOT_APPLICABLE and c.stage is Stage.EXPORT
    }


class Outcomes:
    """The document's cells by key, as outcomes; the producers' FP32 reference mAP@0.5."""

    def __init__(self, doc: ResultsDocument) -> None:
        self.cells = doc.cells
        self.at = {(c.producer, c.model, c.export, c.consumer, c.loader): n for n, c in enumerate(doc.cells)}
        self.references: dict[tuple[str, str], set[float]] = {}
        for c in doc.cells:
            if (acc := Accuracy.of(c)) and acc.reference_map50 is not None:
                self.references.setdefault((c.producer, c.model), set()).add(acc.reference_map50)

    def get(self, producer: str, model: str, export: str | None, consumer: str, loader: str) -> Outcome | None:
        n = self.at.get((producer, model, export or "", consumer, loader))
        if n is None:
            return None
        acc = Accuracy.of(self.cells[n])
        return Outcome(self.cells[n].status.value, acc.map50 if acc else None, n)


def cpus(runtimes: Iterable[RuntimeEntry]) -> list[Cpu]:
    """The runtimes' CPUs, those with the same model and flags on one line."""
    found: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for rt in runtimes:
        model, flags = cpu_of(rt) or ("", [])
        found.setdefault((model, tuple(flags)), []).append(rt.id)
    return [Cpu(ids, model, list(flags)) for (model, flags), ids in found.items()]
