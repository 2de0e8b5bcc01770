"""matrix.yaml -> frozen dataclasses.

Every problem is collected and raised once as a bulleted ConfigError naming the key
(``runtimes[3].version``), with a "did you mean" for near-miss keys. No tracebacks.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from harness.errors import ConfigError

SCHEMA_VERSION = 1
PYPI = "https://pypi.org/simple"
_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+((rc|b|a|\.post)\d+)?$")
_PYTHON_RE = re.compile(r"^3\.\d+$")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Source:
    """One place a runtime's Paddle wheel may come from; "" keeps the runtime's own value."""

    package: str = ""
    index_url: str = ""


@dataclass(frozen=True)
class Runtime:
    id: str
    version: str  # exact Paddle version, e.g. "2.6.2"
    package: str = "paddlepaddle"  # or paddlepaddle-gpu
    device: str = "cpu"
    python: str = "3.11"
    index_url: str = PYPI  # where the Paddle wheel lives
    pins: tuple[str, ...] = ()  # extra requirements, e.g. "numpy<2" for Paddle <= 2.5
    note: str = ""
    # Docker backend only: the image the runtime's image is built on. "" means
    # python:{python}-slim for cpu and an NVIDIA CUDA runtime image for gpu.
    base_image: str = ""
    # Where the wheel may come from, tried in order (e.g. Paddle's CPU index, then PyPI's GPU
    # wheel of the same version, which runs on the CPU where there is no GPU). Empty: the one
    # source given by package and index_url.
    sources: tuple[Source, ...] = ()

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def candidates(self) -> tuple[Runtime, ...]:
        """This runtime once per wheel source, in the order to try (each with no sources)."""
        if not self.sources:
            return (self,)
        return tuple(
            dataclasses.replace(
                self, package=s.package or self.package, index_url=s.index_url or self.index_url, sources=()
            )
            for s in self.sources
        )


@dataclass(frozen=True)
class ReferenceFloor:
    """What a producer's reference must find before consumers are compared with it: of the
    objects the harness drew into the fixed scenes, at least `recall` (a fraction) must have
    a detection of the right label at IoU >= `iou` with score >= `score`. Every box must lie
    inside its image, `margin` pixels allowed. Only where the model's scenes have a known truth."""

    iou: float = 0.5
    score: float = 0.3
    recall: float = 0.5
    margin: float = 1.0  # pixels


@dataclass(frozen=True)
class Model:
    id: str
    train_steps: int = 30
    seed: int = 0
    # "tiny": the harness's own detectors (harness/inside/models.py). "ppdet": built from
    # PaddleDetection's config system and exported by its own export steps (ppdet_models.py).
    family: str = "tiny"
    # Extra requirements of this model's producer processes (train, export), installed next
    # to each runtime (--no-deps --target), never into it: consumers load exports with the
    # runtime's own packages, and the runtime's fingerprint stays what was built.
    requires: tuple[str, ...] = ()
    # Export with H and W -1 (tiny ppyoloe_tiny only): trained on, and judged at, 64 and 96 px.
    dynamic_size: bool = False
    # The reference's sanity floor (see ReferenceFloor): a reference below it makes every
    # export of the model export_failed at the `reference` stage.
    reference_floor: ReferenceFloor = field(default_factory=ReferenceFloor)


@dataclass(frozen=True)
class ExportMode:
    id: str
    full_graph: bool
    program_format: str  # "pir" (.json) or "legacy" (.pdmodel)
    # Read static_model.forward.main_program before saving, as PaddleDetection's export
    # does to prune its input spec: the step that fails with "Can't call main_program
    # when full_graph=False".
    read_main_program: bool = False


@dataclass(frozen=True)
class Loader:
    id: str
    api: str  # "predictor" (paddle.inference) or "jit_load"
    # "default" leaves paddle.inference.Config as a user's minimal code would;
    # "on"/"off" calls enable_mkldnn()/disable_mkldnn(), switch_ir_optim(True/False).
    onednn: str = "default"
    ir_optim: str = "default"


@dataclass(frozen=True)
class Expectation:
    """A known incompatibility: matching failing cells show as `expected`, not red.

    Selectors are shell-style patterns (``cpu-3.*``) on the cell's ids. An expectation
    whose cells now pass, or whose expiry date is past, is reported as stale."""

    reason: str
    link: str = ""
    producer: str = "*"
    consumer: str = "*"
    model: str = "*"
    export: str = "*"
    loader: str = "*"
    statuses: tuple[str, ...] = ()  # the failing statuses it covers; empty: any failure
    expires: str = ""  # YYYY-MM-DD; empty: never


