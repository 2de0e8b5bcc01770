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
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from harness.document.cell import RESULT_SCHEMA_VERSION, CellKey, Result, Stage, Status
from harness.errors import HarnessError
from harness.store.files import CorruptState, read_json, write_json_atomic
from harness.store.state import RuntimeState

EXPECTED = "expected"  # a shown status only: a failing cell a live expectation covers
SHOWN_STATUSES = frozenset({s.value for s in Status} | {EXPECTED})
TRANSITION_KINDS = ("newly_broken", "newly_fixed", "changed")
KEY_FIELDS = ("producer", "model", "export", "consumer", "loader")

T = TypeVar("T")
E = TypeVar("E", Status, Stage, RuntimeState)


class DocumentError(HarnessError):
    """A results document that is not what this harness writes; the message names file and key."""

    exit_code = 6  # the exit code of an unreadable state file (harness.store.files.CorruptState)

    def __init__(self, source: str, where: str, problem: str) -> None:
        super().__init__(
            f"{source}: {where}: {problem}" if where else f"{source}: {problem}",
            "rebuild it from the work directory with `python -m harness report`, or fix the key named above",
        )
        self.source, self.where, self.problem = source, where, problem


def _kind(value: Any) -> str:
    names = {type(None): "null", bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    return names.get(type(value)) or ("a list" if isinstance(value, list) else "an object")


class Fields:
    """One JSON object of a document being read, and the path that names it in errors."""

    def __init__(self, data: Any, source: str, where: str = "") -> None:
        if not isinstance(data, dict):
            raise DocumentError(source, where, f"expected an object, found {_kind(data)}")
        self.data: dict[str, Any] = data
        self.source, self.where = source, where

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, problem: str) -> NoReturn:
        raise DocumentError(self.source, self.path(key), problem)

    def _get(self, key: str, required: bool) -> Any:
        if key not in self.data and required:
            self.fail(key, "missing (a required key)")
        return self.data.get(key)

    def text(self, key: str, default: str | None = None) -> str:
        """A string; ``default`` (if given) when the key is absent, never for an explicit null."""
        if key not in self.data and default is not None:
            return default
        value = self._get(key, True)
        if not isinstance(value, str):
            self.fail(key, f"expected a string, found {_kind(value)}")
        return value

    def opt_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is not None and not isinstance(value, str):
            self.fail(key, f"expected a string or null, found {_kind(value)}")
        return value

    def integer(self, key: str, default: int | None = None) -> int:
        if key not in self.data and default is not None:
            return default
        value = self._get(key, True)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"expected a whole number, found {_kind(value)}")
        return value

    def number(self, key: str) -> float | None:
        """A finite number or null (absent is null)."""
        return _number(self.data.get(key), lambda problem: self.fail(key, problem))

    def flag(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is not None and not isinstance(value, bool):
            self.fail(key, f"expected true, false or null, found {_kind(value)}")
        return value

    def enum(self, key: str, kind: type[E], what: str) -> E:
        value = self._get(key, True)
        try:
            return kind(value)
        except ValueError:
            self.fail(key, f"{value!r} is not a {what}")

    def shown(self, key: str, default: str) -> str:
        value = self.text(key, default)
        if value not in SHOWN_STATUSES:
            self.fail(key, f"{value!r} is not a status (nor {EXPECTED!r})")
        return value

    def texts(self, key: str, required: bool = False) -> list[str]:
        value = self._get(key, required)
        if value is None and not required:
            return []
        if not isinstance(value, list):
            self.fail(key, f"expected a list of strings, found {_kind(value)}")
        for n, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(f"{key}[{n}]", f"expected a string, found {_kind(item)}")
        return list(value)

    def mapping(self, key: str) -> dict[str, Any] | None:
        """A free-form object (evidence recorded elsewhere), or None when absent or null."""
        value = self.data.get(key)
        if value is not None and not isinstance(value, dict):
            self.fail(key, f"expected an object or null, found {_kind(value)}")
        return value

    def counts(self, key: str) -> dict[str, int] | None:
        found = self.mapping(key)
        if found is None:
            return None
        for name, count in found.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                self.fail(f"{key}.{name}", f"expected a count, found {count!r}")
        return dict(found)

    def child(self, key: str) -> Fields:
        return Fields(self._get(key, True), self.source, self.path(key))

    def children(self, key: str, read: Callable[[Fields], T], required: bool = False) -> list[T]:
        value = self._get(key, required)
        if value is None and not required:
            return []
        if not isinstance(value, list):
            self.fail(key, f"expected a list, found {_kind(value)}")
        return [read(Fields(item, self.source, f"{self.path(key)}[{n}]")) for n, item in enumerate(value)]


def _number(value: Any, fail: Callable[[str], NoReturn]) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(f"expected a number or null, found {_kind(value)}")
    if not math.isfinite(value):
        fail(f"{value!r} is not a finite number")
    return float(value)


# ---------------------------------------------------------------- runtimes and what they built


@dataclass(frozen=True)
class Fingerprint:
    """What a runtime reported about itself (probed inside it, never derived from versions)."""

    python: str = ""
    platform: str = ""
    paddle_version: str = ""
    paddle_commit: str = ""
    numpy: str = ""
    packages: list[str] = field(default_factory=list)  # pip freeze, name==version
    capabilities: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # any other key the runtime recorded, kept verbatim

    TEXTS = ("python", "platform", "paddle_version", "paddle_commit", "numpy")

    def to_json(self) -> dict[str, Any]:
        known = {k: getattr(self, k) for k in self.TEXTS}
        return {**self.extra, **known, "packages": list(self.packages), "capabilities": dict(self.capabilities)}

    @classmethod
    def read(cls, f: Fields) -> Fingerprint:
        extra = {k: v for k, v in f.data.items() if k not in (*cls.TEXTS, "packages", "capabilities")}
        texts = {k: f.text(k, "") for k in cls.TEXTS}
        return cls(**texts, packages=f.texts("packages"), capabilities=f.mapping("capabilities") or {}, extra=extra)

    @classmethod
    def from_json(cls, data: Any, source: str, where: str = "fingerprint") -> Fingerprint:
        return cls.read(Fields(data, source, where))


@dataclass(frozen=True)
class RuntimeEntry:
    """A declared runtime (matrix.yaml) and the state its build phase recorded."""

    id: str
    version: str
    state: RuntimeState
    package: str = "paddlepaddle"
    device: str = "cpu"
    python: str = ""
    index_url: str = ""
    pins: list[str] = field(default_factory=list)
    note: str = ""
    base_image: str = ""
    reason: str = ""
    fingerprint: Fingerprint | None = None
    backend: str | None = None

    def to_json(self) -> dict[str, Any]:
        declared = ("id", "version", "package", "device", "python", "index_url", "note", "base_image", "reason")
        return {
            **{k: getattr(self, k) for k in declared},
            "pins": list(self.pins),
            "state": self.state.value,
            "fingerprint": self.fingerprint.to_json() if self.fingerprint else None,
            "backend": self.backend,
        }

    @classmethod
    def read(cls, f: Fields) -> RuntimeEntry:
        fingerprint = f.data.get("fingerprint")
        return cls(
            id=f.text("id"),
            version=f.text("version"),
            state=f.enum("state", RuntimeState, "runtime state"),
            **{k: f.text(k, "") for k in ("python", "index_url", "note", "base_image", "reason")},
            package=f.text("package", "paddlepaddle"),
            device=f.text("device", "cpu"),
            pins=f.texts("pins"),
            fingerprint=None if fingerprint is None else Fingerprint.read(f.child("fingerprint")),
            backend=f.opt_text("backend"),
        )


@dataclass(frozen=True)
class ExportModeEntry:
    id: str
    program_format: str  # "pir" or "legacy"
    full_graph: bool | None = None  # None: not the harness's own export (a check report)
    read_main_program: bool | None = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "full_graph": self.full_graph,
            "program_format": self.program_format,
            "read_main_program": self.read_main_program,
        }

    @classmethod
    def read(cls, f: Fields) -> ExportModeEntry:
        return cls(f.text("id"), f.text("program_format"), f.flag("full_graph"), f.flag("read_main_program"))


