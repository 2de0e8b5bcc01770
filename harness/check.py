"""Check your own export: load a user's exported model in every built runtime and report.

`python -m harness check PATH` takes a directory (or a path prefix) holding a program
(`.json` PIR or `.pdmodel` legacy) and its `.pdiparams`, stages a copy in
work/checks/<name>/ laid out like the harness's own exports, finds the input shapes
(`--input`, else the program itself completed by PaddleDetection's infer_cfg.yml), loads
it in every ready runtime with every loader of the matrix, picks a reference runtime and
judges every cell against it. The report is the usual one, with a single row.

Problems with what the user handed over (no model, two models, no params, shapes nobody
can tell) are CheckErrors with a remedy; a program Paddle cannot read is a failed cell
carrying Paddle's own error, because that is the answer the user came for.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import hashlib
import json
import os
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import yaml

from harness import expectations, policy, runner
from harness.backends import Backend, get_backend
from harness.config import Matrix, Runtime, unknown_id_message
from harness.errors import HarnessError
from harness.outputs import markdown, write_atomic, write_junit
from harness.plan import Workspace
from harness.report import _infra, _runtime_entry, version_key
from harness.report_html import write_html
from harness.status import RESULT_SCHEMA_VERSION, CellKey, Result, Status, first_line
from harness.store import append_result, write_json_atomic
from harness.worker_client import Outcome

PROGRAM_FORMATS = {".json": "pir", ".pdmodel": "legacy"}
CFG_NAME = "infer_cfg.yml"
STAGED_PREFIX = "model"  # staged files are model.<ext>, as in the harness's own exports
DTYPES = ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool")
GENERIC_STEMS = ("model", "inference", "__model__")  # prefixes that say nothing about the model
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
INPUT_SEED = 0


class CheckError(HarnessError):
    """What the user handed to `check` cannot be used as given; the message says what to do."""


# ================================================================ the model on disk
@dataclass(frozen=True)
class UserModel:
    program: Path
    params: Path
    program_format: str  # "pir" | "legacy"
    infer_cfg: Path | None
    extras: tuple[Path, ...]  # <stem>.pdiparams.info: paddle.jit.load reads it for legacy programs
    name: str  # the default check name, from the directory or prefix


def resolve_model(path: str | Path) -> UserModel:
    """A directory holding exactly one program, a program file, or a path prefix
    (`dir/model` -> dir/model.json or dir/model.pdmodel)."""
    given = Path(path).expanduser()
    if given.is_dir():
        program = _one_program(given)
        name = given.resolve().name
    else:
        program = given if given.suffix in PROGRAM_FORMATS and given.is_file() else _program_of_prefix(given)
        stem = program.name[: -len(program.suffix)]
        name = program.parent.resolve().name if stem in GENERIC_STEMS else stem
    params = program.with_suffix(".pdiparams")
    if not params.is_file():
        raise CheckError(
            f"{program} has no parameters file: expected {params}",
            f"export writes {params.name} next to {program.name}; copy it there (or point at the right directory)",
        )
    for needed in (program, params):
        if not os.access(needed, os.R_OK):
            raise CheckError(f"cannot read {needed}: permission denied", "make it readable for this user")
    info = params.with_name(params.name + ".info")
    cfg = program.parent / CFG_NAME
    return UserModel(
        program=program,
        params=params,
        program_format=PROGRAM_FORMATS[program.suffix],
        infer_cfg=cfg if cfg.is_file() else None,
        extras=(info,) if info.is_file() else (),
        name=safe_name(name),
    )


def _program_of_prefix(prefix: Path) -> Path:
    if prefix.suffix == ".pdiparams":
        prefix = prefix.with_suffix("")  # the params file named instead of the model: its prefix
    found = [prefix.with_name(prefix.name + suffix) for suffix in PROGRAM_FORMATS]
    found = [p for p in found if p.is_file()]
    if len(found) == 1:
        return found[0]
    if found:
        raise _ambiguous(prefix.parent, found)
    raise CheckError(
        f"{prefix} does not exist: it is not a directory, and there is no {prefix.name}.json "
        f"or {prefix.name}.pdmodel" + (f" in {prefix.parent}" if prefix.parent.is_dir() else ""),
        "pass the directory that holds the exported model, or its path prefix (e.g. output_inference/ppyoloe/model)",
    )


def _one_program(directory: Path) -> Path:
    try:
        entries = sorted(p for p in directory.iterdir() if p.is_file())
    except OSError as exc:
        raise CheckError(
            f"cannot read the directory {directory}: {exc.strerror}", "check the path and its permissions"
        ) from None
    programs = [p for p in entries if _is_program(p)]
    if len(programs) == 1:
        return programs[0]
    if programs:
        raise _ambiguous(directory, programs)
    held = ", ".join(p.name for p in entries[:12]) + (", ..." if len(entries) > 12 else "") or "nothing"
    raise CheckError(
        f"no exported model in {directory}: it holds no .pdmodel or PIR .json program (it holds: {held})",
        "pass the directory paddle.jit.save / PaddleDetection's export_model.py wrote "
        "(e.g. output_inference/<model>/), or the path prefix of the model",
    )


def _is_program(path: Path) -> bool:
    if path.suffix == ".pdmodel":
        return True
    if path.suffix != ".json":
        return False
    # Other JSON files (configs, the harness's export.json) sit beside models too: a PIR
    # program has its params beside it or opens with PIR's "base_code" header.
    if path.with_suffix(".pdiparams").is_file():
        return True
    try:
        with path.open("rb") as handle:
            return b'"base_code"' in handle.read(256)
    except OSError:
        return False


def _ambiguous(directory: Path, programs: Sequence[Path]) -> CheckError:
    names = ", ".join(p.name for p in programs)
    return CheckError(
        f"{directory} holds {len(programs)} programs ({names}); which one should be checked?",
        f"pass the program itself, e.g. `python -m harness check {programs[0]}`",
    )


def safe_name(text: str) -> str:
    """A name usable as a directory and a cell id: letters, digits, . _ - (others become _)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._-")
    return cleaned or "model"


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


