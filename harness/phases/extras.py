"""A model's `requires` (and an export mode's: PaddleSlim for its quantizer), installed next
to one runtime (never into it) for that model's producer processes:
work/extras/<runtime>/<hash>/site, cached by runtime fingerprint and requirements, with
requirements.txt and installed.json beside it."""

from __future__ import annotations

import shlex
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from harness.config.matrix import ExportMode, Model, Runtime
from harness.console import console
from harness.document.cell import clip
from harness.phases.context import RunContext
from harness.runtimes.backend import EXTRAS_ENV
from harness.store.files import digest, write_json_atomic


@dataclass(frozen=True)
class Extras:
    """A model's requires installed next to one runtime (``site``), or why they are not."""

    site: Path | None = None
    error: str = ""
    log: str = ""
    command: str = ""  # the install that failed, to rerun by hand

    def env(self) -> dict[str, str]:
        """What tells a producer process to use them (nothing for a model without requires)."""
        return {EXTRAS_ENV: str(self.site)} if self.site else {}

    def failure(self) -> dict[str, str]:
        return {"error": self.error, "log": self.log, "command": self.command}


def model_extras(ctx: RunContext, rt: Runtime, model: Model, mode: ExportMode | None = None) -> Extras:
    """The model's requires next to rt; for an export, the mode's too (one site for both)."""
    requires = model.requires + (mode.requires if mode else ())
    if not requires:
        return Extras()
    root = ctx.ws.root / "extras" / rt.id / digest(ctx.state(rt.id).fingerprint, list(requires))
    if (root / "installed.json").exists():
        return Extras(root / "site")
    if root in ctx.failed_installs:
        failed: Extras = ctx.failed_installs[root]
        return failed
    what = model.id + (f" and {mode.id}" if mode and mode.requires else "")
    extras = _install(ctx, rt, requires, what, root)
    if extras.error:
        ctx.failed_installs[root] = extras
    return extras


def _install(ctx: RunContext, rt: Runtime, requires: tuple[str, ...], what: str, root: Path) -> Extras:
    if root.exists():
        shutil.rmtree(root)  # an install that did not finish
    root.mkdir(parents=True)
    requirements = root / "requirements.txt"
    requirements.write_text("\n".join(requires) + "\n", encoding="utf-8")
    console.say(f"[export {rt.id}] installing the {len(requires)} requires of {what} into {root / 'site'}")
    started = time.monotonic()
    res = ctx.backend.install_extras(rt, requirements, root / "site", timeout=ctx.matrix.timeouts.build_s)
    if not res.ok:
        why = "timed out" if res.timed_out else installer_error(res.stderr + "\n" + res.stdout)
        command = shlex.join(res.argv)
        error = f"the requires of {what} could not be installed in {rt.id}: {why}"
        return Extras(error=error, log=clip(f"$ {command}\n{res.stdout}\n{res.stderr}"), command=command)
    seconds = round(time.monotonic() - started, 1)
    record = {"requires": list(requires), "command": list(res.argv), "seconds": seconds}
    write_json_atomic(root / "installed.json", record)
    return Extras(root / "site")


def installer_error(output: str) -> str:
    """The installer's own words: uv's `error:` line and its first `cause:`, pip's first `ERROR:`."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if line.lower().startswith("error"):
            cause = lines[i + 1] if i + 1 < len(lines) and lines[i + 1].startswith("cause:") else ""
            return f"{line}; {cause}" if cause else line
    return lines[-1] if lines else "the installer failed without a word"
