"""Look inside a live worker container, as the confinement tests do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.runtimes.docker import DockerBackend


def exec_in_worker(backend: DockerBackend, rt: Any, args: list[str], check: str, log: Path) -> tuple[list[str], Any]:
    """Start the worker of ``rt`` as the harness does, run ``python -c check`` inside its
    container once it is ready, and return the script's output lines and the container's
    HostConfig. The script must succeed."""
    with log.open("wb") as handle:
        proc = backend.start(rt, args, stderr=handle)
        try:
            assert json.loads(proc.stdout.readline())["event"] == "ready"
            box = proc.box  # type: ignore[attr-defined]
            box.reload()
            code, output = box.exec_run(["python", "-c", check])
            host_config = box.attrs["HostConfig"]
        finally:
            proc.stdin.close()
            proc.wait(timeout=60)
    assert code == 0, output.decode()
    return output.decode().split(), host_config