# ================================================================ runtimes and backend
def choose_backend(name: str, matrix: Matrix, ws: Workspace) -> str:
    """`auto` means the backend that built the ready runtimes: check never builds."""
    if name != "auto":
        return name
    built = [runner.runtime_state(ws, rt.id) for rt in matrix.runtimes]
    backends = collections.Counter(s.get("backend") for s in built if s["state"] == "ready")
    return "venv" if backends["venv"] or not backends else str(backends.most_common(1)[0][0])


def ready_runtimes(
    matrix: Matrix, ws: Workspace, backend: str, explicit: bool
) -> tuple[list[Runtime], list[dict[str, str]]]:
    """The runtimes already built for this backend, oldest Paddle first, and the others
    with their state and why."""
    used, unused = [], []
    for rt in matrix.runtimes:
        state = runner.runtime_state(ws, rt.id)
        if state["state"] != "ready":
            unused.append({"runtime": rt.id, "state": state["state"], "reason": first_line(state.get("reason", ""))})
        elif state.get("backend", backend) != backend:
            why = f"built by the {state['backend']} backend, not {backend}"
            unused.append({"runtime": rt.id, "state": "other_backend", "reason": why})
        else:
            used.append(rt)
    listed = "".join(f"\n  - {u['runtime']}: {u['state']} ({u['reason']})" for u in unused)
    if explicit and unused:
        raise CheckError(
            f"asked for runtimes that are not ready here:{listed}",
            f"build them first: python -m harness build ID --backend {backend} --work {ws.root}",
        )
    if not used:
        raise CheckError(
            f"no runtime is built in {ws.root} for the {backend} backend ({unused_line(unused)})",
            "check uses runtimes that are already built: build one with "
            f"`python -m harness build ID --backend {backend}` (ID from the matrix), or all with `nox -s matrix`",
        )
    return sorted(used, key=lambda rt: paddle_version_key(ws, rt)), unused


