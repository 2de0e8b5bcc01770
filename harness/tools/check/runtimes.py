"""Which built runtimes a check uses, and the newest one that can read the program."""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any, Sequence

from harness.config.matrix import Matrix, Runtime
from harness.config.versions import version_key
from harness.document.cell import first_line
from harness.phases.build import INSIDE
from harness.phases.export import crash_line
from harness.runtimes.backend import Backend
from harness.store.layout import Workspace
from harness.store.state import read_state
from harness.tools.check.model import CheckError


# ================================================================ runtimes and backend
def choose_backend(name: str, matrix: Matrix, ws: Workspace) -> str:
    """`auto` means the backend that built the ready runtimes: check never builds."""
    if name != "auto":
        return name
    built = [read_state(ws, rt.id) for rt in matrix.runtimes]
    backends = collections.Counter(s.backend for s in built if s.ready)
    return "venv" if backends["venv"] or not backends else str(backends.most_common(1)[0][0])


def ready_runtimes(
    matrix: Matrix, ws: Workspace, backend: str, explicit: bool
) -> tuple[list[Runtime], list[dict[str, str]]]:
    """The runtimes already built for this backend, oldest Paddle first, and the others
    with their state and why."""
    used, unused = [], []
    for rt in matrix.runtimes:
        state = read_state(ws, rt.id)
        if not state.ready:
            unused.append({"runtime": rt.id, "state": state.state.value, "reason": first_line(state.reason)})
        elif (state.backend or backend) != backend:
            why = f"built by the {state.backend} backend, not {backend}"
            unused.append({"runtime": rt.id, "state": "other_backend", "reason": why})
        else:
            used.append(rt)
    listed = "".join(f"\n  - {u['runtime']}: {u['state']} ({u['reason']})" for u in unused)
    if explicit and unused:
        raise CheckError(
            f"asked for runtimes that are not ready here:{listed}",
            "build them first: " + build_sessions([u["runtime"] for u in unused], backend),
        )
    if not used:
        raise CheckError(
            f"no runtime is built in {ws.root} for the {backend} backend ({unused_line(unused)})",
            "check uses runtimes that are already built: "
            + build_sessions([rt.id for rt in matrix.runtimes], backend)
            + ", or all of them with `nox -s matrix`",
        )
    return sorted(used, key=lambda rt: paddle_version_key(ws, rt)), unused


def build_sessions(ids: list[str], backend: str) -> str:
    """The nox sessions a new user runs to build these runtimes (on the backend check will use)."""
    flag = f" -- --backend {backend}"
    return "; ".join(f"`nox -s build-{rt_id}{flag}`" for rt_id in ids)


def unused_line(unused: list[dict[str, str]]) -> str:
    """One line for the runtimes a check leaves out: `cpu-2.3, cpu-2.5 unavailable; gpu-3.3.1 skipped`."""
    by_state: dict[str, list[str]] = collections.defaultdict(list)
    for u in unused:
        by_state[u["state"]].append(u["runtime"])
    return "; ".join(f"{', '.join(ids)} {state}" for state, ids in by_state.items())


def paddle_version_key(ws: Workspace, rt: Runtime) -> tuple[int, ...]:
    fingerprint = read_state(ws, rt.id).fingerprint or {}
    return version_key(str(fingerprint.get("paddle_version") or rt.version))


# ================================================================ asking the program
def inspect_program(
    matrix: Matrix, backend: Backend, newest_first: Sequence[Runtime], directory: Path, program_file: str
) -> tuple[dict[str, Any] | None, list[str]]:
    """The program's inputs and outputs, from the newest runtime that can read it (a 3.x
    PIR program cannot be read by 2.x); None and each runtime's reason when none can."""
    args = [*INSIDE, "inspect", str(directory / program_file), str(directory / "model.pdiparams")]
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
            banner = crash_line(res.stderr) or first_line(tail[0])
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


