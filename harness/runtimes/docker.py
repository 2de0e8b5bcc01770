"""The Docker backend: one image per runtime, every in-runtime command in its own container.

Images are built from ``dockerfiles/{cpu,gpu}.Dockerfile`` and tagged
``paddle-harness:<runtime>-<hash>``, the hash covering everything that goes into the
image (Dockerfile, Paddle requirement and pins, index, base image, Python, in-runtime
code), so an unchanged runtime is never rebuilt. Host paths are mounted at the same
absolute paths, so the task files need no translation. Every Docker call goes through
``harness.docker_seam``.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Mapping

from harness.config.deployments import Buildable
from harness.config.matrix import PYPI
from harness.console import console
from harness.errors import BackendError, RuntimeUnavailable
from harness.runtimes import docker_seam
from harness.runtimes.backend import EXTRAS_ENV, Capabilities, Prepared, RuntimeProcess
from harness.runtimes.docker_images import (
    CA_IN_CONTAINER,
    REPOSITORY,
    base_image,
    build_context,
    ca_bundle,
    dockerfile,
    dockerfiles_dir,
    image_size,
    image_spec,
    image_tag,
    megabytes,
    pip_build_args,
    requirements,
)
from harness.runtimes.docker_process import DockerProcess, container, wait
from harness.runtimes.seam import Completed
from harness.runtimes.venv import index_problem, sources_failed
from harness.store.layout import Workspace

LABEL = "paddle-harness.runtime"
# Which work directory a container serves: several harness runs can share one engine
# (a developer's matrix while CI tests), and each must only ever see its own containers.
WORK_LABEL = "paddle-harness.work"
NOBODY = "65534:65534"
INSIDE = ("-m", "harness.inside")
# The image helpers live in docker_images.py; they are part of this module's interface too.
__all__ = [
    "CA_IN_CONTAINER",
    "REPOSITORY",
    "DockerBackend",
    "Role",
    "base_image",
    "build_context",
    "dockerfile",
    "dockerfiles_dir",
    "engine_problem",
    "image_spec",
    "image_tag",
    "pip_build_args",
    "requirements",
]
WORKDIR = "/tmp"  # every path the commands use is absolute; /tmp is writable by anyone
PING_TIMEOUT_S = 10


# ---------------------------------------------------------------- who may do what
@dataclass(frozen=True)
class Role:
    """How the container of one in-runtime command is confined. No role has a network:
    the models train on synthetic data, and exports and results are files."""

    exports: str  # "own-rw": work/exports/<runtime> read-write; "all-ro": work/exports read-only; "": none
    user: str  # "invoker": the host's uid:gid; "unprivileged": that, or nobody when it is root
    network: str = "none"
    artifacts: bool = False  # work/artifacts/<runtime> read-write (what a deployment tool converted)


# Producers (train, export) write only their own exports; consumers (the worker) read
# every producer's exports and write nothing; a deployment consumer's worker writes only
# the models its tool converted, into its own artifacts directory.
ROLES: dict[str, Role] = {
    "probe": Role(exports="", user="unprivileged"),
    "train": Role(exports="own-rw", user="invoker"),
    "export": Role(exports="own-rw", user="invoker"),
    "worker": Role(exports="all-ro", user="unprivileged"),
    "inspect": Role(exports="all-ro", user="unprivileged"),  # check: reads a staged user model
    "deploy-probe": Role(exports="", user="unprivileged"),
    "deploy-worker": Role(exports="all-ro", user="unprivileged", artifacts=True),
}
CONSUMER = ROLES["worker"]


def command_of(args: list[str]) -> str:
    """``probe`` for ``-m harness.inside probe``; ``""`` for anything else."""
    return args[2] if tuple(args[:2]) == INSIDE and len(args) > 2 else ""


def role_for(args: list[str]) -> Role:
    return ROLES.get(command_of(args), CONSUMER)  # unknown commands get the tightest useful role


def user_for(role: Role) -> str:
    invoker = f"{os.getuid()}:{os.getgid()}"
    # Exports are written world-readable (the containers' umask), so nobody can read them.
    if role.user == "unprivileged" and os.getuid() == 0:
        return NOBODY
    return invoker


def writable_for(path: Path, user: str) -> None:
    """Create a directory a container's user writes through a bind mount; when that user is
    nobody (the harness runs as root), nobody owns it and whatever it wrote there before."""
    path.mkdir(parents=True, exist_ok=True)
    if user != NOBODY:
        return  # the invoker's own directory
    uid, gid = (int(part) for part in NOBODY.split(":"))
    for top, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(top, name), uid, gid)
    os.chown(path, uid, gid)


# ---------------------------------------------------------------- the engine
def engine_problem() -> str | None:
    """None when a Docker engine answers; otherwise why not, in words."""
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        docker_seam.client(timeout=PING_TIMEOUT_S).ping()
    except docker_seam.EngineUnavailable as exc:
        return f"no Docker engine answers at {where}: {exc}"
    except Exception as exc:  # noqa: BLE001  any failure to ping means "not usable", said as is
        return f"the Docker engine at {where} does not answer a ping: {type(exc).__name__}: {exc}"
    return None


class DockerBackend:
    name = "docker"
    # Consumers: no network, exports read-only, non-root; a model's requires are installed in
    # the one container that has a network.
    capabilities = Capabilities(sandboxed=True, network_for_installs=True, images=True)

    def __init__(self, work: Path, environ: Mapping[str, str] | None = None) -> None:
        problem = engine_problem()
        if problem:
            raise BackendError(problem, "start the engine (`dockerd &` or `systemctl start docker`), or --backend venv")
        self.work = work
        self.environ = dict(os.environ if environ is None else environ)
        self._gpu_problem: str | None = None

    # ------------------------------------------------------------ images
    def prepare(self, rt: Buildable) -> Prepared:
        """Build the image from the first of the runtime's wheel sources that builds."""
        client = docker_seam.client()
        tried: list[str] = []
        for cand in rt.candidates:
            tag = image_tag(cand)
            if self._has_image(client, tag):
                return Prepared(image_size(client, tag))  # built before from exactly this content
            if cand.index_url != PYPI and (why := index_problem(cand.index_url)):
                tried.append(f"{cand.requirement} is published on {cand.index_url}, and {why}")
                continue
            try:
                return self._build(client, cand, tag)
            except RuntimeUnavailable as exc:
                tried.append(str(exc))
        raise RuntimeUnavailable(sources_failed(tried), "the build logs are in " + str(self.work / "logs"))

    def resolve(self, rt: Buildable) -> Buildable:
        """The wheel source this runtime's image was built from: the first whose image exists."""
        if not rt.sources:
            return rt
        client = docker_seam.client()
        for cand in rt.candidates:
            if self._has_image(client, image_tag(cand)):
                return cand
        return rt.candidates[0]

    def identity(self, rt: Buildable) -> str:
        try:
            return str(docker_seam.client().images.get(image_tag(self.resolve(rt))).id)
        except docker_seam.errors().ImageNotFound:
            return ""

    @staticmethod
    def _has_image(client: Any, tag: str) -> bool:
        try:
            client.images.get(tag)
        except docker_seam.errors().ImageNotFound:
            return False
        return True

    def build_log(self, rt: Buildable) -> Path:
        return self.work / "logs" / f"build-{rt.id}.log"

    def _build(self, client: Any, rt: Buildable, tag: str) -> Prepared:
        started = time.monotonic()
        log_path = self.build_log(rt)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        base = base_image(rt)
        base_was_here = self._has_image(client, base)
        console.say(f"[build {rt.id}] building image {tag} on {base} (log: {log_path})")
        with log_path.open("w", encoding="utf-8") as log:
            error = self._stream_build(client, rt, tag, log)
        if error or not self._has_image(client, tag):
            tail = "\n".join(log_path.read_text(encoding="utf-8").strip().splitlines()[-12:])
            raise RuntimeUnavailable(
                f"could not build the image for {rt.id} ({' '.join(requirements(rt))}, Python {rt.python}, "
                f"base {base}): {error or 'no image was tagged'}\n{tail}",
                self._build_remedy(base, base_was_here, log_path),
            )
        built = Prepared(image_size(client, tag), round(time.monotonic() - started, 1))
        line = f"[build {rt.id}] image {tag}: {megabytes(built.image_size)}, built in {built.image_build_s:.0f} s"
        with log_path.open("a", encoding="utf-8") as log:
            log.write(line + "\n")
        console.say(line)
        return built

    def _stream_build(self, client: Any, rt: Buildable, tag: str, log: IO[str]) -> str:
        """Run the build, copying its output to ``log``; the engine's error, or ''."""
        build_args = {"BASE_IMAGE": base_image(rt), "PYTHON": rt.python, **pip_build_args(rt, self.environ)}
        try:
            stream = client.api.build(
                fileobj=build_context(rt, self.work, self.environ),
                custom_context=True,
                dockerfile="Dockerfile",
                tag=tag,
                buildargs=build_args,
                labels={LABEL: rt.id},
                pull=False,  # a local base image (nox -s base-images) wins over the registry
                rm=True,
                forcerm=True,
                decode=True,
            )
            for chunk in stream:
                log.write(str(chunk.get("stream") or chunk.get("status") or ""))
                log.flush()  # so that `tail -f` on the build log follows a long build
                if chunk.get("error"):
                    log.write(f"ERROR: {chunk['error']}\n")
                    return str(chunk["error"]).strip()
        except docker_seam.errors().APIError as exc:
            return str(exc)
        return ""

    @staticmethod
    def _build_remedy(base: str, base_was_here: bool, log_path: Path) -> str:
        if base_was_here:
            return f"the whole build output is in {log_path}"
        from harness.runtimes.base_images import SUITES, suite_for

        local = " (`nox -s base-images` builds python:3.X-slim from Debian)" if base.startswith("python:") else ""
        if base.startswith("python:") and suite_for(base) is None:  # e.g. python:3.7-slim for old Lite wheels
            local = f" (`nox -s base-images` builds only Python {', '.join(SUITES.values())}: not this one)"
        return f"the base image {base} is not on this engine and could not be pulled: load or build it{local}, " \
            "or set base_image for this runtime in matrix.yaml"

    # ------------------------------------------------------------ GPU
    def gpu_problem(self) -> str:
        """'' when GPU runtimes can run here: the engine has the nvidia runtime."""
        if self._gpu_problem is None:
            runtimes = sorted(docker_seam.client(timeout=PING_TIMEOUT_S).info().get("Runtimes") or {})
            self._gpu_problem = (
                ""
                if "nvidia" in runtimes
                else f"no GPU: the Docker engine has no nvidia runtime (it has {', '.join(runtimes) or 'none'})"
            )
        return self._gpu_problem

    # ------------------------------------------------------------ containers
    def mounts(self, rt: Buildable, role: Role, extras: str = "") -> dict[str, dict[str, str]]:
        """Host paths mounted at the same path inside, so task files need no translation.
        A producer also reads ``extras`` (its model's requires), when it is given one."""
        exports = self.work / "exports"
        if role.exports == "own-rw":
            source, mode = exports / rt.id, "rw"
        elif role.exports == "all-ro":
            source, mode = exports, "ro"
        else:
            return {}
        source.mkdir(parents=True, exist_ok=True)  # a bind mount needs its source
        volumes = {str(source): {"bind": str(source), "mode": mode}}
        if role.exports == "own-rw":
            # Every export read-only beneath its own read-write one (the engine mounts parents
            # first): "train high, export low" exports weights another runtime trained.
            volumes = {str(exports): {"bind": str(exports), "mode": "ro"}, **volumes}
        if extras and role.exports == "own-rw":
            volumes[extras] = {"bind": extras, "mode": "ro"}
        checks = self.work / "checks"  # user models staged by `check`, read like exports
        if role.exports == "all-ro" and checks.is_dir():
            volumes[str(checks)] = {"bind": str(checks), "mode": "ro"}
        if role.artifacts:
            own = Workspace(self.work).artifacts_dir(rt.id)
            writable_for(own, user_for(role))
            volumes[str(own)] = {"bind": str(own), "mode": "rw"}
        return volumes

    def container_spec(
        self, rt: Buildable, args: list[str], env: dict[str, str] | None, *, interactive: bool
    ) -> dict[str, Any]:
        """The keyword arguments of ``containers.create`` for ``python ARGS`` in ``rt``."""
        role = role_for(args)
        rt = self.resolve(rt)
        spec: dict[str, Any] = {
            "image": image_tag(rt),
            "command": ["python", *args],
            "name": f"{REPOSITORY}-{rt.id}-{command_of(args) or 'python'}-{uuid.uuid4().hex[:8]}",
            "user": user_for(role),
            "network_mode": role.network,
            "volumes": self.mounts(rt, role, (env or {}).get(EXTRAS_ENV, "")),
            "environment": {"HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
            "working_dir": WORKDIR,
            "init": True,  # a child killed by signal N exits 128+N; PID 1 would ignore the signal
            "labels": {LABEL: rt.id, WORK_LABEL: str(self.work)},
            "stdin_open": interactive,  # with detach=False this also sets StdinOnce: EOF reaches the worker
            "detach": not interactive,
        }
        if rt.device == "gpu" and not self.gpu_problem():
            spec["runtime"] = "nvidia"  # without it a GPU image still runs its probe, on the CPU
        return spec

    def run(self, rt: Buildable, args: list[str], *, timeout: float, env: dict[str, str] | None = None) -> Completed:
        return self._run_to_completion(self.container_spec(rt, args, env, interactive=False), timeout)

    @staticmethod
    def _run_to_completion(spec: dict[str, Any], timeout: float) -> Completed:
        argv = tuple(docker_run_argv(spec))
        with container(docker_seam.client(), spec) as box:
            box.start()
            code = wait(box, timeout)  # kills the container past the timeout
            out = box.logs(stdout=True, stderr=False).decode("utf-8", "replace")
            err = box.logs(stdout=False, stderr=True).decode("utf-8", "replace")
        return Completed(argv, code, out, err, timed_out=code is None)

    # ------------------------------------------------------------ extras
    def install_extras(self, rt: Buildable, requirements: Path, target: Path, *, timeout: float) -> Completed:
        """pip install --no-deps --target in a throwaway container of the runtime's image."""
        return self._run_to_completion(self.extras_spec(rt, requirements, target), timeout)

    def extras_spec(self, rt: Buildable, requirements: Path, target: Path) -> dict[str, Any]:
        """The one container with a network: it downloads a model's requires with the
        host's index, proxy and CA settings (as image builds do; the requires come from PyPI
        or its mirror, never from the runtime's Paddle index) and can write only ``target``."""
        target.mkdir(parents=True, exist_ok=True)  # a bind mount needs its source
        env = {"HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        env.update(pip_build_args(dataclasses.replace(rt, index_url=PYPI), self.environ))
        volumes = {str(target): {"bind": str(target), "mode": "rw"}}
        volumes[str(requirements)] = {"bind": str(requirements), "mode": "ro"}
        ca = ca_bundle(self.environ)
        if ca:
            volumes[str(ca)] = {"bind": CA_IN_CONTAINER, "mode": "ro"}
            env.update(PIP_CERT=CA_IN_CONTAINER, SSL_CERT_FILE=CA_IN_CONTAINER)
        pip = ["python", "-m", "pip", "install", "--no-input", "--no-deps", "--target", str(target)]
        return {
            "image": image_tag(self.resolve(rt)),
            "command": [*pip, "-r", str(requirements)],
            "name": f"{REPOSITORY}-{rt.id}-extras-{uuid.uuid4().hex[:8]}",
            "user": user_for(ROLES["export"]),  # the files belong to whoever owns work/
            "network_mode": "bridge",
            "volumes": volumes,
            "environment": env,
            "working_dir": WORKDIR,
            "init": True,
            "labels": {LABEL: rt.id, WORK_LABEL: str(self.work)},
            "stdin_open": False,
            "detach": True,
        }

    def start(
        self, rt: Buildable, args: list[str], *, stderr: IO[bytes], env: dict[str, str] | None = None
    ) -> RuntimeProcess:
        spec = self.container_spec(rt, args, env, interactive=True)
        return DockerProcess(docker_seam.client(), spec, stderr)

    def describe(self, rt: Buildable, args: list[str], env: dict[str, str] | None = None) -> str:
        return shlex.join(docker_run_argv(self.container_spec(rt, args, env, interactive=True)))


def docker_run_argv(spec: dict[str, Any]) -> list[str]:
    """The ``docker run`` line equivalent to a container spec (for people and logs)."""
    argv = ["docker", "run", "--rm", *(["-i"] if spec["stdin_open"] else []), *(["--init"] if spec["init"] else [])]
    argv += ["--network", spec["network_mode"], "--user", spec["user"], "--workdir", spec["working_dir"]]
    for source, bind in spec["volumes"].items():
        argv += ["-v", f"{source}:{bind['bind']}:{bind['mode']}"]
    for key, value in spec["environment"].items():
        argv += ["-e", f"{key}={value}"]
    argv += ["--runtime", spec["runtime"]] if "runtime" in spec else []
    return [*argv, spec["image"], *spec["command"]]