@dataclass(frozen=True)
class LoaderEntry:
    id: str
    api: str  # "predictor" or "jit_load"
    onednn: str = "default"
    ir_optim: str = "default"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "api": self.api, "onednn": self.onednn, "ir_optim": self.ir_optim}

    @classmethod
    def read(cls, f: Fields) -> LoaderEntry:
        return cls(f.text("id"), f.text("api"), f.text("onednn", "default"), f.text("ir_optim", "default"))


@dataclass(frozen=True)
class Tolerances:
    """The numeric tolerances the verdicts used (matrix.yaml `tolerances`)."""

    score_atol: float = 1e-3
    box_atol: float = 0.05
    iou_min: float = 0.95
    array_atol: float = 1e-3
    array_rtol: float = 1e-3

    NAMES = ("score_atol", "box_atol", "iou_min", "array_atol", "array_rtol")

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.NAMES}

    @classmethod
    def read(cls, f: Fields) -> Tolerances:
        given = {k: f.number(k) for k in cls.NAMES}
        return cls(**{k: v for k, v in given.items() if v is not None})


@dataclass(frozen=True)
class ExportEntry:
    """The record of one export present in the work directory: what the detail view shows."""

    producer: str
    model: str
    export: str
    status: str  # "ok" or why not (export_failed, not_applicable, crash, timeout)
    error: str | None = None
    program_format: str | None = None
    program_file: str | None = None
    files: dict[str, int] | None = None  # name -> size in bytes
    to_static_kwargs: dict[str, Any] | None = None
    static_function: str | None = None
    paddle_version: str | None = None
    pir_api: bool | None = None
    warnings: list[str] | None = None
    params_sha256: str | None = None

    TEXTS = ("error", "program_format", "program_file", "static_function", "paddle_version", "params_sha256")

    def to_json(self) -> dict[str, Any]:
        return {
            **{k: getattr(self, k) for k in ("producer", "model", "export", "status", *self.TEXTS)},
            "files": dict(self.files) if self.files is not None else None,
            "to_static_kwargs": self.to_static_kwargs,
            "pir_api": self.pir_api,
            "warnings": list(self.warnings) if self.warnings is not None else None,
        }

    @classmethod
    def read(cls, f: Fields) -> ExportEntry:
        return cls(
            producer=f.text("producer"),
            model=f.text("model"),
            export=f.text("export"),
            status=f.text("status"),
            error=f.opt_text("error"),
            program_format=f.opt_text("program_format"),
            program_file=f.opt_text("program_file"),
            static_function=f.opt_text("static_function"),
            paddle_version=f.opt_text("paddle_version"),
            params_sha256=f.opt_text("params_sha256"),
            files=f.counts("files"),
            to_static_kwargs=f.mapping("to_static_kwargs"),
            pir_api=f.flag("pir_api"),
            warnings=f.texts("warnings") if f.data.get("warnings") is not None else None,
        )

    @classmethod
    def from_json(cls, data: Any, source: str, where: str = "") -> ExportEntry:
        return cls.read(Fields(data, source, where))


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
    """For one producer and export mode: the consumers where every model passed with at least one loader."""

    producer: str
    export: str
    loads_in: list[str]  # oldest Paddle first
    oldest: str | None
    newest: str | None
    not_tested: list[str]
    export_status: str = "ok"  # or why it was never exported

    def to_json(self) -> dict[str, Any]:
        return {
            "producer": self.producer,
            "export": self.export,
            "loads_in": list(self.loads_in),
            "oldest": self.oldest,
            "newest": self.newest,
            "not_tested": list(self.not_tested),
            "export_status": self.export_status,
        }

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