@dataclass(frozen=True)
class Tolerances:
    score_atol: float = 1e-3
    box_atol: float = 0.05  # pixels
    iou_min: float = 0.95
    array_atol: float = 1e-3  # non-detection outputs
    array_rtol: float = 1e-3


@dataclass(frozen=True)
class Timeouts:
    build_s: float = 1800
    export_s: float = 600
    cell_s: float = 120
    worker_start_s: float = 180


@dataclass(frozen=True)
class Matrix:
    runtimes: tuple[Runtime, ...]
    models: tuple[Model, ...]
    export_modes: tuple[ExportMode, ...]
    loaders: tuple[Loader, ...]
    tolerances: Tolerances = field(default_factory=Tolerances)
    timeouts: Timeouts = field(default_factory=Timeouts)
    expectations: tuple[Expectation, ...] = ()
    retries: int = 0  # extra attempts for a failing cell; a pass on a retry is `flaky`
    schema_version: int = SCHEMA_VERSION
    source: str = "matrix.yaml"

    def runtime(self, runtime_id: str) -> Runtime:
        for rt in self.runtimes:
            if rt.id == runtime_id:
                return rt
        raise ConfigError(self.source, [unknown_id_message("runtime", runtime_id, self.runtime_ids)])

    @property
    def runtime_ids(self) -> list[str]:
        return [rt.id for rt in self.runtimes]

    def select(self, runtime_ids: list[str]) -> Matrix:
        """The same matrix restricted to the named runtimes (order of matrix.yaml).

        An empty list is an error, never "everything": callers that mean the whole matrix
        do not call select (see parse_runtime_list)."""
        if not runtime_ids:
            raise ConfigError("--runtimes", [_NO_RUNTIME])
        problems = [
            unknown_id_message("runtime", rid, self.runtime_ids) for rid in runtime_ids if rid not in self.runtime_ids
        ]
        if problems:
            raise ConfigError("--runtimes", problems)
        chosen = tuple(rt for rt in self.runtimes if rt.id in runtime_ids)
        return dataclasses.replace(self, runtimes=chosen)


_NO_RUNTIME = "names no runtime; give ids like cpu-2.6.2,cpu-3.3.1 or leave the flag out"


def parse_runtime_list(text: str | None, flag: str = "--runtimes") -> list[str] | None:
    """The runtime ids of a comma-separated flag value, in order, without repeats.

    None (the flag was not given) stays None: the whole matrix. A value that names no
    runtime ("", " , ") is a ConfigError, so a script whose variable came out empty does
    not silently run everything."""
    if text is None:
        return None
    ids = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not ids:
        raise ConfigError(flag, [f"{text!r} {_NO_RUNTIME}"])
    return ids


def unknown_id_message(kind: str, given: str, known: list[str]) -> str:
    near = difflib.get_close_matches(given, known, n=1)
    hint = f" Perhaps you meant {near[0]!r}?" if near else ""
    return f"unknown {kind} {given!r}.{hint} Known: {', '.join(known)}"


# ---------------------------------------------------------------- parsing
_SECTIONS: dict[str, type] = {
    "runtimes": Runtime,
    "models": Model,
    "export_modes": ExportMode,
    "loaders": Loader,
}
_SINGLE: dict[str, type] = {"tolerances": Tolerances, "timeouts": Timeouts}
_TOP_KEYS = {"schema_version", "expectations", "retries", *_SECTIONS, *_SINGLE}
_FAILING = ("mismatch", "export_failed", "load_failed", "run_failed", "crash", "timeout")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CHOICES = {
    "device": ("cpu", "gpu"),
    "program_format": ("pir", "legacy"),
    "api": ("predictor", "jit_load"),
    "package": ("paddlepaddle", "paddlepaddle-gpu"),
    "onednn": ("default", "on", "off"),
    "ir_optim": ("default", "on", "off"),
    "family": ("tiny", "ppdet"),
}


def _at_least(low: float) -> typing.Callable[[Any], str]:
    def check(value: Any) -> str:
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number >= {low:g}, got {value!r}"
        return "" if value >= low else f"must be >= {low:g}, got {value!r}"

    return check


def _positive(value: Any) -> str:
    ok = math.isfinite(value) and value > 0
    return "" if ok else f"must be a finite number of seconds > 0, got {value!r}"


