"""Docker tier: real images, real containers, the same verdicts as the venv backend.

Runs `python -m harness matrix --backend docker` on tests/data/matrix-docker.yaml exactly as
a user would (a subprocess, no patching): images for Paddle 2.6.2 and 3.3.1 on Python 3.11
(Debian bookworm base) and 3.3.1 on Python 3.13 (trixie). Then runs the same matrix with
`--backend venv` and checks that every cell has the same status. Dedicated checks look
inside a live consumer container (no network, not root, exports read-only) and inside a
final image (no CA bundle, no index credentials).

HARNESS_DOCKER_TEST_WORK=<dir> keeps both work directories between runs (images are
reused anyway: their tags are content hashes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from harness.config.matrix import Runtime, load_matrix
from harness.config.plan import planned_cells
from harness.runtimes import docker_seam
from harness.runtimes.docker import LABEL, WORK_LABEL, DockerBackend, image_tag
from harness.runtimes.worker_client import WORKER_ARGS
from tests.docker.live import exec_in_worker

pytestmark = pytest.mark.docker
ROOT = Path(__file__).parents[2]
MATRIX = ROOT / "tests" / "data" / "matrix-docker.yaml"
BUILT = ("cpu-2.6.2", "cpu-3.3.1", "cpu-3.3.1-py313")
CELL_KEYS = ("producer", "model", "export", "consumer", "loader")


def harness(*args: str, work: Path, reports: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    argv = [sys.executable, "-m", "harness", *args, "--matrix", str(MATRIX), "--work", str(work)]
    started = time.monotonic()
    proc = subprocess.run([*argv, "--reports", str(reports)], cwd=ROOT, capture_output=True, text=True, timeout=3000)
    return proc, time.monotonic() - started


def work_dir(factory: pytest.TempPathFactory, name: str) -> Path:
    keep = os.environ.get("HARNESS_DOCKER_TEST_WORK")
    return Path(keep) / name if keep else factory.mktemp(name)


def run_matrix(factory: pytest.TempPathFactory, backend: str) -> dict[str, Any]:
    work, reports = work_dir(factory, f"work-{backend}"), factory.mktemp(f"reports-{backend}")
    proc, seconds = harness("matrix", "--backend", backend, "--jobs", "2", work=work, reports=reports)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print(f"\n[docker tier] matrix --backend {backend}: {seconds:.0f} s")
    results = json.loads((reports / "results.json").read_text())
    return {"results": results, "work": work, "stdout": proc.stdout, "seconds": seconds}


@pytest.fixture(scope="module")
def docker_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    run = run_matrix(tmp_path_factory, "docker")
    run["tags"] = {rt.id: image_tag(rt) for rt in load_matrix(MATRIX).runtimes}
    return run


@pytest.fixture(scope="module")
def venv_run(tmp_path_factory: pytest.TempPathFactory, docker_run: dict[str, Any]) -> dict[str, Any]:
    return run_matrix(tmp_path_factory, "venv")


def statuses(run: dict[str, Any]) -> dict[str, str]:
    return {"__".join(c[k] for k in CELL_KEYS): c["status"] for c in run["results"]["cells"]}


def runtimes(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in run["results"]["runtimes"]}


# ---------------------------------------------------------------- the docker run itself
def test_every_cell_is_present_once_and_the_harness_never_failed(docker_run: dict[str, Any]) -> None:
    planned = {k.slug for k in planned_cells(load_matrix(MATRIX))}
    assert set(statuses(docker_run)) == planned and len(docker_run["results"]["cells"]) == len(planned)
    broken = [c for c in docker_run["results"]["cells"] if c["status"] == "infra_error"]
    assert not broken, broken[:3]
    assert docker_run["results"]["backend"] == "docker"


def test_runtimes_are_real_images_on_the_python_they_declare(docker_run: dict[str, Any]) -> None:
    by_id = runtimes(docker_run)
    for rid, version, python in (("cpu-2.6.2", "2.6.2", "3.11"), ("cpu-3.3.1", "3.3.1", "3.11")):
        assert by_id[rid]["state"] == "ready", by_id[rid]["reason"]
        assert by_id[rid]["fingerprint"]["paddle_version"] == version
        assert by_id[rid]["fingerprint"]["python"].startswith(python + ".")
    assert by_id["cpu-3.3.1-py313"]["fingerprint"]["python"].startswith("3.13.")
    assert by_id["cpu-2.5"]["state"] == "unavailable" and "paddlepaddle.org.cn" in by_id["cpu-2.5"]["reason"]
    assert by_id["gpu-2.6.2"]["state"] == "skipped" and by_id["gpu-2.6.2"]["reason"].startswith("no GPU")


def test_cross_loads_really_ran_in_containers(docker_run: dict[str, Any]) -> None:
    cells = docker_run["results"]["cells"]
    passed = [c for c in cells if c["status"] == "pass" and c["producer"] != c["consumer"]]
    assert passed, "at least one export must load and match in another runtime"
    assert all(c["details"]["reproduce"].split(" | ", 1)[1].startswith("docker run --rm -i --init") for c in passed)
    assert any(c["producer"] == "cpu-2.6.2" and c["consumer"] == "cpu-3.3.1-py313" for c in passed)


def test_no_container_is_left_behind(docker_run: dict[str, Any]) -> None:
    # Only this run's containers: other harness runs may share the engine.
    mine = f"{WORK_LABEL}={Path(docker_run['work']).resolve()}"
    left = docker_seam.client().containers.list(all=True, filters={"label": [LABEL, mine]})
    assert not left, [c.name for c in left]


def test_an_unchanged_runtime_is_not_rebuilt(docker_run: dict[str, Any], tmp_path: Path) -> None:
    if image_tag(load_matrix(MATRIX).runtime("cpu-3.3.1")) != docker_run["tags"]["cpu-3.3.1"]:
        pytest.skip("harness/inside changed while the tier ran (a new image is then right)")
    proc, _ = harness("build", "cpu-3.3.1", "--backend", "docker", work=docker_run["work"], reports=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # Behaviour, not the clock: no image build ran, the probe did.
    assert "building image" not in proc.stdout and "[build cpu-3.3.1] ready" in proc.stdout


# ---------------------------------------------------------------- same verdicts as venv
def test_verdicts_agree_cell_by_cell_with_the_venv_backend(
    docker_run: dict[str, Any], venv_run: dict[str, Any]
) -> None:
    docker, venv = statuses(docker_run), statuses(venv_run)
    assert set(docker) == set(venv)
    differ = {cell: (docker[cell], venv[cell]) for cell in docker if docker[cell] != venv[cell]}
    assert not differ, "docker vs venv:\n" + "\n".join(f"{c}: {d} vs {v}" for c, (d, v) in sorted(differ.items()))
    for rid in BUILT:  # the same Paddle in both, so the comparison compares like with like
        assert (
            runtimes(docker_run)[rid]["fingerprint"]["paddle_commit"]
            == runtimes(venv_run)[rid]["fingerprint"]["paddle_commit"]
        )


# ---------------------------------------------------------------- confinement
def test_consumer_container_has_no_network_is_not_root_and_cannot_write_exports(
    docker_run: dict[str, Any], tmp_path: Path
) -> None:
    rt = load_matrix(MATRIX).runtime("cpu-3.3.1")
    backend = DockerBackend(docker_run["work"])
    backend.prepare(rt)  # a no-op unless harness/inside changed since the matrix ran
    exports = docker_run["work"] / "exports"
    check = (
        "import os, socket\n"
        "print(os.getuid())\n"
        "print(','.join(sorted(os.listdir('/sys/class/net'))))\n"
        f"try:\n    open({str(exports / 'cpu-2.6.2' / 'intruder')!r}, 'w')\n    print('wrote')\n"
        "except OSError as exc:\n    print('read-only' if exc.errno == 30 else exc)\n"
        "try:\n    socket.create_connection(('pypi.org', 443), timeout=5)\n    print('online')\n"
        "except OSError:\n    print('offline')\n"
    )
    lines, host_config = exec_in_worker(backend, rt, WORKER_ARGS, check, tmp_path / "worker.log")
    uid, interfaces, write, network = lines
    assert uid != "0" and interfaces == "lo"
    assert (write, network) == ("read-only", "offline")
    assert host_config["NetworkMode"] == "none" and host_config["Init"] is True
    assert host_config["Binds"] == [f"{exports}:{exports}:ro"]


def test_final_image_holds_neither_the_ca_bundle_nor_index_credentials(tmp_path: Path) -> None:
    """A throwaway runtime (a small package instead of Paddle) built with a fake credential
    in an extra index URL and the host CA bundle: both reach the builder stage (pip says
    so in the build log) and neither is in the final image's files, history or config."""
    secret = f"not-a-secret-{uuid.uuid4().hex[:8]}"  # new each time: the builder stage cannot come from cache
    ca = Path(os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt")
    environ = {**os.environ, "PIP_EXTRA_INDEX_URL": f"https://harness-probe:{secret}@pypi.org/simple"}
    environ["PIP_CERT"] = str(ca)
    rt = Runtime(id=f"ca-check-{secret[-8:]}", version="1.16.0", package="six", python="3.11")
    backend = DockerBackend(tmp_path, environ=environ)
    client = docker_seam.client()
    try:
        backend.prepare(rt)
        log = backend.build_log(rt).read_text()
        assert "harness-probe:****@pypi.org" in log, "the index settings reached the builder stage"
        image = client.images.get(image_tag(rt))
        history = json.dumps(image.history())
        config = json.dumps(image.attrs["Config"])
        files = client.containers.run(
            image.id, ["sh", "-c", "ls /tmp/harness 2>&1; env"], remove=True, network_mode="none"
        ).decode()
    finally:
        client.images.remove(image_tag(rt), force=True)
    assert secret not in history + config + files
    assert "PIP_CERT" not in history + config + files and "ca-bundle" not in history + files
    assert "No such file" in files, "the builder's /tmp/harness (CA bundle, requirements) is not in the image"


# ---------------------------------------------------------------- a patched image is not the image it was
def test_a_consumer_image_rebuilt_with_a_patched_file_is_recomputed_and_never_passes(
    docker_run: dict[str, Any], tmp_path: Path
) -> None:
    """The consumer's image is rebuilt under the same tag with paddle/inference/__init__.py
    edited to shift every predictor output by 0.5. A re-run without --fresh must see the new
    image (its id is part of every cached verdict's key), recompute the cells and never say
    pass; the original image is put back afterwards."""
    import io
    import shutil
    import tarfile

    from tests.runtime.test_verdict_truth import WRAPPERS, computed

    client = docker_seam.client()
    tag = docker_run["tags"]["cpu-3.3.1"]
    original = client.images.get(tag)
    edit = "\nMODE = 'shift'\n" + WRAPPERS + (
        "\n_real_create = create_predictor\n\n\ndef create_predictor(config):\n"
        "    return _Predictor(_real_create(config))\n"
    )
    dockerfile = (
        f"FROM {tag}\nCOPY edit.py /tmp/edit.py\n"
        "RUN cat /tmp/edit.py >> /opt/venv/lib/python3.11/site-packages/paddle/inference/__init__.py\n"
    )
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, text in (("Dockerfile", dockerfile), ("edit.py", edit)):
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    context.seek(0)
    work = tmp_path / "work"
    subprocess.run(["cp", "-al", str(docker_run["work"]), str(work)], check=True)
    for appended in ("results", "logs"):  # appended to in place: the copy gets its own
        shutil.rmtree(work / appended, ignore_errors=True)
    patched, _ = client.images.build(fileobj=context, custom_context=True, tag=tag, pull=False, rm=True)
    try:
        assert patched.id != original.id
        argv = [sys.executable, "-m", "harness", "matrix", "--backend", "docker", "--matrix", str(MATRIX)]
        argv += ["--runtimes", "cpu-2.6.2,cpu-3.3.1", "--work", str(work), "--reports", str(tmp_path / "reports")]
        proc = subprocess.run([*argv, "--history", "none"], cwd=ROOT, capture_output=True, text=True, timeout=3000)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert computed(proc.stdout, "cpu-3.3.1") > 0, proc.stdout
        before = {"__".join(c[k] for k in CELL_KEYS): c for c in docker_run["results"]["cells"]}
        after = json.loads((tmp_path / "reports" / "results.json").read_text())["cells"]
        hit = [
            c for c in after
            if c["consumer"] == "cpu-3.3.1" and c["loader"].startswith("predictor")
            and before["__".join(c[k] for k in CELL_KEYS)]["status"] == "pass"
        ]
        assert hit, "the normal run must have passing predictor cells in cpu-3.3.1"
        assert all(c["status"] != "pass" for c in hit), [(c["export"], c["status"]) for c in hit]
        assert any(c["status"] == "mismatch" for c in hit)
    finally:
        repository, name = tag.rsplit(":", 1)
        original.tag(repository, name)
        client.images.remove(patched.id, force=True)
