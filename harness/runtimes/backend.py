"""Backends prepare a runtime and start processes in it: `venv` (uv) and `docker` (one image each)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol, Sequence

from harness.config.deployments import Buildable
from harness.console import console
from harness.runtimes.seam import Completed

# Names a directory of extra packages (a model's `requires`) for one producer process. The
# in-runtime code puts it first on sys.path; the docker backend mounts it read-only.
EXTRAS_ENV = "HARNESS_EXTRAS"


class RuntimeProcess(Protocol):
    """A long-lived process inside a runtime, speaking JSON lines on stdin/stdout."""

    stdin: IO[bytes]
    stdout: IO[bytes]

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def kill(self) -> None: ...


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, declared rather than discovered by probing attributes."""

    sandboxed: bool  # consumers run without network, exports mounted read-only, not as root
    network_for_installs: bool  # a model's requires can be downloaded while the harness runs
    images: bool  # a runtime is a portable image (content-tagged) rather than a local venv


@dataclass(frozen=True)
class Prepared:
    """What preparing a runtime built, for its record; backends without images return None."""

    image_size: int | None = None  # bytes
    image_build_s: float | None = None  # None: the image was on the engine already


class Backend(Protocol):
    name: str
    capabilities: Capabilities

    def gpu_problem(self) -> str:
        """'' when this backend can run GPU runtimes here; otherwise why not, in words."""

    def prepare(self, rt: Buildable) -> Prepared | None:
        """Build the runtime (idempotent). Raises RuntimeUnavailable / RuntimeSkipped."""

    def identity(self, rt: Buildable) -> str:
        """What identifies the runtime as built now; it changes whenever the runtime is
        rebuilt ('' when there is nothing built)."""

    def run(self, rt: Buildable, args: list[str], *, timeout: float, env: dict[str, str] | None = None) -> Completed:
        """Run ``python ARGS`` in the runtime to completion."""

    def start(
        self, rt: Buildable, args: list[str], *, stderr: IO[bytes], env: dict[str, str] | None = None
    ) -> RuntimeProcess:
        """Start ``python ARGS`` in the runtime, stdin/stdout piped, stderr to the given file."""

    def describe(self, rt: Buildable, args: list[str], env: dict[str, str] | None = None) -> str:
        """The command line a person can paste to run ``python ARGS`` (with ``env``) in the runtime by hand."""

    def install_extras(self, rt: Buildable, requirements: Path, target: Path, *, timeout: float) -> Completed:
        """Install the requirements file into ``target`` for the runtime's Python, without
        dependencies and without touching the runtime's own packages."""


def get_backend(name: str, work: Path) -> Backend:
    """The named backend; "auto" is Docker when an engine answers a ping, venv otherwise,
    and says which it chose and why."""
    from harness.errors import BackendError

    if name == "auto":
        name = _auto_choice()
    if name == "venv":
        from harness.runtimes.venv import VenvBackend

        return VenvBackend(work)
    if name == "docker":
        from harness.runtimes.docker import DockerBackend

        return DockerBackend(work)
    raise BackendError(f"unknown backend {name!r}", "use --backend auto, venv or docker")


def _auto_choice() -> str:
    from harness.runtimes.docker import engine_problem

    problem = engine_problem()
    if problem is None:
        console.say("backend auto: docker (a Docker engine answered)")
        return "docker"
    console.say(f"backend auto: venv ({problem})")
    return "venv"


def backend_for_run(
    name: str,
    work: Path,
    runtimes: Sequence[Buildable],
    build_gpu: bool = False,
    deployments: Sequence[Buildable] = (),
) -> Backend:
    """The backend for a whole matrix run. On Docker the base images its runtimes build on
    come first: kept, pulled, or built here from Debian as `nox -s base-images` does
    (``base_images.provide``). If one a Paddle runtime needs cannot be had, "auto" runs the
    whole matrix on venv and says why; an explicit "docker" goes on and says which runtimes
    will be unavailable. A base only deployment consumers need (python:3.7-slim for the
    Python 3.7 Lite wheels, say) never moves the run: those consumers are unavailable."""
    backend = get_backend(name, work)
    if backend.name != "docker":
        return backend
    missing = missing_bases(backend, [*runtimes, *deployments], build_gpu)
    if not missing:
        return backend
    why = "\n".join(f"  - {tag} (for {', '.join(ids)}): {reason}" for tag, (ids, reason) in missing.items())
    paddle = {rt.id for rt in runtimes}
    if name == "auto" and any(paddle & set(ids) for ids, _ in missing.values()):
        console.say(f"backend auto: venv after all: base images the Docker runtimes need cannot be had here:\n{why}")
        return get_backend("venv", work)
    console.warn(f"these runtimes will be unavailable: the base images they build on cannot be had here:\n{why}")
    return backend


def missing_bases(
    backend: Backend, runtimes: Sequence[Buildable], build_gpu: bool
) -> dict[str, tuple[list[str], str]]:
    """Base image -> (the runtimes that build on it, why it is not on the engine), after
    trying to get every one there; {} when all are. GPU runtimes that will be skipped for
    want of a GPU need none."""
    from harness.runtimes import base_images
    from harness.runtimes.docker import base_image

    users: dict[str, list[str]] = {}
    for rt in runtimes:
        if rt.device != "gpu" or build_gpu or not backend.gpu_problem():
            users.setdefault(base_image(rt), []).append(rt.id)
    if not users:
        return {}
    done = base_images.provide(list(users), pull_first=True)
    for line in done.lines:
        console.say(f"[base-images] {line}")
    return {tag: (users[tag], why) for tag, why in done.missing.items()}
