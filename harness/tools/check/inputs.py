"""The fixed input a check feeds every runtime: shapes from --input, the program, or
PaddleDetection's infer_cfg.yml; values made deterministically."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import yaml

from harness.document.cell import first_line
from harness.tools.check.model import CFG_NAME, CheckError

DTYPES = ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool")
INPUT_SEED = 0


# ================================================================ infer_cfg.yml
@dataclass(frozen=True)
class ImageSize:
    height: int
    width: int
    channels: int = 3


def read_infer_cfg(path: Path) -> ImageSize | None:
    """The image size PaddleDetection's preprocessing produces, or None when it does not say."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = first_line(str(exc)) or type(exc).__name__
        raise CheckError(
            f"cannot read {path}: {reason}",
            f"fix or remove {path.name}, or give the input shapes with --input NAME:SHAPE:DTYPE",
        ) from None
    return image_size_from_cfg(data)


def image_size_from_cfg(cfg: Any) -> ImageSize | None:
    """Walk `Preprocess` in order: Resize-like steps set the size (`target_size` [H, W] or
    an int, `image_shape` [C, H, W] or [H, W]), Pad sets it (`size`), PadStride rounds it up."""
    steps = cfg.get("Preprocess") if isinstance(cfg, dict) else None
    size: ImageSize | None = None
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, dict):
            continue
        for key in ("target_size", "image_shape"):
            size = _size_of(step.get(key), size)
        if step.get("type") == "Pad":
            size = _size_of(step.get("size"), size)
        stride = step.get("stride")
        if step.get("type") == "PadStride" and size and isinstance(stride, int) and stride > 0:
            size = ImageSize(_round_up(size.height, stride), _round_up(size.width, stride), size.channels)
    return size


