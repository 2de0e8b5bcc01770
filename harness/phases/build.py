"""Build phase: prepare one runtime and record its state (ready with a fingerprint,
unavailable with the reason, or skipped)."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import asdict

from harness.config.matrix import Runtime
from harness.console import console
from harness.document.cell import clip, first_line
from harness.errors import RuntimeUnavailable
from harness.phases.context import RunContext
from harness.runtimes import inside_code
from harness.store.files import digest
from harness.store.state import RuntimeRecord, RuntimeState, write_state

INSIDE = ["-m", "harness.inside"]


def build(ctx: RunContext, rt: Runtime, build_gpu: bool = False) -> RuntimeRecord:
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


def _prepare(ctx: RunContext, rt: Runtime) -> RuntimeRecord:
    try:
        ctx.backend.prepare(rt)
    except RuntimeUnavailable as exc:
        return RuntimeRecord(rt.id, RuntimeState.UNAVAILABLE, str(exc))
    identity = digest(ctx.backend.name, ctx.backend.identity(rt), inside_code.code_hash())
    before = ctx.state(rt.id)
    if before.ready and before.identity == identity:
        # The same build as last time: its fingerprint still holds, no need to import paddle again.
        return dataclasses.replace(before, reason="")
    probed = _probe(ctx, rt)
    return dataclasses.replace(probed, identity=identity) if probed.ready else probed


def _probe(ctx: RunContext, rt: Runtime) -> RuntimeRecord:
    res = ctx.backend.run(rt, [*INSIDE, "probe"], timeout=ctx.matrix.timeouts.worker_start_s)
    if not res.ok:
        why = f"died by {res.signal_name}" if res.signal_name else "failed"
        reason = f"paddle installs but `import paddle` {why}:\n{clip(res.stderr, 4000)}"
        return RuntimeRecord(rt.id, RuntimeState.UNAVAILABLE, reason)
    fingerprint = json.loads(res.stdout.strip().splitlines()[-1])
    if rt.device == "gpu" and (no_gpu := ctx.backend.gpu_problem()):
        reason = f"{no_gpu} (built, but nothing to run it on here)"
        return RuntimeRecord(rt.id, RuntimeState.SKIPPED, reason, fingerprint=fingerprint)
    return RuntimeRecord(rt.id, RuntimeState.READY, fingerprint=fingerprint)
