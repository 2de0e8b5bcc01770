"""Deployment consumers (matrix.yaml `deployments`): Paddle-Lite and paddle2onnx + ONNX Runtime.

A deployment is a consumer like a Paddle runtime: a runtime of its own (a venv or an image
holding exactly its `packages`) whose "loaders" convert the export first, then run the
result: Paddle-Lite's optimizer for each of its `targets` (``--valid_targets``, naive_buffer
``.nb`` out) and its Python predictor; paddle2onnx at each of its `opsets` and ONNX Runtime's
CPU execution provider. A cell's consumer is the deployment's id, its loader the target or
opset (``lite-x86``, ``lite-arm+x86``, ``onnx-opset13``: ids safe for cell slugs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Union

from harness.config.matrix import PYPI, Runtime, Source

# tool -> the package whose exact version the deployment is about.
TOOL_PACKAGES = {"lite": "paddlelite", "onnx": "paddle2onnx"}
LITE_PLACES = ("x86", "arm")  # what Paddle-Lite's Python wheels take in valid_targets
OPSETS = range(7, 22)  # the ONNX opsets paddle2onnx declares it can write
_PYTHON_RE = re.compile(r"^3\.\d+$")
_PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s,;]+)$")
# numpy 2 makes the Python 3.9 Lite wheels (built against numpy 1) read garbage input, silently.
_NUMPY_BELOW_2 = re.compile(r"^numpy\s*(==\s*1\.|<\s*2(\.0)*\s*$|<\s*1\.|<=\s*1\.)")


@dataclass(frozen=True)
class DeployLoader:
    """How a deployment consumer converts and runs one export: a Lite target or an ONNX opset."""

    id: str  # lite-x86, lite-arm+x86, onnx-opset13
    tool: str
    target: str = ""  # Paddle-Lite valid_targets, as given to the optimizer ("arm,x86")
    opset: int = 0  # paddle2onnx opset_version (never auto-upgraded)

    @property
    def option(self) -> str:
        """The converter option that distinguishes it, as the tool's CLI spells it."""
        return f"--valid_targets={self.target}" if self.tool == "lite" else f"--opset_version={self.opset}"


@dataclass(frozen=True)
class Deployment:
    id: str
    tool: str  # lite | onnx
    python: str
    # Exactly what the deployment's runtime holds (a requirements file, one entry a line): the
    # tool pinned with ==, numpy<2 for Lite, paddlepaddle== for paddle2onnx 2.x (it links it).
    packages: tuple[str, ...]
    targets: tuple[str, ...] = ()  # lite: valid_targets, e.g. x86, arm, "arm,x86"
    opsets: tuple[int, ...] = ()  # onnx: the opsets converted at
    base_image: str = ""  # docker backend only; default python:{python}-slim
    index_url: str = PYPI
    note: str = ""

    # What a backend asks of anything it builds (a Paddle Runtime has the same).
    device: ClassVar[str] = "cpu"
    sources: ClassVar[tuple[Source, ...]] = ()

    @property
    def requirements(self) -> list[str]:
        return list(self.packages)

    @property
    def candidates(self) -> tuple[Deployment, ...]:
        return (self,)

    @property
    def package(self) -> str:
        return TOOL_PACKAGES.get(self.tool, self.tool)

    @property
    def version(self) -> str:
        """The tool's pinned version ("" when it is not pinned)."""
        return pinned(self.packages, self.package)

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def loaders(self) -> tuple[DeployLoader, ...]:
        if self.tool == "lite":
            return tuple(DeployLoader(f"lite-{t.replace(',', '+')}", "lite", target=t) for t in self.targets)
        return tuple(DeployLoader(f"onnx-opset{o}", "onnx", opset=o) for o in self.opsets)

    def loader(self, loader_id: str) -> DeployLoader:
        for loader in self.loaders:
            if loader.id == loader_id:
                return loader
        raise KeyError(loader_id)


# What a backend builds: a Paddle runtime or a deployment consumer's runtime.
Buildable = Union[Runtime, Deployment]


