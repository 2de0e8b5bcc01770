"""Build phase: prepare one runtime and record its state (ready with a fingerprint,
unavailable with the reason, or skipped). A deployment consumer's runtime is built the same
way, with its own packages, and probed by its tool instead of by `import paddle`."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from dataclasses import asdict

from harness.config.deployments import Buildable, Deployment
from harness.console import console
from harness.document.cell import clip, first_line
from harness.errors import RuntimeUnavailable
from harness.phases.context import RunContext
from harness.runtimes import inside_code
from harness.runtimes.backend import Prepared
from harness.store.files import digest
from harness.store.state import RuntimeRecord, RuntimeState, write_state

INSIDE = ["-m", "harness.inside"]


def build(ctx: RunContext, rt: Buildable, build_gpu: bool = False) -> RuntimeRecord:
    started = time.monotonic()
    if rt.device == "gpu" and not build_gpu and (no_gpu := ctx.backend.gpu_problem()):
        record = RuntimeRecord(rt.id, RuntimeState.SKIPPED, no_gpu)
    else:
        record = _prepare(ctx, rt)
    record = dataclasses.replace(
        record, backend=ctx.backend.name, runtime=asdict(rt), build_s=round(time.monotonic() - started, 1)
    )
    write_state(ctx.ws, record)
    reason = f": {first_line(record.reason)}" if record.reason else ""
    console.say(f"[build {rt.id}] {record.state.value}{reason}")
    return record


def _prepare(ctx: RunContext, rt: Buildable) -> RuntimeRecord:
    try:
        built = ctx.backend.prepare(rt)
    except RuntimeUnavailable as exc:
        return RuntimeRecord(rt.id, RuntimeState.UNAVAILABLE, str(exc))
    identity = digest(ctx.backend.name, ctx.backend.identity(rt), inside_code.code_hash())
    before = ctx.state(rt.id)
    if before.ready and before.identity == identity:
        # The same build as last time: its fingerprint still holds, no need to import paddle again.
        return _with_image(dataclasses.replace(before, reason=""), built)
    probed = _probe(ctx, rt)
    return _with_image(dataclasses.replace(probed, identity=identity) if probed.ready else probed, built)


def _with_image(record: RuntimeRecord, built: Prepared | None) -> RuntimeRecord:
    """The image's size, and how long building it took when this build made it (else what
    was recorded for the same image before)."""
    if built is None:
        return record
    build_s = built.image_build_s if built.image_build_s is not None else record.image_build_s
    return dataclasses.replace(record, image_size=built.image_size, image_build_s=build_s)


def probe_args(rt: Buildable) -> list[str]:
    """What asks a runtime about itself: its Paddle, or a deployment consumer's tool."""
    return [*INSIDE, "deploy-probe", rt.tool] if isinstance(rt, Deployment) else [*INSIDE, "probe"]


def _probe(ctx: RunContext, rt: Buildable) -> RuntimeRecord:
    res = ctx.backend.run(rt, probe_args(rt), timeout=ctx.matrix.timeouts.worker_start_s)
    if not res.ok:
        why = f"died by {res.signal_name}" if res.signal_name else "failed"
        cause = import_cause(res.stderr)
        what = f"{rt.requirement} installs but importing it" if isinstance(rt, Deployment) else (
            "paddle installs but `import paddle`"
        )
        reason = f"{what} {why}" + (f": {cause}" if cause else "")
        return RuntimeRecord(rt.id, RuntimeState.UNAVAILABLE, f"{reason}:\n{clip(res.stderr, 4000)}")
    fingerprint = json.loads(res.stdout.strip().splitlines()[-1])
    if rt.device == "gpu" and (no_gpu := ctx.backend.gpu_problem()):
        reason = f"{no_gpu} (built, but nothing to run it on here)"
        return RuntimeRecord(rt.id, RuntimeState.SKIPPED, reason, fingerprint=fingerprint)
    return RuntimeRecord(rt.id, RuntimeState.READY, fingerprint=fingerprint)


# Why a wheel that installs cannot import here, for the causes seen on these machines.
_IMPORT_CAUSES = (
    (
        re.compile(r"undefined symbol: _dl_sym, version GLIBC_PRIVATE"),
        "this wheel needs glibc < 2.34 and this system's is newer (undefined symbol _dl_sym, version "
        "GLIBC_PRIVATE); run it on the docker backend, whose python:3.9-slim base is Debian bullseye (glibc 2.31)",
    ),
    (
        re.compile(r"(lib(?:cudart|cublas|cudnn|cufft|curand|cusolver)[\w.]*\.so[\d.]*): cannot open shared object"),
        "the wheel needs the CUDA runtime library {0}, which nothing installed here provides",
    ),
)


def import_cause(stderr: str) -> str:
    for pattern, text in _IMPORT_CAUSES:
        found = pattern.search(stderr)
        if found:
            return text.format(*found.groups())
    return ""
