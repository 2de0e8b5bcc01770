"""A cell is data: one Status and one serialisable Result per cell.

The report reads only serialised results, so everything a reader needs (stage, the
verbatim error, the numbers) lives on the Result.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, fields
from typing import Any

RESULT_SCHEMA_VERSION = 2  # of reports/results.json; 1 is still read (docs/results-schema.md)


class Status(str, enum.Enum):
    PASS = "pass"
    FLAKY = "flaky"  # failed, then passed on a retry; details.attempts keeps every attempt
    MISMATCH = "mismatch"  # ran, but outputs differ from the producer's reference
    # ran, but its mAP on the evaluation set fell more than tolerances.map_drop below the FP32
    # reference's (where accuracy decides: INT8 exports, precision loaders, converted models)
    ACCURACY_DROP = "accuracy_drop"
    EXPORT_FAILED = "export_failed"
    CONVERT_FAILED = "convert_failed"  # a deployment tool could not convert the export (stage convert)
    LOAD_FAILED = "load_failed"
    RUN_FAILED = "run_failed"
    CRASH = "crash"  # a process died by a signal (stage says which one)
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"  # a runtime could not be built here; the reason says why
    SKIPPED = "skipped"  # deliberately not run here (e.g. GPU runtime, no GPU)
    NOT_APPLICABLE = "not_applicable"  # the producer's Paddle has no such export option
    INFRA_ERROR = "infra_error"  # the harness itself failed; never an incompatibility


FAILURES = frozenset(
    {
        Status.MISMATCH,
        Status.ACCURACY_DROP,
        Status.EXPORT_FAILED,
        Status.CONVERT_FAILED,
        Status.LOAD_FAILED,
        Status.RUN_FAILED,
        Status.CRASH,
        Status.TIMEOUT,
    }
)


class Stage(str, enum.Enum):
    BUILD = "build"
    EXPORT = "export"
    REFERENCE = "reference"  # the producer's own reference failed its sanity check at export
    CONVERT = "convert"  # a deployment consumer's tool converting the export (Paddle-Lite opt, paddle2onnx)
    LOAD = "load"
    RUN = "run"
    COMPARE = "compare"
    ACCURACY = "accuracy"  # the mAP on the evaluation set against the FP32 reference's


@dataclass(frozen=True)
class CellKey:
    """Cell identity: (producer runtime, model, export mode, consumer runtime, loader)."""

    producer: str
    model: str
    export: str
    consumer: str
    loader: str

    @property
    def slug(self) -> str:
        return "__".join((self.producer, self.model, self.export, self.consumer, self.loader))


@dataclass(frozen=True)
class Result:
    producer: str
    model: str
    export: str
    consumer: str
    loader: str
    status: Status
    stage: Stage | None = None
    error: str = ""  # verbatim first line of the error
    log: str = ""  # full log / traceback (clipped)
    max_abs_diff: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    duration_s: float | None = None

    @property
    def key(self) -> CellKey:
        return CellKey(self.producer, self.model, self.export, self.consumer, self.loader)

    @classmethod
    def for_cell(cls, key: CellKey, status: Status, **kw: Any) -> Result:
        return cls(**asdict(key), status=status, **kw)

    def shared(self) -> dict[str, Any]:
        """The fields of a Result, by name (a Cell, which adds its own, has them too)."""
        return {f.name: getattr(self, f.name) for f in fields(Result)}

    def to_json(self) -> dict[str, Any]:
        data = self.shared()
        data["status"] = self.status.value
        data["stage"] = self.stage.value if self.stage else None
        data["details"] = dict(self.details)  # the document's own top level; nested values are only read
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        known = {f.name for f in fields(Result)}
        kw = {k: v for k, v in data.items() if k in known}
        kw["status"] = Status(kw["status"])
        kw["stage"] = Stage(kw["stage"]) if kw.get("stage") else None
        return cls(**kw)


def first_line(text: str) -> str:
    """The verbatim first meaningful line of an error: what a person greps for."""
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def clip(text: str, limit: int = 20000) -> str:
    """Keep head and tail of a long log: the cause is usually at one end."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return text[:half] + f"\n... [{len(text) - limit} characters clipped] ...\n" + text[-half:]
