"""Reading one JSON object of a results document, validated as it is read.

A wrong type or an unknown status raises DocumentError naming the file and the key, e.g.
``reports/results.json: cells[12].status: 'bogus' is not a status``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

from harness.document.cell import Stage, Status
from harness.errors import HarnessError
from harness.store.state import RuntimeState

EXPECTED = "expected"  # a shown status only: a failing cell a live expectation covers
SHOWN_STATUSES = frozenset({s.value for s in Status} | {EXPECTED})

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

    def shared_text(self, key: str, shared: Sequence[str]) -> str:
        """A string, or the index of one in ``shared`` (a text many cells share, kept once); "" when absent."""
        value = self.data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < len(shared):
                self.fail(key, f"{value} is not an index of the {len(shared)} shared texts")
            return shared[value]
        return self.text(key, "")

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


def parse(read: Callable[[Fields], T], data: Any, source: str, where: str = "") -> T:
    """``data`` (one parsed JSON object) read by ``read``; DocumentError names ``source`` and ``where``."""
    return read(Fields(data, source, where))