def _fraction(value: Any) -> str:
    return "" if 0 < value <= 1 else f"must be > 0 and <= 1, got {value!r}"


def _unit(value: Any) -> str:
    return "" if 0 <= value <= 1 else f"must be >= 0 and <= 1, got {value!r}"


# Range checks of numeric fields, run once the value has the field's type.
_RANGES: dict[tuple[type, str], typing.Callable[[Any], str]] = {
    (Model, "train_steps"): _at_least(1),
    (Model, "seed"): _at_least(0),
    **{(Timeouts, f.name): _positive for f in dataclasses.fields(Timeouts)},
    **{(Tolerances, f.name): _at_least(0) for f in dataclasses.fields(Tolerances)},
    (Tolerances, "iou_min"): _fraction,
    (ReferenceFloor, "iou"): _fraction,
    (ReferenceFloor, "score"): _unit,
    (ReferenceFloor, "recall"): _unit,
    (ReferenceFloor, "margin"): _at_least(0),
}
# YAML 1.1 reads a bare on/off as a boolean; these keys mean the words.
_SWITCHES = ("onednn", "ir_optim")
T = TypeVar("T")


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps YAML timestamps (an unquoted 2027-06-30) as their text.

    The stock timestamp constructor raises a bare ValueError for an impossible date
    (2027-02-30) out of yaml.safe_load; as text, the date is checked with the other keys
    and reported by name."""


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


class _Problems(typing.List[str]):
    def unknown_keys(self, where: str, given: typing.Iterable[str], allowed: typing.Iterable[str]) -> None:
        allowed = list(allowed)
        for key in given:
            if key not in allowed:
                near = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" Perhaps you meant {near[0]!r}?" if near else ""
                self.append(f"{where}: unknown key {key!r}.{hint}")


def load_matrix(path: str | Path) -> Matrix:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror}"]) from None
    return parse_matrix(text, source=str(path))


def parse_matrix(text: str, source: str = "matrix.yaml") -> Matrix:
    try:
        raw = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: plain data only
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        # Constructors of explicit tags raise bare errors too: `!!int x`, `!!float x`.
        raise ConfigError(source, [f"not valid YAML: {exc}"]) from None
    if not isinstance(raw, dict):
        raise ConfigError(source, ["the top level must be a mapping with keys " + ", ".join(sorted(_TOP_KEYS))])
    problems = _Problems()
    problems.unknown_keys("top level", raw, _TOP_KEYS)
    if raw.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        problems.append(f"schema_version: this harness reads version {SCHEMA_VERSION}, got {raw['schema_version']!r}")
    sections: dict[str, list[Any]] = {name: _parse_list(raw, name, cls, problems) for name, cls in _SECTIONS.items()}
    singles: dict[str, Any] = {
        name: _parse_one(raw.get(name) or {}, name, cls, problems) for name, cls in _SINGLE.items()
    }
    for rt in sections["runtimes"]:
        _check_runtime(rt, problems)
    for model in sections["models"]:
        _check_model(model, problems)
    expectations = _parse_expectations(raw.get("expectations") or [], problems)
    retries = raw.get("retries", 0)
    if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 5:
        problems.append(f"retries: must be a whole number from 0 to 5, got {retries!r}")
    if problems:
        raise ConfigError(source, list(problems))
    return Matrix(
        **{k: tuple(v) for k, v in sections.items()},  # type: ignore[arg-type]
        **singles,
        expectations=tuple(expectations),
        retries=retries,
        source=source,
    )


def _parse_expectations(items: Any, problems: _Problems) -> list[Expectation]:
    if not isinstance(items, list):
        problems.append("expectations: must be a list")
        return []
    parsed = []
    for i, item in enumerate(items):
        where = f"expectations[{i}]"
        exp = _parse_one(item, where, Expectation, problems)
        if exp is None:
            continue
        if exp.expires and not _DATE_RE.match(exp.expires):
            problems.append(f"{where}.expires: {exp.expires!r} must be a date like 2027-06-30")
        elif exp.expires:
            try:
                datetime.date.fromisoformat(exp.expires)
            except ValueError as exc:
                problems.append(f"{where}.expires: {exp.expires!r} is not a calendar date ({exc})")
        for status in exp.statuses:
            if status not in _FAILING:
                problems.append(f"{where}.statuses: {status!r} is not a failing status ({', '.join(_FAILING)})")
        if exp.link and not exp.link.startswith(("https://", "http://")):
            problems.append(f"{where}.link: {exp.link!r} must be an http(s) URL")
        parsed.append(exp)
    return parsed


def _parse_list(raw: dict[str, Any], name: str, cls: type[T], problems: _Problems) -> list[T]:
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
        obj = _parse_one(item, where, cls, problems)
        ident = item.get("id")
        if isinstance(ident, str) and ident in seen:
            problems.append(f"{where}.id: duplicate id {ident!r}")
        elif isinstance(ident, str):
            seen.add(ident)
        if obj is not None:
            parsed.append(obj)
    return parsed


def _parse_one(item: Any, where: str, cls: type[T], problems: _Problems) -> T:
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
        if name in _SWITCHES and isinstance(value, bool):
            value = "on" if value else "off"
        typed = len(problems)
        value = _coerce(value, hints[name], f"{where}.{name}", problems)
        check = _RANGES.get((cls, name))
        if check is not None and len(problems) == typed and (wrong := check(value)):
            problems.append(f"{where}.{name}: {wrong}")
        if name in _CHOICES and value not in _CHOICES[name]:
            problems.append(f"{where}.{name}: must be one of {', '.join(_CHOICES[name])}, got {value!r}")
        if name == "id" and isinstance(value, str) and not _ID_RE.match(value):
            problems.append(f"{where}.id: {value!r} may hold only letters, digits, '.', '_' and '-'")
        kwargs[name] = value
    if len(problems) > before:
        return None  # type: ignore[return-value]
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, where: str, problems: _Problems) -> Any:
    """Check a YAML value against a field's type; ints are accepted where floats are."""
    origin = typing.get_origin(hint)
    item_type = (typing.get_args(hint) or (None,))[0]
    if origin is tuple and dataclasses.is_dataclass(item_type):
        if not isinstance(value, list) or not value:
            problems.append(f"{where}: must be a non-empty list of mappings, got {value!r}")
            return ()
        parsed = [_parse_one(v, f"{where}[{i}]", item_type, problems) for i, v in enumerate(value)]  # type: ignore[arg-type]
        return tuple(parsed)
    if origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{where}: must be a list of strings, got {value!r}")
            return ()
        return tuple(value)
    if dataclasses.is_dataclass(hint):  # a nested mapping, e.g. a model's reference_floor
        return _parse_one(value, where, hint, problems)  # type: ignore[arg-type]
    if origin is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    ok = isinstance(value, hint) and not (hint is not bool and isinstance(value, bool))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not ok:
        problems.append(f"{where}: must be {hint.__name__}, got {type(value).__name__} {value!r}")
    return value