# ---------------------------------------------------------------- cells


@dataclass(frozen=True)
class CellExpectation:
    """The declared expectation that matched a cell."""

    reason: str
    link: str = ""
    expires: str = ""
    selector: str = ""
    stale: str | None = None  # why it no longer holds, or None while it does

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("reason", "link", "expires", "selector", "stale")}

    @classmethod
    def read(cls, f: Fields) -> CellExpectation:
        texts = {k: f.text(k, "") for k in ("link", "expires", "selector")}
        return cls(reason=f.text("reason"), stale=f.opt_text("stale"), **texts)


@dataclass(frozen=True)
class PreviousCell:
    """The same cell in the previous run (kept where it changed)."""

    status: Status
    shown_as: str | None = None
    max_abs_diff: float | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "shown_as": self.shown_as,
            "max_abs_diff": self.max_abs_diff,
            "error": self.error,
        }

    @classmethod
    def read(cls, f: Fields) -> PreviousCell:
        shown = f.shown("shown_as", "") if f.data.get("shown_as") is not None else None
        return cls(f.enum("status", Status, "status"), shown, f.number("max_abs_diff"), f.opt_text("error"))


@dataclass(frozen=True)
class Workaround:
    """One workaround `diagnose` tried on a cell, and where it got."""

    workaround: str
    status: Status
    error: str = ""
    max_abs_diff: float | None = None
    export: str | None = None
    loader: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "workaround": self.workaround,
            "status": self.status.value,
            "error": self.error,
            "max_abs_diff": self.max_abs_diff,
            "export": self.export,
            "loader": self.loader,
        }

    @classmethod
    def read(cls, f: Fields) -> Workaround:
        return cls(
            f.text("workaround"),
            f.enum("status", Status, "status"),
            f.text("error", ""),
            f.number("max_abs_diff"),
            f.opt_text("export"),
            f.opt_text("loader"),
        )


