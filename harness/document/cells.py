"""The cells of a results document: a judged Result as the report shows it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.document.cell import Result, Stage, Status
from harness.document.fields import Fields

TRANSITION_KINDS = ("newly_broken", "newly_fixed", "changed")
KEY_FIELDS = ("producer", "model", "export", "consumer", "loader")


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
        rest = ("error", "max_abs_diff", "export", "loader")
        return {"workaround": self.workaround, "status": self.status.value, **{k: getattr(self, k) for k in rest}}

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
class Cell(Result):
    """A judged cell: the fields of its Result, then how the report shows it and why."""

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
    def slug(self) -> str:
        return self.key.slug

    @classmethod
    def from_result(cls, result: Result) -> Cell:
        return cls(**{**result.shared(), "details": dict(result.details)})

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        data["shown_as"] = self.shown_as
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
    def read(cls, f: Fields, logs: Sequence[str] = ()) -> Cell:
        """``logs``: the document's shared logs, which a cell's ``log`` may name by index (schema 2)."""
        status = f.enum("status", Status, "status")
        stage = f.enum("stage", Stage, "stage") if f.data.get("stage") else None
        transition = f.opt_text("transition")
        if transition is not None and transition not in TRANSITION_KINDS:
            f.fail("transition", f"{transition!r} is not one of {', '.join(TRANSITION_KINDS)}")
        has = f.data.get
        return cls(
            **{k: f.text(k) for k in KEY_FIELDS},
            status=status,
            stage=stage,
            error=f.text("error", ""),
            log=f.shared_text("log", logs),
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
