"""A user's exported model on disk: find its program and params, stage a copy laid out
like the harness's own exports (work/checks/<name>/)."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from harness.errors import HarnessError
from harness.store.files import write_json_atomic

PROGRAM_FORMATS = {".json": "pir", ".pdmodel": "legacy"}
CFG_NAME = "infer_cfg.yml"
STAGED_PREFIX = "model"  # staged files are model.<ext>, as in the harness's own exports
GENERIC_STEMS = ("model", "inference", "__model__")  # prefixes that say nothing about the model
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


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


