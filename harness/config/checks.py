"""Checks of single matrix.yaml entries beyond their types: each appends every problem it finds
to `problems`, naming the entry and key (matrix.parse_matrix runs them after parsing)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from harness.config.parsing import CHOICES, Problems

if TYPE_CHECKING:  # matrix.py imports this module
    from harness.config.matrix import ExportMode, Loader, Model, Runtime

VERSION_RE = re.compile(r"^\d+\.\d+\.\d+((rc|b|a|\.post)\d+)?$")
PYTHON_RE = re.compile(r"^3\.\d+$")


def check_runtime(rt: Runtime, problems: Problems) -> None:
    where = f"runtimes[{rt.id}]"
    if not VERSION_RE.match(rt.version):
        problems.append(f"{where}.version: {rt.version!r} is not an exact version like '2.6.2' or '3.0.0rc1'")
    if not PYTHON_RE.match(rt.python):
        problems.append(f"{where}.python: {rt.python!r} must look like '3.11' (quote it in YAML)")
    for i, source in enumerate(rt.sources):
        if source.package and source.package not in CHOICES["package"]:
            problems.append(f"{where}.sources[{i}].package: must be one of {', '.join(CHOICES['package'])}")
    for cand in rt.candidates:
        if not cand.index_url.startswith(("https://", "http://", "file://")):
            problems.append(f"{where}.index_url: {cand.index_url!r} must be an http(s):// or file:// URL")
        if rt.device == "gpu" and cand.package != "paddlepaddle-gpu":
            problems.append(f"{where}.package: a gpu runtime needs paddlepaddle-gpu, got {cand.package!r}")
    if any(c.isspace() for c in rt.base_image):
        problems.append(f"{where}.base_image: {rt.base_image!r} is not an image reference like 'python:3.11-slim'")


def check_mode(mode: ExportMode, problems: Problems) -> None:
    where = f"export_modes[{mode.id}]"
    if mode.quantizer == "paddleslim" and (mode.precision, mode.program_format) != ("int8", "legacy"):
        problems.append(f"{where}.quantizer: paddleslim quantizes a legacy program to int8; set precision: int8, "
                        "program_format: legacy")
    check_requires(mode.requires, where, problems)


def check_requires(requires: tuple[str, ...], where: str, problems: Problems) -> None:
    # Each entry becomes one line of a requirements file: a line that is an option
    # (-r, --index-url, -e) or holds a newline would change what else gets installed.
    for i, req in enumerate(requires):
        at = f"{where}.requires[{i}]"
        if not req.strip() or "\n" in req or "\r" in req:
            problems.append(f"{at}: {req!r} must be one requirement on one line, like 'paddledet==2.6.0'")
        elif req.strip().startswith("-"):
            problems.append(f"{at}: {req!r} is an installer option, not a requirement like 'paddledet==2.6.0'")


def check_model(model: Model, problems: Problems) -> None:
    if model.dynamic_size and model.family != "tiny":
        problems.append(f"models[{model.id}].dynamic_size: only the tiny family exports with a dynamic input size")
    check_requires(model.requires, f"models[{model.id}]", problems)


def check_loader(loader: Loader, problems: Problems) -> None:
    if loader.tensorrt != "off" and loader.device != "gpu":
        problems.append(f"loaders[{loader.id}].tensorrt: TensorRT runs on a GPU; add device: gpu")
