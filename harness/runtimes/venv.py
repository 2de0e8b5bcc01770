"""The embedded backend: one uv virtual environment per runtime, no Docker needed."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shlex
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, cast

from harness.config.deployments import Buildable
from harness.config.matrix import PYPI
from harness.errors import BackendError, RuntimeUnavailable
from harness.runtimes import inside_code, seam
from harness.runtimes.backend import Capabilities, RuntimeProcess
from harness.runtimes.seam import Completed

# Variables that would make a runtime's Python see the host's packages.
_LEAKY_ENV = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONNOUSERSITE")


def find_uv() -> str:
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # the `uv` wheel ships its binary

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        raise BackendError(
            "the venv backend needs uv, and none was found on PATH or as the `uv` Python package",
            "pip install uv (nox sessions install it for you)",
        ) from None


def find_python(version: str) -> str | None:
    """An interpreter for ``3.X``. uv's own discovery stops at pyenv shims that refuse to
    run, so look at the real locations and ask each candidate for its version."""
    home = Path.home()
    candidates = [shutil.which(f"python{version}") or ""]
    candidates += sorted(glob.glob(str(home / f".pyenv/versions/{version}.*/bin/python{version}")), reverse=True)
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    for exe in filter(None, candidates):
        res = seam.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], timeout=30)
        if res.ok and res.stdout.strip() == version:
            return exe
    return None


def index_problem(url: str, timeout: float = 15) -> str | None:
    """None when the index answers; otherwise why not (DNS, refused, TLS, HTTP status)."""
    if url.startswith("file://"):
        return None if Path(url[7:]).exists() else f"{url} does not exist"
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return None
    except urllib.error.HTTPError as exc:
        return f"{url} answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{url} is unreachable from here ({reason})"


def host_gpu_problem() -> str:
    """'' when nvidia-smi lists a device on this host."""
    if shutil.which("nvidia-smi") and seam.run(["nvidia-smi", "-L"], timeout=30).ok:
        return ""
    return "no GPU: nvidia-smi finds no device on this host"


def sources_failed(reasons: list[str]) -> str:
    """Why no wheel source of a runtime could be used, one line per source tried."""
    if len(reasons) == 1:
        return reasons[0]
    return "no wheel source could be used:\n" + "\n".join(f"source {i + 1}: {r}" for i, r in enumerate(reasons))


class VenvBackend:
    name = "venv"
    # A venv is the host's own Python: no sandbox, installs reach the network directly.
    capabilities = Capabilities(sandboxed=False, network_for_installs=True, images=False)

    def __init__(self, work: Path) -> None:
        self.work = work
        self.uv = find_uv()

    # ------------------------------------------------------------ paths
    def venv_dir(self, rt: Buildable) -> Path:
        return self.work / "runtimes" / rt.id / "venv"

    def python(self, rt: Buildable) -> str:
        return str(self.venv_dir(rt) / "bin" / "python")

    def requirements(self, rt: Buildable) -> list[str]:
        return rt.requirements

    def _install_args(self, rt: Buildable) -> list[str]:
        if rt.index_url == PYPI:
            return []
        # Paddle's index first (it holds the wheel), PyPI for everything else.
        return ["--index-url", rt.index_url, "--extra-index-url", PYPI]

    # ------------------------------------------------------------ prepare
    def prepare(self, rt: Buildable) -> None:
        """Build the venv from the first of the runtime's wheel sources that installs; the
        reason of every source that did not is kept for the one that fails last."""
        for cand in rt.candidates:
            if self._built_from(cand):
                return  # already built from this exact spec
        exe = find_python(rt.python)
        if exe is None:
            raise RuntimeUnavailable(
                f"Python {rt.python} is not installed on this host (looked on PATH, in ~/.pyenv and /usr)",
                f"install Python {rt.python} (e.g. `pyenv install {rt.python}`) or use the docker backend",
            )
        tried: list[str] = []
        for cand in rt.candidates:
            if cand.index_url != PYPI and (why := index_problem(cand.index_url)):
                tried.append(f"{cand.requirement} is published on {cand.index_url}, and {why}")
                continue
            try:
                self._create(cand, exe)
            except RuntimeUnavailable as exc:
                tried.append(str(exc))
                continue
            marker = self._marker(cand)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(self._spec(cand))
            return
        raise RuntimeUnavailable(
            sources_failed(tried), "run where that index is reachable, or point index_url in matrix.yaml at a mirror"
        )

    def _spec(self, rt: Buildable) -> str:
        return json.dumps([rt.python, self.requirements(rt), rt.index_url], sort_keys=True)

    def _marker(self, rt: Buildable) -> Path:
        return self.venv_dir(rt) / ".harness-spec"

    def _built_from(self, rt: Buildable) -> bool:
        marker = self._marker(rt)
        return marker.exists() and marker.read_text() == self._spec(rt) and Path(self.python(rt)).exists()

    def _create(self, rt: Buildable, exe: str) -> None:
        venv = self.venv_dir(rt)
        if venv.exists():
            shutil.rmtree(venv)
        steps = [
            [self.uv, "venv", "--quiet", "--python", exe, str(venv)],
            [self.uv, "pip", "install", "--python", self.python(rt), *self._install_args(rt), *self.requirements(rt)],
        ]
        for argv in steps:
            res = seam.run(argv, env=self._uv_env(), timeout=1800)
            if not res.ok:
                tail = "\n".join((res.stderr or res.stdout).strip().splitlines()[-12:])
                raise RuntimeUnavailable(
                    f"could not install {' '.join(self.requirements(rt))} for Python {rt.python}:\n{tail}",
                    f"reproduce with: {shlex.join(argv)}",
                )

    def install_extras(self, rt: Buildable, requirements: Path, target: Path, *, timeout: float) -> Completed:
        """uv pip install --no-deps --target: the pins are complete (no resolver may swap the
        runtime's numpy or setuptools), and the venv itself stays as it was built."""
        argv = [self.uv, "pip", "install", "--no-deps", "--target", str(target), "--python", self.python(rt)]
        return seam.run([*argv, "-r", str(requirements)], env=self._uv_env(), timeout=timeout)

    def _uv_env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Never let uv download an interpreter: find_python chose one already.
        env.setdefault("UV_PYTHON_DOWNLOADS", "never")
        return env

    def gpu_problem(self) -> str:
        return host_gpu_problem()

    def identity(self, rt: Buildable) -> str:
        """The venv as it is on disk now: every file's path, size and modification time,
        hashed. A stat walk, not a content hash: cheap enough for every load phase, and it
        sees a package patched, a hook dropped into site-packages or a file edited in paddle/."""
        venv = self.venv_dir(rt)
        if not (venv / ".harness-spec").exists():
            return ""
        digest = hashlib.sha256()
        for top, dirs, files in os.walk(venv):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(top, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                digest.update(f"{os.path.relpath(path, venv)}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
        return digest.hexdigest()[:16]

    # ------------------------------------------------------------ running
    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}
        env["PYTHONPATH"] = str(inside_code.stage(self.work))
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.update(extra or {})
        return env

    def run(self, rt: Buildable, args: list[str], *, timeout: float, env: dict[str, str] | None = None) -> Completed:
        return seam.run([self.python(rt), *args], env=self.env(env), cwd=self.work, timeout=timeout)

    def start(
        self, rt: Buildable, args: list[str], *, stderr: IO[bytes], env: dict[str, str] | None = None
    ) -> RuntimeProcess:
        proc = seam.popen([self.python(rt), *args], env=self.env(env), cwd=self.work, stderr=stderr)
        return cast(RuntimeProcess, proc)  # started with stdin/stdout pipes, so both are set

    def describe(self, rt: Buildable, args: list[str], env: dict[str, str] | None = None) -> str:
        code = inside_code.stage(self.work)
        assignments = [f"{k}={shlex.quote(v)}" for k, v in {"PYTHONPATH": str(code), **(env or {})}.items()]
        command = shlex.join([self.python(rt), *args])
        return f"cd {shlex.quote(str(self.work))} && {' '.join(assignments)} {command}"
