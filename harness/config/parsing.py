"""The generic half of reading matrix.yaml: YAML to typed frozen dataclasses, collecting
every problem (naming the key, suggesting the near miss) instead of stopping at the first.

harness/config/matrix.py declares the dataclasses and registers their range checks in
RANGES; the choices of enumerated keys are listed here, by key name.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import typing
from typing import Any, TypeVar

import yaml

T = TypeVar("T")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# The values an enumerated key may take, whichever section it is in.
CHOICES = {
    "device": ("cpu", "gpu"),
    "program_format": ("pir", "legacy"),
    "api": ("predictor", "jit_load"),
    "package": ("paddlepaddle", "paddlepaddle-gpu"),
    "onednn": ("default", "on", "off", "int8"),
    "tensorrt": ("off", "fp32", "fp16", "int8"),
    "precision": ("fp32", "int8"),
    "quantizer": ("paddle", "paddleslim"),
    "ir_optim": ("default", "on", "off"),
    "family": ("tiny", "ppdet", "control"),
    "tool": ("lite", "onnx"),
}
# YAML 1.1 reads a bare on/off as a boolean; these keys mean the words.
SWITCHES = ("onednn", "ir_optim", "tensorrt")
# (dataclass, field) -> a check of the value once it has the field's type ("" when fine);
# filled in by the module that declares the dataclasses.
RANGES: dict[tuple[type, str], typing.Callable[[Any], str]] = {}


def at_least(low: float) -> typing.Callable[[Any], str]:
    def check(value: Any) -> str:
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number >= {low:g}, got {value!r}"
        return "" if value >= low else f"must be >= {low:g}, got {value!r}"

    return check


def positive(value: Any) -> str:
    ok = math.isfinite(value) and value > 0
    return "" if ok else f"must be a finite number of seconds > 0, got {value!r}"


def fraction(value: Any) -> str:
    return "" if 0 < value <= 1 else f"must be > 0 and <= 1, got {value!r}"


def unit(value: Any) -> str:
    return "" if 0 <= value <= 1 else f"must be >= 0 and <= 1, got {value!r}"


class YamlLoader(yaml.SafeLoader):
    """SafeLoader that keeps YAML timestamps (an unquoted 2027-06-30) as their text.

    The stock timestamp constructor raises a bare ValueError for an impossible date
    (2027-02-30) out of yaml.safe_load; as text, the date is checked with the other keys
    and reported by name."""


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


YamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


class Problems(typing.List[str]):
    def unknown_keys(self, where: str, given: typing.Iterable[str], allowed: typing.Iterable[str]) -> None:
        allowed = list(allowed)
        for key in given:
            if key not in allowed:
                near = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" Perhaps you meant {near[0]!r}?" if near else ""
                self.append(f"{where}: unknown key {key!r}.{hint}")


def parse_list(raw: dict[str, Any], name: str, cls: type[T], problems: Problems) -> list[T]:
    items = raw.get(name)
    if not isinstance(items, list) or not items:
        problems.append(f"{name}: must be a non-empty list")
        return []
    parsed: list[T] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"{name}[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be a mapping, got {type(item).__name__}")
            continue
        obj = parse_one(item, where, cls, problems)
        ident = item.get("id")
        if isinstance(ident, str) and ident in seen:
            problems.append(f"{where}.id: duplicate id {ident!r}")
        elif isinstance(ident, str):
            seen.add(ident)
        if obj is not None:
            parsed.append(obj)
    return parsed


def parse_one(item: Any, where: str, cls: type[T], problems: Problems) -> T:
    if not isinstance(item, dict):
        problems.append(f"{where}: must be a mapping, got {type(item).__name__}")
        item = {}
    hints = typing.get_type_hints(cls)
    flds = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    problems.unknown_keys(where, item, flds)
    kwargs: dict[str, Any] = {}
    before = len(problems)
    for name, fld in flds.items():
        if name not in item:
            if fld.default is dataclasses.MISSING and fld.default_factory is dataclasses.MISSING:
                problems.append(f"{where}.{name}: required key is missing")
            continue
        value = item[name]
        if name in SWITCHES and isinstance(value, bool):
            value = "on" if value else "off"
        typed = len(problems)
        value = coerce(value, hints[name], f"{where}.{name}", problems)
        check = RANGES.get((cls, name))
        if check is not None and len(problems) == typed and (wrong := check(value)):
            problems.append(f"{where}.{name}: {wrong}")
        if name in CHOICES and value not in CHOICES[name]:
            problems.append(f"{where}.{name}: must be one of {', '.join(CHOICES[name])}, got {value!r}")
        if name == "id" and isinstance(value, str) and not ID_RE.match(value):
            problems.append(f"{where}.id: {value!r} may hold only letters, digits, '.', '_' and '-'")
        kwargs[name] = value
    if len(problems) > before:
        return None  # type: ignore[return-value]
    return cls(**kwargs)


def coerce(value: Any, hint: Any, where: str, problems: Problems) -> Any:
    """Check a YAML value against a field's type; ints are accepted where floats are."""
    origin = typing.get_origin(hint)
    item_type = (typing.get_args(hint) or (None,))[0]
    if origin is tuple and dataclasses.is_dataclass(item_type):
        if not isinstance(value, list) or not value:
            problems.append(f"{where}: must be a non-empty list of mappings, got {value!r}")
            return ()
        parsed = [parse_one(v, f"{where}[{i}]", item_type, problems) for i, v in enumerate(value)]  # type: ignore[arg-type]
        return tuple(parsed)
    if origin is tuple and item_type is int:  # e.g. a deployment's opsets
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            problems.append(f"{where}: must be a list of whole numbers, got {value!r}")
            return ()
        return tuple(value)
    if origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{where}: must be a list of strings, got {value!r}")
            return ()
        return tuple(value)
    if dataclasses.is_dataclass(hint):  # a nested mapping, e.g. a model's reference_floor
        return parse_one(value, where, hint, problems)  # type: ignore[arg-type]
    if origin is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    ok = isinstance(value, hint) and not (hint is not bool and isinstance(value, bool))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not ok:
        problems.append(f"{where}: must be {hint.__name__}, got {type(value).__name__} {value!r}")
    return value