def pinned(packages: tuple[str, ...] | list[str], name: str) -> str:
    """The exact version ``name`` is pinned to (``name==X``), else ""."""
    wanted = _canonical(name)
    for req in packages:
        found = _PIN_RE.match(req.strip())
        if found and _canonical(found.group(1)) == wanted:
            return found.group(2)
    return ""


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def deployment_problems(dep: Deployment, runtime_ids: list[str]) -> list[str]:
    """Everything wrong with one declared deployment, each naming its key."""
    where = f"deployments[{dep.id}]"
    problems: list[str] = []
    if dep.id in runtime_ids:
        problems.append(f"{where}.id: {dep.id!r} is also a runtime id; a consumer id must be unique")
    if not _PYTHON_RE.match(dep.python):
        problems.append(f"{where}.python: {dep.python!r} must look like '3.9' (quote it in YAML)")
    if any(c.isspace() for c in dep.base_image):
        problems.append(f"{where}.base_image: {dep.base_image!r} is not an image reference like 'python:3.9-slim'")
    problems += _package_problems(dep, where)
    problems += _axis_problems(dep, where)
    return problems


def _package_problems(dep: Deployment, where: str) -> list[str]:
    problems = []
    for i, req in enumerate(dep.packages):
        if not req.strip() or "\n" in req or "\r" in req or req.strip().startswith("-"):
            problems.append(f"{where}.packages[{i}]: {req!r} must be one requirement on one line, like 'numpy<2'")
    if dep.tool not in TOOL_PACKAGES:
        return problems  # the choice itself is reported by the parser
    version = dep.version
    if not version:
        problems.append(f"{where}.packages: pin the tool exactly, like '{dep.package}==<version>'")
    if dep.tool == "lite" and not any(_NUMPY_BELOW_2.match(r.strip()) for r in dep.packages):
        why = "numpy 2 makes Paddle-Lite's wheels read garbage input, silently"
        problems.append(f"{where}.packages: add 'numpy<2' (or numpy==1.x): {why}")
    major = int(version.split(".")[0]) if version[:1].isdigit() else 0
    if dep.tool == "onnx" and major >= 2 and not pinned(dep.packages, "paddlepaddle"):
        why = f"paddle2onnx {version} links the Paddle installed next to it"
        problems.append(f"{where}.packages: pin that Paddle, like 'paddlepaddle==3.2.2': {why}")
    if dep.tool == "onnx" and not pinned(dep.packages, "onnxruntime"):
        problems.append(f"{where}.packages: pin the ONNX Runtime that runs the result, like 'onnxruntime==1.20.1'")
    return problems


# tool -> (its key, the other tool's key, what it needs)
_AXES = {
    "lite": ("targets", "opsets", "valid_targets, e.g. [x86, 'arm,x86']"),
    "onnx": ("opsets", "targets", "at least one opset, e.g. [13]"),
}


def _axis_problems(dep: Deployment, where: str) -> list[str]:
    """Lite's targets or paddle2onnx's opsets: present, valid, each once; the other absent."""
    if dep.tool not in _AXES:
        return []
    mine, other, needs = _AXES[dep.tool]
    values: tuple[object, ...] = getattr(dep, mine)
    problems = [] if values else [f"{where}.{mine}: {dep.tool} deployments need {needs}"]
    if getattr(dep, other):
        problems.append(f"{where}.{other}: {dep.tool} deployments have no {other}")
    problems += [f"{where}.{mine}[{i}]: {why}" for i, value in enumerate(values) if (why := _invalid(dep.tool, value))]
    if len(set(values)) != len(values):
        problems.append(f"{where}.{mine}: each once")
    return problems


def _invalid(tool: str, value: object) -> str:
    if tool == "onnx":
        span = f"{OPSETS[0]}-{OPSETS[-1]}"
        return "" if value in OPSETS else f"{value!r} is not an ONNX opset paddle2onnx writes ({span})"
    places = [p.strip() for p in str(value).split(",")]
    if all(places) and all(p in LITE_PLACES for p in places) and len(set(places)) == len(places):
        return ""
    return f"{value!r} must list some of {', '.join(LITE_PLACES)}, like 'arm,x86'"