def unused_line(unused: list[dict[str, str]]) -> str:
    """One line for the runtimes a check leaves out: `cpu-2.3, cpu-2.5 unavailable; gpu-3.3.1 skipped`."""
    by_state: dict[str, list[str]] = collections.defaultdict(list)
    for u in unused:
        by_state[u["state"]].append(u["runtime"])
    return "; ".join(f"{', '.join(ids)} {state}" for state, ids in by_state.items())


def paddle_version_key(ws: Workspace, rt: Runtime) -> tuple[int, ...]:
    fingerprint = runner.runtime_state(ws, rt.id).get("fingerprint") or {}
    return version_key(str(fingerprint.get("paddle_version") or rt.version))


# ================================================================ staging
def stage(model: UserModel, directory: Path) -> None:
    """Copy the user's files into work/checks/<name>/ as model.<ext> + model.pdiparams,
    so the worker tasks and reproduce lines look exactly like the harness's own."""
    source = model.program.parent.resolve()
    target = directory.resolve()
    if source == target or target in source.parents:
        raise CheckError(f"{model.program} is inside the staging directory {directory}", "check a copy kept elsewhere")
    if directory.exists():
        shutil.rmtree(directory)  # a re-run starts afresh: old inputs and results would mislead
    directory.mkdir(parents=True)
    copies = [(model.program, STAGED_PREFIX + model.program.suffix), (model.params, STAGED_PREFIX + ".pdiparams")]
    copies += [(extra, STAGED_PREFIX + ".pdiparams.info") for extra in model.extras]
    copies += [(model.infer_cfg, CFG_NAME)] if model.infer_cfg else []
    for src, name in copies:
        try:
            shutil.copyfile(src, directory / name)
        except OSError as exc:
            raise CheckError(f"cannot copy {src}: {exc.strerror}", "check that the file is readable") from None


def write_export_record(directory: Path, model: UserModel, written_by: str | None) -> dict[str, Any]:
    """export.json shaped like the harness's own, so runner.task_for works unchanged."""
    files = {p.name: p.stat().st_size for p in sorted(directory.iterdir()) if p.is_file()}
    record = {
        "status": "ok",
        "error": "",
        "program_file": STAGED_PREFIX + model.program.suffix,
        "program_format": model.program_format,
        "files": files,
        "paddle_version": written_by or "",
        "source": {"program": str(model.program), "params": str(model.params), "infer_cfg": str(model.infer_cfg or "")},
    }
    write_json_atomic(directory / "export.json", record)
    return record


# ================================================================ asking the program
def inspect_program(
    matrix: Matrix, backend: Backend, newest_first: Sequence[Runtime], directory: Path, program_file: str
) -> tuple[dict[str, Any] | None, list[str]]:
    """The program's inputs and outputs, from the newest runtime that can read it (a 3.x
    PIR program cannot be read by 2.x); None and each runtime's reason when none can."""
    args = [*runner.INSIDE, "inspect", str(directory / program_file), str(directory / "model.pdiparams")]
    reasons: list[str] = []
    for rt in newest_first:
        res = backend.run(rt, args, timeout=matrix.timeouts.worker_start_s + matrix.timeouts.cell_s)
        answer = _last_json(res.stdout)
        if answer is not None and answer.get("ok"):
            return {**answer, "runtime": rt.id}, reasons
        if answer is not None:
            reasons.append(f"{rt.id}: {answer.get('error', '')}")
        elif res.timed_out:
            reasons.append(f"{rt.id}: no answer within {matrix.timeouts.worker_start_s + matrix.timeouts.cell_s:g} s")
        else:
            why = f"died by {res.signal_name}" if res.signal_name else f"exit {res.returncode}"
            tail = res.stderr.strip().splitlines()[-1:] or [""]
            banner = runner._crash_line(res.stderr) or first_line(tail[0])
            reasons.append(f"{rt.id}: {why}" + (f": {banner}" if banner else ""))
    return None, reasons


