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
import hashlib
import io
import json
import os
import shlex
import tarfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Mapping

import harness
from harness.config.matrix import PYPI, Runtime
from harness.console import console
from harness.errors import BackendError, RuntimeUnavailable
from harness.runtimes import docker_seam, inside_code
from harness.runtimes.backend import EXTRAS_ENV, Capabilities, Prepared, RuntimeProcess
from harness.runtimes.docker_process import DockerProcess, container, wait
from harness.runtimes.seam import Completed
from harness.runtimes.venv import index_problem, sources_failed

REPOSITORY = "paddle-harness"
LABEL = "paddle-harness.runtime"
# Which work directory a container serves: several harness runs can share one engine
# (a developer's matrix while CI tests), and each must only ever see its own containers.
WORK_LABEL = "paddle-harness.work"
GPU_BASE = "nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04"
NOBODY = "65534:65534"
INSIDE = ("-m", "harness.inside")
WORKDIR = "/tmp"  # every path the commands use is absolute; /tmp is writable by anyone
PING_TIMEOUT_S = 10
# Passed to the build as they are; the engine keeps these predefined build args out of
# the image history.
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
CA_VARS = ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
CA_IN_CONTAINER = "/tmp/harness/ca-bundle.crt"  # where the build puts it too


# ---------------------------------------------------------------- who may do what
@dataclass(frozen=True)
class Role:
    """How the container of one in-runtime command is confined. No role has a network:
    the models train on synthetic data, and exports and results are files."""

    exports: str  # "own-rw": work/exports/<runtime> read-write; "all-ro": work/exports read-only; "": none
    user: str  # "invoker": the host's uid:gid; "unprivileged": that, or nobody when it is root
    network: str = "none"


