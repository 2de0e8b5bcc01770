"""Docker tier, a first run: the one runtime's base image is not on the engine and no
registry has it, and `python -m harness matrix` must build it from Debian (as
`nox -s base-images` does) before the build phase, then give real verdicts.

The base is `paddle-harness-base:bookworm-t<random>`, a tag only this test uses: it is
bootstrapped fresh (debootstrap: a few minutes), and removed afterwards with the runtime image
built on it. Shared images (python:3.X-slim) are never touched. One runtime, one model, one
export mode, one loader: tests/data/matrix-base-image.yaml.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from harness.config.matrix import load_matrix
from harness.errors import BackendError
from harness.runtimes import base_images, docker_seam
from harness.runtimes.docker import image_tag

pytestmark = pytest.mark.docker
ROOT = Path(__file__).parents[2]
MATRIX = ROOT / "tests" / "data" / "matrix-base-image.yaml"
PLACEHOLDER = "paddle-harness-base:bookworm-docker-tier"


@pytest.fixture
def fresh_base(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The tier's matrix with a base tag no engine has yet; removes what was built on it."""
    try:
        base_images.check_host()
    except BackendError as exc:
        pytest.skip(f"building a base image needs root and debootstrap: {exc}")
    tag = f"paddle-harness-base:bookworm-t{uuid.uuid4().hex[:8]}"
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(MATRIX.read_text().replace(PLACEHOLDER, tag))
    client = docker_seam.client()
    assert not client.images.list(name=tag)
    try:
        yield matrix, tag
    finally:
        for image in (image_tag(load_matrix(matrix).runtimes[0]), tag):  # the runtime's image first
            try:
                client.images.remove(image, force=True)
            except docker_seam.errors().ImageNotFound:
                pass


def test_a_first_run_builds_the_missing_base_image_and_gives_real_verdicts(
    fresh_base: tuple[Path, str], tmp_path: Path
) -> None:
    matrix, tag = fresh_base
    reports = tmp_path / "reports"
    argv = [sys.executable, "-m", "harness", "matrix", "--matrix", str(matrix), "--work", str(tmp_path / "work")]
    started = time.monotonic()
    proc = subprocess.run(
        [*argv, "--reports", str(reports), "--history", "none", "--backend", "auto"],
        cwd=ROOT, capture_output=True, text=True, timeout=3000,
    )
    print(f"\n[docker tier] first run with a fresh base image: {time.monotonic() - started:.0f} s")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert f"[base-images] {tag}: building it from Debian bookworm" in out
    assert f"[base-images] {tag}: built from Debian bookworm in " in out
    assert "backend: docker;" in out, "the base could be built: the run stays on Docker"
    results = json.loads((reports / "results.json").read_text())
    [runtime] = results["runtimes"]
    assert runtime["state"] == "ready", runtime["reason"]
    assert runtime["fingerprint"]["paddle_version"] == "2.6.2"
    assert runtime["fingerprint"]["python"].startswith("3.11.")
    [cell] = results["cells"]
    assert cell["status"] == "pass", cell
    assert cell["details"]["reproduce"].split(" | ", 1)[1].startswith("docker run --rm -i --init")
    state = json.loads((tmp_path / "work" / "runtimes" / "cpu-2.6.2-ownbase" / "state.json").read_text())
    assert state["image_size"] > 100_000_000 and state["image_build_s"] > 0
    log = (tmp_path / "work" / "logs" / "build-cpu-2.6.2-ownbase.log").read_text()
    assert log.rstrip().splitlines()[-1].startswith(f"[build cpu-2.6.2-ownbase] image {image_tag(load_matrix(matrix).runtimes[0])}: ")
