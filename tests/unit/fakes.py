"""Test doubles shared by the unit tests."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import IO, Any, Iterator

import numpy
import requests

from harness.runtimes import docker_seam, seam
from harness.runtimes.backend import Capabilities

ImageNotFound = docker_seam.errors().ImageNotFound


class FakeBackend:
    """Starts tests/data/fake_worker.py (or any script) instead of a Paddle runtime.

    ``environment`` is what ``identity`` reports for every runtime: change it to make the
    consumer look rebuilt."""

    name = "fake"
    capabilities = Capabilities(sandboxed=False, network_for_installs=False, images=False)

    def __init__(self, script: Path, environment: str = "env-1") -> None:
        self.script = script
        self.environment = environment
        self.starts = 0

    def gpu_problem(self) -> str:
        return "no GPU: fake backend"

    def identity(self, rt: Any) -> str:
        return self.environment

    def start(self, rt: Any, args: list[str], *, stderr: IO[bytes], env: dict[str, str] | None = None) -> Any:
        self.starts += 1
        return seam.popen([sys.executable, str(self.script)], stderr=stderr)

    def describe(self, rt: Any, args: list[str], env: dict[str, str] | None = None) -> str:
        return f"python {self.script}"


class RecordingBackend:
    """Records installs and runs; 'trains' by writing weights, 'exports' by writing export.json.

    ``install`` is what every install returns (success by default); ``train_error`` makes
    training write that error to train.json and fail, ``train_exit`` makes it exit so."""

    name = "fake"
    capabilities = Capabilities(sandboxed=False, network_for_installs=True, images=False)

    def __init__(self, install: seam.Completed | None = None) -> None:
        self.install = install
        self.installs: list[tuple[Path, Path]] = []
        self.runs: list[tuple[str, dict[str, str] | None]] = []
        self.train_error = ""
        self.train_exit = 0

    def gpu_problem(self) -> str:
        return "no GPU: fake backend"

    def identity(self, rt: Any) -> str:
        return "env-1"

    def install_extras(self, rt: Any, requirements: Path, target: Path, *, timeout: float) -> seam.Completed:
        self.installs.append((requirements, target))
        argv = ("/bin/uv", "pip", "install", "--no-deps", "--target", str(target), "-r", str(requirements))
        return self.install or seam.Completed(argv, 0, "", "")

    def run(self, rt: Any, args: list[str], *, timeout: float, env: dict[str, str] | None = None) -> seam.Completed:
        command, spec = args[2], json.loads(Path(args[3]).read_text())
        self.runs.append((f"{command} {spec['model']} {spec['family']}", env))
        out = Path(spec["out_dir"])
        if command == "train" and self.train_error:
            (out / "train.json").write_text(json.dumps({"error": self.train_error}))
            return seam.Completed(tuple(args), 1, "", "Traceback ...\n")
        if command == "train" and self.train_exit:
            return seam.Completed(tuple(args), self.train_exit, "", "")
        if command == "train":
            (out / "weights.pdparams").write_bytes(b"w")
            (out / "train.json").write_text(json.dumps({"losses": [2.0, 1.0]}))
        else:
            (out / "model.pdmodel").write_bytes(b"program")
            # A sane reference: finite, inside the image (no truth.json: no detection floor).
            box = numpy.array([[0, 0.9, 4, 4, 20, 20]], "float32")
            numpy.savez(out / "reference.npz", output_0=box, output_1=numpy.array([1], "int32"))
            (out / "export.json").write_text(json.dumps({"status": "ok", "program_file": "model.pdmodel"}))
        return seam.Completed(tuple(args), 0, "", "")

    def describe(self, rt: Any, args: list[str], env: dict[str, str] | None = None) -> str:
        return " ".join([*(f"{k}={v}" for k, v in (env or {}).items()), "python", *args])


# ---------------------------------------------------------------- a fake Docker engine
class FakeContainer:
    def __init__(self, spec: dict[str, Any], engine: FakeEngine) -> None:
        self.spec, self.engine = spec, engine
        self.id, self.name = f"id-{spec['name']}", spec["name"]
        self.calls: list[str] = []
        self.sock: socket.socket | None = None

    def start(self) -> None:
        self.calls.append("start")

    def wait(self, timeout: float) -> dict[str, int]:
        self.calls.append(f"wait {timeout:g}")
        if self.engine.hang and "kill" not in self.calls:
            raise requests.exceptions.ReadTimeout("read timed out")
        return {"StatusCode": self.engine.exit_code}

    def logs(self, stdout: bool, stderr: bool) -> bytes:
        self.calls.append("logs")
        if self.engine.logs_fail:
            raise RuntimeError("engine went away")
        return self.engine.stdout if stdout else b"err\n"

    def kill(self) -> None:
        self.calls.append("kill")

    def remove(self, force: bool) -> None:
        self.calls.append(f"remove force={force}")

    def attach_socket(self, params: dict[str, int]) -> Any:
        self.calls.append(f"attach {sorted(params.items())}")
        assert self.sock is None and "start" not in self.calls, "attach before start"
        self.sock, self.engine.far_end = socket.socketpair()
        return self.sock


class FakeImage:
    def __init__(self, tag: str, size: int) -> None:
        self.id, self.attrs = f"sha256:{tag}", {"Size": size}


class FakeEngine:
    """Stands in for docker.DockerClient: records every call that matters. ``registry`` holds
    the images a pull can get; a pull of any other fails as an unreachable registry does."""

    def __init__(self, images: tuple[str, ...] = (), runtimes: tuple[str, ...] = ("runc",)) -> None:
        self.images_present = set(images)
        self.runtimes = runtimes
        self.created: list[FakeContainer] = []
        self.builds: list[dict[str, Any]] = []
        self.imports: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self.pulls: list[str] = []
        self.registry: set[str] = set()
        self.build_chunks: list[dict[str, str]] = [{"stream": "Successfully built\n"}]
        self.exit_code, self.hang, self.logs_fail = 0, False, False
        self.stdout = b"out\n"  # what every container prints
        self.far_end: socket.socket | None = None
        self.containers, self.images, self.api = self, self, self

    # client.containers / client.images / client.api
    def create(self, **spec: Any) -> FakeContainer:
        if spec["image"] not in self.images_present:
            raise ImageNotFound(spec["image"])
        self.created.append(FakeContainer(spec, self))
        return self.created[-1]

    def get(self, tag: str) -> FakeImage:
        if tag not in self.images_present:
            raise ImageNotFound(tag)
        return FakeImage(tag, 1_070_000_000)

    def pull(self, repository: str, tag: str) -> FakeImage:
        self.pulls.append(f"{repository}:{tag}")
        if f"{repository}:{tag}" not in self.registry:
            raise docker_seam.errors().APIError(
                'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host'
            )
        self.images_present.add(f"{repository}:{tag}")
        return self.get(f"{repository}:{tag}")

    def build(self, **kwargs: Any) -> Iterator[dict[str, str]]:
        self.builds.append(kwargs)
        if not any("error" in c for c in self.build_chunks):
            self.images_present.add(kwargs["tag"])
        return iter(self.build_chunks)

    def import_image_from_file(self, *args: Any, **kwargs: Any) -> None:
        self.imports.append((args, kwargs))
        self.images_present.add(f"{kwargs['repository']}:{kwargs['tag']}")

    def ping(self) -> bool:
        return True

    def info(self) -> dict[str, Any]:
        return {"Runtimes": {name: {} for name in self.runtimes}}