def _check_runtime(rt: Runtime, problems: _Problems) -> None:
    where = f"runtimes[{rt.id}]"
    if not _VERSION_RE.match(rt.version):
        problems.append(f"{where}.version: {rt.version!r} is not an exact version like '2.6.2' or '3.0.0rc1'")
    if not _PYTHON_RE.match(rt.python):
        problems.append(f"{where}.python: {rt.python!r} must look like '3.11' (quote it in YAML)")
    for i, source in enumerate(rt.sources):
        if source.package and source.package not in _CHOICES["package"]:
            problems.append(f"{where}.sources[{i}].package: must be one of {', '.join(_CHOICES['package'])}")
    for cand in rt.candidates:
        if not cand.index_url.startswith(("https://", "http://", "file://")):
            problems.append(f"{where}.index_url: {cand.index_url!r} must be an http(s):// or file:// URL")
        if rt.device == "gpu" and cand.package != "paddlepaddle-gpu":
            problems.append(f"{where}.package: a gpu runtime needs paddlepaddle-gpu, got {cand.package!r}")
    if any(c.isspace() for c in rt.base_image):
        problems.append(f"{where}.base_image: {rt.base_image!r} is not an image reference like 'python:3.11-slim'")


def _check_model(model: Model, problems: _Problems) -> None:
    if model.dynamic_size and model.family != "tiny":
        problems.append(f"models[{model.id}].dynamic_size: only the tiny family exports with a dynamic input size")
    # Each entry becomes one line of a requirements file: a line that is an option
    # (-r, --index-url, -e) or holds a newline would change what else gets installed.
    for i, req in enumerate(model.requires):
        where = f"models[{model.id}].requires[{i}]"
        if not req.strip() or "\n" in req or "\r" in req:
            problems.append(f"{where}: {req!r} must be one requirement on one line, like 'paddledet==2.6.0'")
        elif req.strip().startswith("-"):
            problems.append(f"{where}: {req!r} is an installer option, not a requirement like 'paddledet==2.6.0'")
