"""matrix.yaml -> frozen dataclasses.

Every problem is collected and raised once as a bulleted ConfigError naming the key
(``runtimes[3].version``), with a "did you mean" for near-miss keys. No tracebacks.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import yaml

from harness.config.checks import check_loader, check_mode, check_model, check_runtime
from harness.config.parsing import (
    RANGES,
    Problems,
    YamlLoader,
    at_least,
    fraction,
    parse_list,
    parse_one,
    positive,
    unit,
)
from harness.document.cell import FAILURES, Status
from harness.errors import ConfigError

if TYPE_CHECKING:  # deployments.py builds on this module; it is imported where it is used
    from harness.config.deployments import Deployment

SCHEMA_VERSION = 1
PYPI = "https://pypi.org/simple"


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
    def requirements(self) -> list[str]:
        """What its venv or image installs. setuptools: `import paddle` needs it
        (pkg_resources/distutils) on Python 3.12+."""
        return [self.requirement, "setuptools", *self.pins]

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
    # "control": the positive control (control_model.py), ops every deployment tool converts.
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
    # "int8": post-training quantization in the producer, calibrated on the calibration split;
    # judged by mAP against the FP32 reference. quantizer "paddle": paddle.quantization PTQ on
    # the dygraph model before to_static; "paddleslim": PaddleSlim's quant_post_static on the
    # saved FP32 legacy program (its `requires` installed next to the runtime, like a model's).
    precision: str = "fp32"
    quantizer: str = "paddle"
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Loader:
    id: str
    api: str  # "predictor" (paddle.inference) or "jit_load"
    # "default" leaves paddle.inference.Config as a user's minimal code would;
    # "on"/"off" calls enable_mkldnn()/disable_mkldnn(), switch_ir_optim(True/False);
    # onednn "int8" also enable_mkldnn_int8() (oneDNN's INT8 kernels).
    onednn: str = "default"
    ir_optim: str = "default"
    # "gpu": enable_use_gpu(); cells of a GPU loader are `skipped` where there is no GPU.
    device: str = "cpu"
    tensorrt: str = "off"  # a GPU predictor through TensorRT at fp32, fp16 or int8

    @property
    def precision(self) -> str:
        """What the loader computes in: "int8" when it asks for INT8 kernels, else "fp32"."""
        return "int8" if "int8" in (self.onednn, self.tensorrt) else "fp32"


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
    # Where accuracy decides (INT8 exports, precision loaders, converted models): mAP@0.5 on
    # the evaluation set may fall this much below the FP32 reference's.
    map_drop: float = 0.05


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
    deployments: tuple[Deployment, ...] = ()  # deployment consumers (harness/config/deployments.py)

    def runtime(self, runtime_id: str) -> Runtime:
        for rt in self.runtimes:
            if rt.id == runtime_id:
                return rt
        raise ConfigError(self.source, [unknown_id_message("runtime", runtime_id, self.runtime_ids)])

    @property
    def runtime_ids(self) -> list[str]:
        return [rt.id for rt in self.runtimes]

    @property
    def consumer_ids(self) -> list[str]:
        """Every consumer: the Paddle runtimes, then the deployment consumers."""
        return self.runtime_ids + [d.id for d in self.deployments]

    def consumer(self, consumer_id: str) -> Union[Runtime, Deployment]:
        """A Paddle runtime or a deployment consumer, by id."""
        for dep in self.deployments:
            if dep.id == consumer_id:
                return dep
        if consumer_id in self.runtime_ids:
            return self.runtime(consumer_id)
        raise ConfigError(self.source, [unknown_id_message("runtime or deployment", consumer_id, self.consumer_ids)])

    def deployment(self, consumer_id: str) -> Deployment | None:
        return next((d for d in self.deployments if d.id == consumer_id), None)

    def select(self, runtime_ids: list[str]) -> Matrix:
        """The same matrix restricted to the named runtimes and deployment consumers (order
        of matrix.yaml).

        An empty list is an error, never "everything": callers that mean the whole matrix
        do not call select (see parse_runtime_list)."""
        if not runtime_ids:
            raise ConfigError("--runtimes", [_NO_RUNTIME])
        known = self.consumer_ids
        problems = [unknown_id_message("runtime", rid, known) for rid in runtime_ids if rid not in known]
        if problems:
            raise ConfigError("--runtimes", problems)
        chosen = tuple(rt for rt in self.runtimes if rt.id in runtime_ids)
        deployed = tuple(d for d in self.deployments if d.id in runtime_ids)
        return dataclasses.replace(self, runtimes=chosen, deployments=deployed)


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
_TOP_KEYS = {"schema_version", "expectations", "retries", "deployments", *_SECTIONS, *_SINGLE}
_FAILING = tuple(s.value for s in Status if s in FAILURES)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# Range checks of numeric fields, run once the value has the field's type.
_RANGES: dict[tuple[type, str], typing.Callable[[Any], str]] = {
    (Model, "train_steps"): at_least(1),
    (Model, "seed"): at_least(0),
    **{(Timeouts, f.name): positive for f in dataclasses.fields(Timeouts)},
    **{(Tolerances, f.name): at_least(0) for f in dataclasses.fields(Tolerances)},
    (Tolerances, "iou_min"): fraction,
    (Tolerances, "map_drop"): unit,
    (ReferenceFloor, "iou"): fraction,
    (ReferenceFloor, "score"): unit,
    (ReferenceFloor, "recall"): unit,
    (ReferenceFloor, "margin"): at_least(0),
}
RANGES.update(_RANGES)


def load_matrix(path: str | Path) -> Matrix:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror}"]) from None
    return parse_matrix(text, source=str(path))


def parse_matrix(text: str, source: str = "matrix.yaml") -> Matrix:
    try:
        raw = yaml.load(text, Loader=YamlLoader)  # a SafeLoader subclass: plain data only
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        # Constructors of explicit tags raise bare errors too: `!!int x`, `!!float x`.
        raise ConfigError(source, [f"not valid YAML: {exc}"]) from None
    if not isinstance(raw, dict):
        raise ConfigError(source, ["the top level must be a mapping with keys " + ", ".join(sorted(_TOP_KEYS))])
    problems = Problems()
    problems.unknown_keys("top level", raw, _TOP_KEYS)
    if raw.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        problems.append(f"schema_version: this harness reads version {SCHEMA_VERSION}, got {raw['schema_version']!r}")
    sections: dict[str, list[Any]] = {name: parse_list(raw, name, cls, problems) for name, cls in _SECTIONS.items()}
    singles: dict[str, Any] = {
        name: parse_one(raw.get(name) or {}, name, cls, problems) for name, cls in _SINGLE.items()
    }
    for check, section in ((check_runtime, "runtimes"), (check_model, "models"), (check_mode, "export_modes"),
                           (check_loader, "loaders")):
        for item in sections[section]:
            check(item, problems)
    deployments = _parse_deployments(raw, [rt.id for rt in sections["runtimes"]], problems)
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
        deployments=tuple(deployments),
    )


def _parse_deployments(raw: dict[str, Any], runtime_ids: list[str], problems: Problems) -> list[Deployment]:
    """The optional `deployments` list; none declared is no deployment consumer."""
    from harness.config.deployments import Deployment, deployment_problems

    if raw.get("deployments") in (None, []):
        return []
    parsed = parse_list(raw, "deployments", Deployment, problems)
    for dep in parsed:
        problems += deployment_problems(dep, runtime_ids)
    return parsed


def _parse_expectations(items: Any, problems: Problems) -> list[Expectation]:
    if not isinstance(items, list):
        problems.append("expectations: must be a list")
        return []
    parsed = []
    for i, item in enumerate(items):
        where = f"expectations[{i}]"
        exp = parse_one(item, where, Expectation, problems)
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