def _last_json(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        return value if isinstance(value, dict) else None
    return None


# ================================================================ running the cells
@dataclass
class Ran:
    key: CellKey
    task: dict[str, Any]
    outcome: Outcome
    command: str

    @property
    def ok(self) -> bool:
        return self.outcome.kind == "done" and bool(self.outcome.reply.get("ok"))


def run_everywhere(
    matrix: Matrix,
    backend: Backend,
    runtimes: Sequence[Runtime],
    directory: Path,
    producer: str,
    model: str,
    export: str,
    jobs: int,
) -> list[Ran]:
    """Every loader in every runtime, one worker per runtime, runtimes in parallel. Outcomes
    are collected first: the reference is chosen only once everything has run."""
    found: dict[str, list[Ran]] = {}

    def one_runtime(rt: Runtime) -> None:
        keys = [CellKey(producer, model, export, rt.id, loader.id) for loader in matrix.loaders]
        tasks = [runner.task_for(directory, loader, key.slug) for key, loader in zip(keys, matrix.loaders)]
        found[rt.id] = _run_worker(matrix, backend, rt, list(zip(keys, tasks)), directory / "logs")
        runner.say(f"[check {rt.id}] {sum(r.ok for r in found[rt.id])}/{len(keys)} loaders ran")

    runner.parallel(runtimes, one_runtime, jobs)
    return [ran for rt in runtimes for ran in found[rt.id]]


def _run_worker(
    matrix: Matrix, backend: Backend, rt: Runtime, tasks: list[tuple[CellKey, dict[str, Any]]], logs: Path
) -> list[Ran]:
    return [
        Ran(key, task, attempt(), runner.reproduce_command(backend, rt, task))
        for key, task, attempt in runner.worker_attempts(matrix, backend, rt, tasks, logs)
    ]


# ================================================================ the reference
def choose_reference(
    ran: Sequence[Ran], newest_first: Sequence[Runtime], versions: dict[str, str], wanted: str, written_by: str | None
) -> tuple[Ran | None, str]:
    """The cell whose outputs every other cell is compared with, and why it was chosen:
    the runtime the user named; else the runtime whose Paddle wrote the program (legacy
    programs record it); else the newest runtime that runs it. Within a runtime the
    plain predictor comes first, as a deployment would use it."""
    by_runtime: dict[str, list[Ran]] = collections.defaultdict(list)
    for r in ran:
        if r.ok:
            by_runtime[r.key.consumer].append(r)
    notes = []
    if wanted:
        if by_runtime.get(wanted):
            return _best(by_runtime[wanted]), f"{wanted}: chosen with --reference-runtime"
        notes.append(f"--reference-runtime {wanted} did not run the model")
    producer = next((rt.id for rt in newest_first if written_by and versions.get(rt.id) == written_by), None)
    if producer and by_runtime.get(producer):
        why = f"{producer}: the program was written by Paddle {written_by}"
        return _best(by_runtime[producer]), "; ".join([*notes, why])
    for rt in newest_first:
        if by_runtime.get(rt.id):
            return _best(by_runtime[rt.id]), "; ".join([*notes, f"{rt.id}: the newest runtime that runs the model"])
    return None, "; ".join([*notes, "none: the model ran in no runtime, so nothing could be compared"])


def _best(cells: list[Ran]) -> Ran:
    def rank(r: Ran) -> tuple[int, int]:
        loader = r.task["loader"]
        plain = loader.get("onednn", "default") == "default" and loader.get("ir_optim", "default") == "default"
        return (0 if loader["api"] == "predictor" else 1, 0 if plain else 1)

    return min(cells, key=rank)


def save_reference(reference: Ran, path: Path) -> None:
    """reference.npz with keys output_0..n, as the harness's own exports have it."""
    outputs = reference.outcome.reply["outputs"]
    arrays = {f"output_{i}": np.asarray(o["data"], dtype=o["dtype"]).reshape(o["shape"]) for i, o in enumerate(outputs)}
    save_npz(path, arrays)


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    np.savez(path, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as its allow_pickle flag


def judge_all(
    matrix: Matrix, ws: Workspace, ran: Sequence[Ran], reference: Ran | None, reference_path: Path, results: Path
) -> list[Result]:
    judged = []
    for r in ran:
        # Without a reference nothing ran, so to_result never reaches the comparison.
        result = runner.to_result(matrix, ws, r.key, r.outcome, r.command, reference=reference_path)
        if reference is not None:
            extra: dict[str, Any] = {"reference_runtime": reference.key.consumer}
            if r.key.consumer == reference.key.consumer:
                extra["reference"] = True
            result = replace(result, details={**result.details, **extra})
        append_result(results, result)
        judged.append(result)
    return judged


# ================================================================ the report
def results_dict(
    matrix: Matrix,
    ws: Workspace,
    runtimes: Sequence[Runtime],
    results: Sequence[Result],
    export_entry: dict[str, Any],
    check_info: dict[str, Any],
    backend: str,
) -> dict[str, Any]:
    """The same keys harness.report.collect produces, for the one row of this check."""
    cells = [r.to_json() for r in results]
    expectations.apply(cells, (), datetime.date.today())  # the matrix's expectations name matrix exports
    entries = [_runtime_entry(ws, rt.id, asdict(rt)) for rt in runtimes]
    digest = hashlib.sha256(json.dumps(cells, sort_keys=True, default=str).encode()).hexdigest()[:8]
    now = datetime.datetime.now(datetime.timezone.utc)
    model, fmt = check_info["name"], export_entry["export"]
    return {
        "schema_version": RESULT_SCHEMA_VERSION,
        "generated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "run": {"id": f"check-{model}-{now.strftime('%Y%m%dT%H%M%SZ')}-{digest}", "previous_id": None},
        "matrix": matrix.source,
        "backend": backend,
        "runtimes": entries,
        "models": [model],
        "export_modes": [{"id": fmt, "full_graph": None, "program_format": fmt, "read_main_program": None}],
        "loaders": [asdict(ld) for ld in matrix.loaders],
        "tolerances": asdict(matrix.tolerances),
        "summary": dict(sorted(collections.Counter(c["shown_as"] for c in cells).items())),
        "stale_expectations": [],
        "infra": _infra(entries, cells),
        "exports": [export_entry],
        "compat_ranges": [_compat_range(runtimes, cells, export_entry)],
        "transitions": {"previous_run": None, "newly_broken": 0, "newly_fixed": 0, "changed": 0},
        "trend": {},
        "cells": cells,
        "check": check_info,
    }


def _compat_range(runtimes: Sequence[Runtime], cells: list[dict[str, Any]], export: dict[str, Any]) -> dict[str, Any]:
    passed = {c["consumer"] for c in cells if c["status"] == Status.PASS.value}
    loads_in = [rt.id for rt in runtimes if rt.id in passed]  # runtimes come oldest Paddle first
    return {
        "producer": export["producer"],
        "export": export["export"],
        "loads_in": loads_in,
        "oldest": loads_in[0] if loads_in else None,
        "newest": loads_in[-1] if loads_in else None,
        "not_tested": [],
        "export_status": "ok",
    }


def export_entry(producer: str, model: str, record: dict[str, Any], directory: Path) -> dict[str, Any]:
    params = directory / "model.pdiparams"
    keep = ("status", "error", "program_format", "program_file", "files", "paddle_version")
    return {
        "producer": producer,
        "model": model,
        "export": record["program_format"],
        **{k: record.get(k) for k in keep},
        "params_sha256": hashlib.sha256(params.read_bytes()).hexdigest(),
    }


def write_outputs(results: dict[str, Any], out: Path, lines: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "results.json", results)
    write_html(results, out / "index.html")
    write_junit(results, out / "junit.xml")
    write_atomic(out / "summary.md", markdown(results) + check_markdown(results["check"], lines))


def check_markdown(info: dict[str, Any], lines: list[str]) -> str:
    inputs = ", ".join(f"`{i['name']}` {i['shape']} {i['dtype']} ({i['source']})" for i in info["inputs"]) or "none"
    out = ["## Check", "", f"- model: `{info['path']}` ({info['program_format']} program)", f"- inputs: {inputs}"]
    out += [f"- reference: {info['reference_reason']}", ""]
    return "\n".join(out + [f"- {line}" for line in lines]) + "\n"


def runtime_line(rt_id: str, results: Sequence[Result]) -> str:
    """`cpu-3.3.1: loads and runs (predictor, jit_load pass)` / `cpu-2.6.2: load_failed: <error>`."""
    passed = [r.loader for r in results if r.status is Status.PASS]
    failed = [r for r in results if r.status is not Status.PASS]
    mark = " [reference]" if any(r.details.get("reference") for r in results) else ""
    if passed:
        others = "".join(f"; {r.loader} {r.status.value}: {r.error}" for r in failed)
        return f"{rt_id}{mark}: loads and runs ({', '.join(passed)} pass{others})"
    if not failed:
        return f"{rt_id}: no loaders ran"
    first = failed[0]
    different = sorted({r.status.value for r in failed[1:] if r.status is not first.status})
    also = f" (other loaders: {', '.join(different)})" if different else ""
    return f"{rt_id}{mark}: {first.status.value}: {first.error or '(no error text)'}{also}"


# ================================================================ the command
@dataclass(frozen=True)
class CheckOptions:
    path: str
    inputs: tuple[str, ...] = ()
    runtimes: str = ""
    name: str = ""
    reference_runtime: str = ""
    backend: str = "auto"
    reports: str = ""
    jobs: int = 1
    fail_on: str = "never"
    fail_on_infra: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CheckOptions:
        return cls(
            path=args.path,
            inputs=tuple(args.input),
            runtimes=args.runtimes,
            name=args.name,
            reference_runtime=args.reference_runtime,
            backend=args.backend,
            reports="" if args.reports == "reports" else args.reports,  # the default means reports/check-<name>
            jobs=args.jobs,
            fail_on=args.fail_on,
            fail_on_infra=args.fail_on_infra,
        )


def main(matrix: Matrix, ws: Workspace, args: argparse.Namespace) -> int:
    return run(matrix, ws, CheckOptions.from_args(args))


def run(matrix: Matrix, ws: Workspace, opts: CheckOptions) -> int:
    started = time.monotonic()
    model = resolve_model(opts.path)  # fail on a broken path before anything starts
    name = _check_name(opts.name or model.name)
    flags = parse_input_flags(opts.inputs)
    image = read_infer_cfg(model.infer_cfg) if model.infer_cfg else None
    ids = [r.strip() for r in opts.runtimes.split(",") if r.strip()]
    matrix = matrix.select(ids) if ids else matrix
    if opts.reference_runtime and opts.reference_runtime not in matrix.runtime_ids:
        raise CheckError(unknown_id_message("runtime", opts.reference_runtime, matrix.runtime_ids))
    backend_name = choose_backend(opts.backend, matrix, ws)
    if opts.backend == "auto":
        runner.say(f"backend auto: {backend_name} (the backend that built the ready runtimes; check never builds)")
    runtimes, not_used = ready_runtimes(matrix, ws, backend_name, explicit=bool(ids))
    backend = get_backend(backend_name, ws.root)
    directory = ws.root / "checks" / name
    producer = f"check:{name}"
    used = ", ".join(r.id for r in runtimes)
    runner.say(f"[check] {model.program} ({model.program_format}) as {producer}; runtimes: {used}")
    if not_used:
        runner.say(f"[check] not used (not ready here, see results.json): {unused_line(not_used)}")
    stage(model, directory)
    newest_first = list(reversed(runtimes))
    program_file = STAGED_PREFIX + model.program.suffix
    t0 = time.monotonic()
    answer, reasons = inspect_program(matrix, backend, newest_first, directory, program_file)
    runner.say(_inspect_message(answer, reasons, time.monotonic() - t0))
    specs = resolve_inputs(flags, answer["inputs"] if answer else None, image, str(model.program))
    save_npz(directory / "input.npz", make_inputs(specs))
    described = ", ".join(_describe(s) for s in specs) or "none (no runtime could read the program)"
    runner.say(f"[check] inputs: {described}")
    written_by = answer.get("written_by") if answer else None
    record = write_export_record(directory, model, written_by)
    t0 = time.monotonic()
    ran = run_everywhere(matrix, backend, runtimes, directory, producer, name, model.program_format, opts.jobs)
    runner.say(f"[check] {len(ran)} cells in {time.monotonic() - t0:.1f} s")
    versions = {rt.id: ".".join(map(str, paddle_version_key(ws, rt))) for rt in runtimes}
    reference, why = choose_reference(ran, newest_first, versions, opts.reference_runtime, written_by)
    if reference is not None:
        save_reference(reference, directory / "reference.npz")
    results_path = directory / "results.jsonl"
    results_path.write_text("")
    judged = judge_all(matrix, ws, ran, reference, directory / "reference.npz", results_path)
    lines = [runtime_line(rt.id, [r for r in judged if r.consumer == rt.id]) for rt in runtimes]
    info = {
        "path": str(opts.path),
        "name": name,
        "program_format": model.program_format,
        "inputs": [{"name": s.name, "shape": list(s.shape), "dtype": s.dtype, "source": s.source} for s in specs],
        "inspected_by": answer["runtime"] if answer else None,
        "inspect_errors": reasons,
        "written_by": written_by,
        "reference": reference.key.consumer if reference else None,
        "reference_reason": why,
        "not_used": not_used,
    }
    entry = export_entry(producer, name, record, directory)
    results = results_dict(matrix, ws, runtimes, judged, entry, info, backend_name)
    out = Path(opts.reports) if opts.reports else Path("reports") / f"check-{name}"
    write_outputs(results, out, lines)
    return _finish(results, out, lines, why, opts, time.monotonic() - started)


def _check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise CheckError(f"--name {name!r} is not a usable name", "use letters, digits, '.', '_' and '-'")
    return name


def _inspect_message(answer: dict[str, Any] | None, reasons: list[str], seconds: float) -> str:
    if answer:
        return f"[check] program read by {answer['runtime']} in {seconds:.1f} s" + (
            f" (written by Paddle {answer['written_by']})" if answer.get("written_by") else ""
        )
    return (
        "[check] no runtime could read the program; its loaders run anyway so each runtime's own error is recorded:\n"
        + "\n".join(f"  {r}" for r in reasons)
    )


def _describe(spec: InputSpec) -> str:
    return f"{spec.name} {list(spec.shape)} {spec.dtype} (from {spec.source})"


def _finish(results: dict[str, Any], out: Path, lines: list[str], why: str, opts: CheckOptions, seconds: float) -> int:
    runner.say(f"reference: {why}")
    for line in lines:
        runner.say(line)
    summary = ", ".join(f"{k}={v}" for k, v in results["summary"].items())
    runner.say(f"report: {out / 'index.html'}, results.json, junit.xml, summary.md ({summary}) in {seconds:.1f} s")
    verdict = policy.decide(results, opts.fail_on, opts.fail_on_infra)
    if verdict.exit_code:
        print(verdict.message, file=sys.stderr)
    return verdict.exit_code
