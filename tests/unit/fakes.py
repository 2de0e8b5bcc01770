"""Test doubles shared by the unit tests."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

import numpy

from harness.runtimes import seam
from harness.runtimes.backend import Capabilities


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