# Producers (train, export) write only their own exports; consumers (the worker) read
# every producer's exports and write nothing.
ROLES: dict[str, Role] = {
    "probe": Role(exports="", user="unprivileged"),
    "train": Role(exports="own-rw", user="invoker"),
    "export": Role(exports="own-rw", user="invoker"),
    "worker": Role(exports="all-ro", user="unprivileged"),
    "inspect": Role(exports="all-ro", user="unprivileged"),  # check: reads a staged user model
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


# ---------------------------------------------------------------- images
def dockerfiles_dir() -> Path:
    """dockerfiles/ of the checkout (the package is run from it or installed from it)."""
    candidates = [Path(os.environ.get("HARNESS_DOCKERFILES", "")), Path(harness.__file__).parents[1] / "dockerfiles"]
    candidates.append(Path.cwd() / "dockerfiles")
    for path in candidates:
        if str(path) not in ("", ".") and (path / "cpu.Dockerfile").is_file():
            return path
    raise BackendError(
        "the Docker backend cannot find dockerfiles/cpu.Dockerfile",
        "run from the repository checkout, or set HARNESS_DOCKERFILES to its dockerfiles/ directory",
    )


def dockerfile(rt: Runtime) -> Path:
    return dockerfiles_dir() / f"{rt.device}.Dockerfile"


def base_image(rt: Runtime) -> str:
    if rt.base_image:
        return rt.base_image
    return GPU_BASE if rt.device == "gpu" else f"python:{rt.python}-slim"


def requirements(rt: Runtime) -> list[str]:
    # setuptools: `import paddle` needs it (pkg_resources/distutils) on Python 3.12+.
    return [rt.requirement, "setuptools", *rt.pins]


def image_spec(rt: Runtime) -> dict[str, Any]:
    """Everything that decides an image's content; the tag is its hash. Host index and
    proxy settings are left out on purpose: a mirror serves the same wheels."""
    return {
        "dockerfile": dockerfile(rt).read_text(encoding="utf-8"),
        "requirements": requirements(rt),
        "index_url": rt.index_url,
        "base_image": base_image(rt),
        "python": rt.python,
        "device": rt.device,
        "code": inside_code.code_hash(),
    }


def image_tag(rt: Runtime) -> str:
    digest = hashlib.sha256(json.dumps(image_spec(rt), sort_keys=True).encode()).hexdigest()[:12]
    return f"{REPOSITORY}:{rt.id}-{digest}"


def pip_build_args(rt: Runtime, environ: Mapping[str, str]) -> dict[str, str]:
    """pip's index settings for the build: matrix.yaml's index_url for Paddle, and the
    host's PIP_INDEX_URL (a PyPI mirror), PIP_EXTRA_INDEX_URL and PIP_TRUSTED_HOST.
    file:// indexes are dropped: a container cannot see the host's paths."""

    def reachable(urls: str) -> list[str]:
        return [u for u in urls.split() if not u.startswith("file:")]

    pypi = (reachable(environ.get("PIP_INDEX_URL", "")) or [PYPI])[0]
    extras = reachable(environ.get("PIP_EXTRA_INDEX_URL", ""))
    index = pypi
    if rt.index_url != PYPI:  # Paddle's index first, PyPI (or its mirror) for the rest
        index, extras = rt.index_url, [pypi, *extras]
    args = {"PIP_INDEX_URL": index}
    if extras:
        args["PIP_EXTRA_INDEX_URL"] = " ".join(dict.fromkeys(extras))
    if environ.get("PIP_TRUSTED_HOST"):
        args["PIP_TRUSTED_HOST"] = environ["PIP_TRUSTED_HOST"]
    args.update({k: environ[k] for k in PROXY_VARS if environ.get(k)})
    return args


def ca_bundle(environ: Mapping[str, str]) -> Path | None:
    """The host's CA bundle for the build (a corporate proxy that re-signs TLS needs it)."""
    for var in CA_VARS:
        path = Path(environ.get(var, ""))
        if environ.get(var) and path.is_file():
            return path
    return None


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # Readable by the unprivileged user the consumers run as, whatever the host's umask.
    info.mode = 0o755 if info.isdir() else 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = _normalise(tarfile.TarInfo(name))
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def build_context(rt: Runtime, work: Path, environ: Mapping[str, str]) -> io.BytesIO:
    """The build context as a tar: Dockerfile, requirements.txt, the CA bundle (empty when
    none), and the staged in-runtime code. Nothing else of the host goes in."""
    ca = ca_bundle(environ)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add_bytes(tar, "Dockerfile", dockerfile(rt).read_bytes())
        _add_bytes(tar, "requirements.txt", ("\n".join(requirements(rt)) + "\n").encode())
        _add_bytes(tar, "ca-bundle.crt", ca.read_bytes() if ca else b"")
        tar.add(str(inside_code.stage(work)), arcname="harness-code", filter=_normalise)
    buf.seek(0)
    return buf


def image_size(client: Any, tag: str) -> int | None:
    """The image's size in bytes, as `docker images` shows it."""
    size = client.images.get(tag).attrs.get("Size")
    return int(size) if size is not None else None


def megabytes(size: int | None) -> str:
    return "size unknown" if size is None else f"{size / 1e6:.0f} MB"


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
    def prepare(self, rt: Runtime) -> Prepared:
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

    def resolve(self, rt: Runtime) -> Runtime:
        """The wheel source this runtime's image was built from: the first whose image exists."""
        if not rt.sources:
            return rt
        client = docker_seam.client()
        for cand in rt.candidates:
            if self._has_image(client, image_tag(cand)):
                return cand
        return rt.candidates[0]

    def identity(self, rt: Runtime) -> str:
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

    def build_log(self, rt: Runtime) -> Path:
        return self.work / "logs" / f"build-{rt.id}.log"

    def _build(self, client: Any, rt: Runtime, tag: str) -> Prepared:
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

    def _stream_build(self, client: Any, rt: Runtime, tag: str, log: IO[str]) -> str:
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
        local = " (`nox -s base-images` builds python:3.X-slim from Debian)" if base.startswith("python:") else ""
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
    def mounts(self, rt: Runtime, role: Role, extras: str = "") -> dict[str, dict[str, str]]:
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
        if extras and role.exports == "own-rw":
            volumes[extras] = {"bind": extras, "mode": "ro"}
        checks = self.work / "checks"  # user models staged by `check`, read like exports
        if role.exports == "all-ro" and checks.is_dir():
            volumes[str(checks)] = {"bind": str(checks), "mode": "ro"}
        return volumes

    def container_spec(
        self, rt: Runtime, args: list[str], env: dict[str, str] | None, *, interactive: bool
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

    def run(self, rt: Runtime, args: list[str], *, timeout: float, env: dict[str, str] | None = None) -> Completed:
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
    def install_extras(self, rt: Runtime, requirements: Path, target: Path, *, timeout: float) -> Completed:
        """pip install --no-deps --target in a throwaway container of the runtime's image."""
        return self._run_to_completion(self.extras_spec(rt, requirements, target), timeout)

    def extras_spec(self, rt: Runtime, requirements: Path, target: Path) -> dict[str, Any]:
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
        self, rt: Runtime, args: list[str], *, stderr: IO[bytes], env: dict[str, str] | None = None
    ) -> RuntimeProcess:
        spec = self.container_spec(rt, args, env, interactive=True)
        return DockerProcess(docker_seam.client(), spec, stderr)

    def describe(self, rt: Runtime, args: list[str], env: dict[str, str] | None = None) -> str:
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