@dataclass(frozen=True)
class Cell:
    """A judged cell (the fields of harness.document.cell.Result) as the report shows it."""

    producer: str
    model: str
    export: str
    consumer: str
    loader: str
    status: Status
    stage: Stage | None = None
    error: str = ""
    log: str = ""
    max_abs_diff: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    duration_s: float | None = None
    shown_as: str = ""  # the status, or `expected`; "" is filled in with the status
    expectation: CellExpectation | None = None
    transition: str | None = None  # one of TRANSITION_KINDS
    previous: PreviousCell | None = None
    workarounds: list[Workaround] | None = None
    fixed_by: list[str] | None = None

    def __post_init__(self) -> None:
        if not self.shown_as:
            object.__setattr__(self, "shown_as", self.status.value)

    @property
    def key(self) -> CellKey:
        return CellKey(self.producer, self.model, self.export, self.consumer, self.loader)

    @property
    def slug(self) -> str:
        return self.key.slug

    @classmethod
    def from_result(cls, result: Result) -> Cell:
        return cls(
            result.producer,
            result.model,
            result.export,
            result.consumer,
            result.loader,
            result.status,
            result.stage,
            result.error,
            result.log,
            result.max_abs_diff,
            dict(result.details),
            result.duration_s,
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {k: getattr(self, k) for k in KEY_FIELDS}
        data |= {
            "status": self.status.value,
            "stage": self.stage.value if self.stage else None,
            "error": self.error,
            "log": self.log,
            "max_abs_diff": self.max_abs_diff,
            "details": dict(self.details),
            "duration_s": self.duration_s,
            "shown_as": self.shown_as,
        }
        if self.expectation is not None:
            data["expectation"] = self.expectation.to_json()
        if self.transition is not None:
            data["transition"] = self.transition
        if self.previous is not None:
            data["previous"] = self.previous.to_json()
        if self.workarounds is not None:
            data["workarounds"] = [w.to_json() for w in self.workarounds]
        if self.fixed_by is not None:
            data["fixed_by"] = list(self.fixed_by)
        return data

    @classmethod
    def read(cls, f: Fields) -> Cell:
        status = f.enum("status", Status, "status")
        stage = f.enum("stage", Stage, "stage") if f.data.get("stage") else None
        transition = f.opt_text("transition")
        if transition is not None and transition not in TRANSITION_KINDS:
            f.fail("transition", f"{transition!r} is not one of {', '.join(TRANSITION_KINDS)}")
        has = f.data.get
        return cls(
            producer=f.text("producer"),
            model=f.text("model"),
            export=f.text("export"),
            consumer=f.text("consumer"),
            loader=f.text("loader"),
            status=status,
            stage=stage,
            error=f.text("error", ""),
            log=f.text("log", ""),
            max_abs_diff=f.number("max_abs_diff"),
            details=f.mapping("details") or {},
            duration_s=f.number("duration_s"),
            shown_as=f.shown("shown_as", status.value),
            expectation=CellExpectation.read(f.child("expectation")) if has("expectation") is not None else None,
            transition=transition,
            previous=PreviousCell.read(f.child("previous")) if has("previous") is not None else None,
            workarounds=f.children("workarounds", Workaround.read) if has("workarounds") is not None else None,
            fixed_by=f.texts("fixed_by") if has("fixed_by") is not None else None,
        )


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
        if version != RESULT_SCHEMA_VERSION:
            f.fail("schema_version", f"{version} is not a schema this harness reads ({RESULT_SCHEMA_VERSION})")
        runtimes = f.children("runtimes", RuntimeEntry.read, required=True)
        cells = f.children("cells", Cell.read, required=True)
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
    write_json_atomic(path, doc.to_json())