def _round_up(value: int, stride: int) -> int:
    return -(-value // stride) * stride


def _size_of(value: Any, current: ImageSize | None) -> ImageSize | None:
    channels = current.channels if current else 3
    if isinstance(value, bool):
        return current
    if isinstance(value, int) and value > 0:
        return ImageSize(value, value, channels)
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        if len(value) == 2:
            return ImageSize(value[0], value[1], channels)
        if len(value) == 3:
            return ImageSize(value[1], value[2], value[0])
    return current


# ================================================================ inputs
@dataclass(frozen=True)
class InputSpec:
    name: str
    shape: tuple[int, ...]
    dtype: str  # "" in a flag that gave none: the program's dtype, else float32
    source: str = ""  # where the shape came from, for the user

    @property
    def flag(self) -> str:
        return f"--input {self.name}:{','.join(str(d) for d in self.shape)}:{self.dtype or 'float32'}"


def parse_input_flag(text: str) -> InputSpec:
    """NAME:SHAPE[:DTYPE], e.g. image:1,3,640,640:float32."""
    parts = text.strip().split(":")
    example = "e.g. --input image:1,3,640,640:float32"
    if len(parts) not in (2, 3) or not parts[0].strip():
        raise CheckError(f"--input {text!r} is not NAME:SHAPE:DTYPE", example)
    name, shape_text = parts[0].strip(), parts[1].strip().strip("[]()")
    dtype = parts[2].strip() if len(parts) == 3 else ""
    try:
        shape = tuple(int(d) for d in shape_text.split(","))
    except ValueError:
        raise CheckError(
            f"--input {text!r}: the shape {parts[1]!r} is not a comma-separated list of integers", example
        ) from None
    if any(d <= 0 for d in shape):
        raise CheckError(f"--input {text!r}: every dimension must be a positive size (no -1 or 0)", example)
    if dtype and dtype not in DTYPES:
        raise CheckError(f"--input {text!r}: unknown dtype {dtype!r}", f"use one of {', '.join(DTYPES)}")
    return InputSpec(name, shape, dtype, "--input")


def parse_input_flags(texts: Iterable[str]) -> list[InputSpec]:
    specs = [parse_input_flag(t) for t in texts]
    names = [s.name for s in specs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise CheckError(f"--input names {', '.join(twice)} more than once", "give each input once")
    return specs


def resolve_inputs(
    flags: list[InputSpec], program_inputs: list[dict[str, Any]] | None, image: ImageSize | None, program: str
) -> list[InputSpec]:
    """The fixed input's specs: --input wins, then what the program declares, with open
    dimensions filled from infer_cfg.yml and a leading -1 read as batch 1. Without a
    readable program: the flags, else PaddleDetection's three inputs from infer_cfg.yml,
    else none (every cell will then carry Paddle's own load error)."""
    if program_inputs is None:
        if flags:
            return [replace(s, dtype=s.dtype or "float32") for s in flags]
        return detection_inputs(image) if image else []
    names = [str(i["name"]) for i in program_inputs]
    strangers = [s.name for s in flags if s.name not in names]
    if strangers:
        raise CheckError(
            f"--input names {', '.join(strangers)}, but {program} takes: {', '.join(names)}",
            "name the program's own inputs in --input",
        )
    given = {s.name: s for s in flags}
    specs: list[InputSpec] = []
    open_inputs: list[dict[str, Any]] = []
    for declared in program_inputs:
        dtype = str(declared.get("dtype") or "float32")
        flag = given.get(str(declared["name"]))
        if flag is not None:
            specs.append(replace(flag, dtype=flag.dtype or dtype))
            continue
        spec = _from_program(declared, dtype, image)
        if spec is None:
            open_inputs.append(declared)
        else:
            specs.append(spec)
    if open_inputs:
        raise inputs_unknown(open_inputs, program, image is not None)
    for spec in specs:
        if spec.dtype not in DTYPES:
            raise CheckError(
                f"input {spec.name} has dtype {spec.dtype}, which the harness cannot generate",
                f"give it as one of {', '.join(DTYPES)}: {spec.flag.rsplit(':', 1)[0]}:float32",
            )
    return specs


def _from_program(declared: dict[str, Any], dtype: str, image: ImageSize | None) -> InputSpec | None:
    if declared.get("shape") is None:
        return None
    shape = [int(d) for d in declared["shape"]]
    source = "the program"
    if image and len(shape) == 4 and -1 in shape[1:]:
        # NCHW, as PaddleDetection exports images: infer_cfg.yml knows C, H and W.
        for index, value in ((1, image.channels), (2, image.height), (3, image.width)):
            shape[index] = value if shape[index] == -1 else shape[index]
        source = f"the program + {CFG_NAME}"
    if shape and shape[0] == -1:
        shape[0] = 1  # batch 1: the one open dimension with an obvious answer
    if any(d < 0 for d in shape):
        return None
    return InputSpec(str(declared["name"]), tuple(shape), dtype, source)


def detection_inputs(image: ImageSize) -> list[InputSpec]:
    """PaddleDetection's export signature, for when no runtime could read the program."""
    source = CFG_NAME
    return [
        InputSpec("image", (1, image.channels, image.height, image.width), "float32", source),
        InputSpec("im_shape", (1, 2), "float32", source),
        InputSpec("scale_factor", (1, 2), "float32", source),
    ]


def inputs_unknown(open_inputs: list[dict[str, Any]], program: str, had_cfg: bool) -> CheckError:
    lines, flags, placeholders = [], [], []
    for declared in open_inputs:
        name, dtype, shape = str(declared["name"]), str(declared.get("dtype") or "float32"), declared.get("shape")
        if shape is None:
            lines.append(f"  - {name}: shape not reported by any runtime ({dtype})")
            flags.append(f"--input {name}:D0,D1,...:{dtype}")
            placeholders.append("D0,D1,...")
            continue
        dims = [str(d) for d in shape]
        lines.append(f"  - {name}: shape [{', '.join(dims)}] ({dtype})")
        names = ["N", "C", "H", "W"] if len(dims) == 4 else [f"D{i}" for i in range(len(dims))]
        filled = ["1" if i == 0 and d == "-1" else names[i] if d == "-1" else d for i, d in enumerate(dims)]
        placeholders += [names[i] for i, d in enumerate(dims) if d == "-1" and i > 0]
        flags.append(f"--input {name}:{','.join(filled)}:{dtype}")
    cfg = f"{CFG_NAME} does not fill them" if had_cfg else f"there is no {CFG_NAME} beside it to fill them"
    return CheckError(
        f"cannot infer the input shapes of {program}: the program leaves dimensions open (-1) and {cfg}:\n"
        + "\n".join(lines),
        f"pass the shape you run it with: {' '.join(flags)}\n"
        f"       (replace {', '.join(dict.fromkeys(placeholders))} with real sizes, e.g. 640 for a 640x640 image)",
    )


def make_inputs(specs: Sequence[InputSpec], seed: int = INPUT_SEED) -> dict[str, np.ndarray]:
    """The fixed input every runtime gets: floats uniform in [0, 1), integers zero, and
    PaddleDetection's im_shape (the image's H, W) and scale_factor (1.0) made consistent."""
    rng = np.random.RandomState(seed)
    height_width = _image_hw(specs)
    arrays: dict[str, np.ndarray] = {}
    for spec in specs:
        dtype = np.dtype(spec.dtype)
        if spec.name == "im_shape" and height_width and spec.shape[-1] == 2:
            arrays[spec.name] = np.broadcast_to(np.asarray(height_width, dtype=dtype), spec.shape).copy()
        elif spec.name == "scale_factor":
            arrays[spec.name] = np.ones(spec.shape, dtype=dtype)
        elif dtype.kind == "f":
            arrays[spec.name] = rng.uniform(0.0, 1.0, size=spec.shape).astype(dtype)
        else:
            arrays[spec.name] = np.zeros(spec.shape, dtype=dtype)
    return arrays


def _image_hw(specs: Sequence[InputSpec]) -> tuple[int, int] | None:
    images = [s for s in specs if s.name == "image" and len(s.shape) == 4]
    images = images or [s for s in specs if len(s.shape) == 4]
    return (images[0].shape[2], images[0].shape[3]) if images else None


