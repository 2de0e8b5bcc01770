"""A runtime's recorded state (work/runtimes/<id>/state.json), typed.

The build phase writes it; every later phase, the report and the tools read it through
``read_state``, which never raises for a missing or corrupt file: a missing file is
NOT_BUILT, a corrupt one is moved aside and reported as NOT_BUILT with the reason, so
the next build recomputes it and nothing else is lost.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from harness.store.files import CorruptState, move_aside, read_json_object, write_json_atomic
from harness.store.layout import Workspace


class RuntimeState(str, enum.Enum):
    READY = "ready"
    UNAVAILABLE = "unavailable"  # could not be built here; the reason says why
    SKIPPED = "skipped"  # deliberately not run here (GPU runtime without a GPU)
    NOT_BUILT = "not_built"  # its build phase never ran (or its record was unreadable)

    @property
    def is_infra(self) -> bool:
        """States that are infrastructure problems, not decisions (skipped is a decision)."""
        return self in (RuntimeState.UNAVAILABLE, RuntimeState.NOT_BUILT)


@dataclass(frozen=True)
class RuntimeRecord:
    id: str
    state: RuntimeState
    reason: str = ""
    fingerprint: dict[str, Any] | None = None
    backend: str | None = None
    identity: str = ""  # what the backend built (venv marker, image id): unchanged means no re-probe
    build_s: float | None = None
    runtime: dict[str, Any] = field(default_factory=dict)  # the declaration it was built from
    image_size: int | None = None  # bytes of the runtime's image (backends with images)
    image_build_s: float | None = None  # how long building that image took (None: built before)

    @property
    def ready(self) -> bool:
        return self.state is RuntimeState.READY

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state.value,
            "reason": self.reason,
            "fingerprint": self.fingerprint,
            "backend": self.backend,
            "identity": self.identity,
            "build_s": self.build_s,
            "runtime": self.runtime,
            "image_size": self.image_size,
            "image_build_s": self.image_build_s,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RuntimeRecord:
        fingerprint = data.get("fingerprint")
        return cls(
            id=str(data["id"]),
            state=RuntimeState(data["state"]),
            reason=str(data.get("reason") or ""),
            fingerprint=fingerprint if isinstance(fingerprint, dict) else None,
            backend=data.get("backend"),
            identity=str(data.get("identity") or ""),
            build_s=data.get("build_s"),
            runtime=dict(data.get("runtime") or {}),
            image_size=data.get("image_size"),
            image_build_s=data.get("image_build_s"),
        )


def not_built(rt_id: str, why: str = "") -> RuntimeRecord:
    return RuntimeRecord(
        rt_id, RuntimeState.NOT_BUILT, why or f"runtime {rt_id} was not built: run the build phase for it"
    )


def read_state(ws: Workspace, rt_id: str) -> RuntimeRecord:
    path = ws.state_file(rt_id)
    if not path.exists():
        return not_built(rt_id)
    try:
        record = RuntimeRecord.from_json(read_json_object(path))
    except CorruptState as exc:
        moved = move_aside(path)
        return not_built(rt_id, f"{exc.message}; moved aside to {moved.name}: rebuild runtime {rt_id}")
    except (KeyError, ValueError, TypeError) as exc:
        moved = move_aside(path)
        why = f"{path} is unreadable: not a runtime record ({type(exc).__name__}: {exc})"
        return not_built(rt_id, f"{why}; moved aside to {moved.name}: rebuild runtime {rt_id}")
    return record


def write_state(ws: Workspace, record: RuntimeRecord) -> None:
    write_json_atomic(ws.state_file(record.id), record.to_json())
