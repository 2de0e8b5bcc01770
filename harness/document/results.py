"""The results document (reports/results.json), typed.

Everything the report, merge and check read or write goes through these dataclasses.
A file is validated once, when it is read (``from_json`` / ``read_document``): a wrong
type or an unknown status raises DocumentError naming the file and the key, e.g.
``reports/results.json: cells[12].status: 'bogus' is not a status``. After that nobody
checks again. Sections an older harness did not write get their defaults here, at read
time, and nowhere else. The JSON keys are those of docs/results-schema.md (schema 1).
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.document.cell import RESULT_SCHEMA_VERSION, Status
from harness.document.cells import KEY_FIELDS, TRANSITION_KINDS, Cell, CellExpectation, PreviousCell, Workaround
from harness.document.fields import EXPECTED, SHOWN_STATUSES, DocumentError, Fields
from harness.document.runtimes import (
    ExportEntry,
    ExportModeEntry,
    Fingerprint,
    LoaderEntry,
    RuntimeEntry,
    Tolerances,
)
from harness.store.files import CorruptState, read_json, to_json_text, write_text_atomic
from harness.store.state import RuntimeState

READS = (1, RESULT_SCHEMA_VERSION)  # the schema versions from_json reads

__all__ = [  # the sections of the document, wherever they are defined
    "EXPECTED",
    "KEY_FIELDS",
    "SHOWN_STATUSES",
    "TRANSITION_KINDS",
    "Cell",
    "CellExpectation",
    "CompatRange",
    "DocumentError",
    "ExportEntry",
    "ExportModeEntry",
    "Fields",
    "Fingerprint",
    "Infra",
    "InfraRuntime",
    "LoaderEntry",
    "PreviousCell",
    "PreviousRun",
    "ResultsDocument",
    "RunInfo",
    "RuntimeEntry",
    "StaleExpectation",
    "Tolerances",
    "Transitions",
    "TrendPoint",
    "Workaround",
    "count_shown",
    "document_text",
    "from_json",
    "read_document",
    "write_document",
]

# ---------------------------------------------------------------- derived sections


@dataclass(frozen=True)
class StaleExpectation:
    reason: str
    link: str
    expires: str
    selector: str
    why_stale: str  # "now passes" / "expired on ..."
    cells: list[str]  # slugs of the cells that made it stale

    def to_json(self) -> dict[str, Any]:
        return {
            **{k: getattr(self, k) for k in ("reason", "link", "expires", "selector", "why_stale")},
            "cells": list(self.cells),
        }

    @classmethod
    def read(cls, f: Fields) -> StaleExpectation:
        texts = {k: f.text(k, "") for k in ("link", "expires", "selector")}
        return cls(reason=f.text("reason"), why_stale=f.text("why_stale"), cells=f.texts("cells"), **texts)


@dataclass(frozen=True)
class InfraRuntime:
    runtime: str
    state: RuntimeState
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"runtime": self.runtime, "state": self.state.value, "reason": self.reason}

    @classmethod
    def read(cls, f: Fields) -> InfraRuntime:
        return cls(f.text("runtime"), f.enum("state", RuntimeState, "runtime state"), f.text("reason", ""))


@dataclass(frozen=True)
class Infra:
    """Infrastructure problems, kept apart from incompatibilities."""

    runtimes: list[InfraRuntime] = field(default_factory=list)
    infra_error_cells: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"runtimes": [r.to_json() for r in self.runtimes], "infra_error_cells": self.infra_error_cells}

    @classmethod
    def read(cls, f: Fields) -> Infra:
        return cls(f.children("runtimes", InfraRuntime.read), f.integer("infra_error_cells", 0))

    @classmethod
    def of(cls, runtimes: Iterable[RuntimeEntry], cells: Iterable[Cell]) -> Infra:
        """Derived from the runtime states and the cells (also for a file written before `infra`)."""
        problems = [InfraRuntime(r.id, r.state, r.reason) for r in runtimes if r.state.is_infra]
        return cls(problems, sum(c.status is Status.INFRA_ERROR for c in cells))


@dataclass(frozen=True)
class CompatRange:
    """For one producer, model and export mode: the consumers where that model passed with
    at least one loader. ``model`` "" (files before schema 2): every model together.
    ``deploys_in``: the deployment consumers where it passed with at least one target or
    opset (not part of the oldest -> newest Paddle range)."""

    producer: str
    export: str
    loads_in: list[str]  # oldest Paddle first
    oldest: str | None
    newest: str | None
    not_tested: list[str]
    export_status: str = "ok"  # or why it was never exported
    model: str = ""
    deploys_in: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "producer": self.producer,
            "export": self.export,
            "loads_in": list(self.loads_in),
            "oldest": self.oldest,
            "newest": self.newest,
            "not_tested": list(self.not_tested),
            "export_status": self.export_status,
        }
        if self.model:
            data["model"] = self.model
        if self.deploys_in:
            data["deploys_in"] = list(self.deploys_in)
        return data

    @classmethod
    def read(cls, f: Fields) -> CompatRange:
        return cls(
            f.text("producer"),
            f.text("export"),
            f.texts("loads_in", required=True),
            f.opt_text("oldest"),
            f.opt_text("newest"),
            f.texts("not_tested"),
            f.text("export_status", "ok"),
            f.text("model", ""),
            f.texts("deploys_in"),
        )


@dataclass(frozen=True)
class PreviousRun:
    id: str
    generated_at: str

    @classmethod
    def read(cls, f: Fields) -> PreviousRun:
        return cls(f.text("id"), f.text("generated_at", ""))


@dataclass(frozen=True)
class Transitions:
    """Changes against the previous run of the same matrix (all zero without one)."""

    previous_run: PreviousRun | None = None
    newly_broken: int = 0
    newly_fixed: int = 0
    changed: int = 0

    def to_json(self) -> dict[str, Any]:
        previous = self.previous_run
        return {
            "previous_run": {"id": previous.id, "generated_at": previous.generated_at} if previous else None,
            **{k: getattr(self, k) for k in TRANSITION_KINDS},
        }

    @classmethod
    def read(cls, f: Fields) -> Transitions:
        previous = PreviousRun.read(f.child("previous_run")) if f.data.get("previous_run") is not None else None
        return cls(previous, **{k: f.integer(k, 0) for k in TRANSITION_KINDS})


@dataclass(frozen=True)
class TrendPoint:
    run_id: str
    generated_at: str
    counts: dict[str, int]  # shown status -> cells of this consumer in that run

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "generated_at": self.generated_at, "counts": dict(self.counts)}

    @classmethod
    def read(cls, f: Fields) -> TrendPoint:
        return cls(f.text("run_id"), f.text("generated_at", ""), f.counts("counts") or {})


@dataclass(frozen=True)
class RunInfo:
    id: str  # derived from the recorded results: a rebuilt report is the same run
    previous_id: str | None = None

    @classmethod
    def read(cls, f: Fields) -> RunInfo:
        return cls(f.text("id", ""), f.opt_text("previous_id"))


# ---------------------------------------------------------------- the document


def count_shown(cells: Iterable[Cell]) -> dict[str, int]:
    """Shown status -> number of cells, sorted by status (the `summary` section)."""
    return dict(sorted(collections.Counter(c.shown_as for c in cells).items()))


@dataclass(frozen=True)
class ResultsDocument:
    generated_at: str  # UTC, ISO 8601
    run: RunInfo
    matrix: str  # the matrix file the run used
    backend: str
    runtimes: list[RuntimeEntry]
    models: list[str]
    export_modes: list[ExportModeEntry]
    loaders: list[LoaderEntry]
    tolerances: Tolerances
    summary: dict[str, int]
    stale_expectations: list[StaleExpectation]
    infra: Infra
    exports: list[ExportEntry]
    compat_ranges: list[CompatRange]
    transitions: Transitions
    trend: dict[str, list[TrendPoint]]  # consumer runtime -> the last runs, oldest first
    cells: list[Cell]
    check: dict[str, Any] | None = None  # only in `check` reports
    schema_version: int = RESULT_SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema_version": self.schema_version,
            "generated_at": self.generated_at,
            "run": {"id": self.run.id, "previous_id": self.run.previous_id},
            "matrix": self.matrix,
            "backend": self.backend,
            "runtimes": [r.to_json() for r in self.runtimes],
            "models": list(self.models),
            "export_modes": [m.to_json() for m in self.export_modes],
            "loaders": [ld.to_json() for ld in self.loaders],
            "tolerances": self.tolerances.to_json(),
            "summary": dict(self.summary),
            "stale_expectations": [s.to_json() for s in self.stale_expectations],
            "infra": self.infra.to_json(),
            "exports": [e.to_json() for e in self.exports],
            "compat_ranges": [r.to_json() for r in self.compat_ranges],
            "transitions": self.transitions.to_json(),
            "trend": {rt: [p.to_json() for p in points] for rt, points in self.trend.items()},
            "cells": [c.to_json() for c in self.cells],
        }
        if self.check is not None:
            data["check"] = self.check
        return data

    @classmethod
    def from_json(cls, data: Any, source: str) -> ResultsDocument:
        """Validate a parsed results.json once; DocumentError names ``source`` and the key."""
        f = Fields(data, source)
        version = f.integer("schema_version")
        if version not in READS:
            f.fail("schema_version", f"{version} is not a schema this harness reads ({', '.join(map(str, READS))})")
        runtimes = f.children("runtimes", RuntimeEntry.read, required=True)
        logs = f.texts("logs")
        cells = f.children("cells", lambda c: Cell.read(c, logs), required=True)
        has = f.data.get
        trend = f.mapping("trend") or {}
        return cls(
            schema_version=version,
            generated_at=f.text("generated_at"),
            run=RunInfo.read(f.child("run")) if has("run") is not None else RunInfo(""),
            matrix=f.text("matrix"),
            backend=f.text("backend"),
            runtimes=runtimes,
            models=f.texts("models", required=True),
            export_modes=f.children("export_modes", ExportModeEntry.read, required=True),
            loaders=f.children("loaders", LoaderEntry.read, required=True),
            tolerances=Tolerances.read(f.child("tolerances")) if has("tolerances") is not None else Tolerances(),
            summary=f.counts("summary") or count_shown(cells),
            stale_expectations=f.children("stale_expectations", StaleExpectation.read),
            infra=Infra.read(f.child("infra")) if has("infra") is not None else Infra.of(runtimes, cells),
            exports=f.children("exports", ExportEntry.read),
            compat_ranges=f.children("compat_ranges", CompatRange.read),
            transitions=Transitions.read(f.child("transitions")) if has("transitions") is not None else Transitions(),
            trend={rt: Fields(trend, source, "trend").children(rt, TrendPoint.read, required=True) for rt in trend},
            cells=cells,
            check=f.mapping("check"),
        )


def from_json(data: Any, source: str) -> ResultsDocument:
    return ResultsDocument.from_json(data, source)


def read_document(path: Path) -> ResultsDocument:
    """A results.json from disk, validated; DocumentError (naming the file) when it is not one."""
    try:
        data = read_json(path)
    except CorruptState as exc:
        raise DocumentError(str(path), "", exc.why) from None
    except OSError as exc:
        raise DocumentError(str(path), "", f"cannot be read ({exc.strerror or exc})") from None
    return ResultsDocument.from_json(data, str(path))


def write_document(doc: ResultsDocument, path: Path) -> None:
    """Atomically, as strict JSON (a NaN anywhere is a bug upstream and fails here)."""
    write_text_atomic(path, document_text(doc))


def document_text(doc: ResultsDocument) -> str:
    """results.json as schema 2 writes it: the sections indented, then ``logs`` (every log
    two or more cells share, once) and ``cells``, one compact line per cell, whose ``log``
    is its own text or the index of a shared one. Linear in the cells with a small constant."""
    data = doc.to_json()
    cells = data.pop("cells")
    data["schema_version"] = RESULT_SCHEMA_VERSION
    repeated = collections.Counter(c["log"] for c in cells if c["log"])
    shared = {text: n for n, text in enumerate(t for t, times in repeated.items() if times > 1)}
    line = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False, default=str).encode
    rows = [line({**c, "log": shared.get(c["log"], c["log"])}) for c in cells]
    logs = [json.dumps(text, allow_nan=False) for text in shared]
    head = to_json_text(data)
    return "".join(
        [head[: head.rindex("}")].rstrip(), ',\n "logs": [\n  ', ",\n  ".join(logs), "\n ],\n"]
        + [' "cells": [\n', ",\n".join(rows), "\n ]\n}\n"]
    )
