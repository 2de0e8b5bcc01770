"""The Docker backend through a fake Docker seam: exact container and build arguments,
cleanup on every way out, the attach stream. No engine. (Base images: test_base_images.py.)"""

from __future__ import annotations

import io
import os
import tarfile
import threading
from pathlib import Path
from typing import Any

import pytest

from harness.config.matrix import PYPI, Matrix, Model, Runtime
from harness.errors import BackendError, RuntimeUnavailable
from harness.phases.build import build
from harness.phases.context import RunContext
from harness.runtimes import docker as dk
from harness.runtimes import docker_process, docker_seam, inside_code
from harness.runtimes.backend import EXTRAS_ENV, get_backend
from harness.runtimes.seam import signal_name
from harness.store.layout import Workspace
from harness.store.state import RuntimeState, read_state
from tests.unit.fakes import FakeEngine

RT = Runtime(id="cpu-2.6.2", version="2.6.2", python="3.11", pins=("numpy<2",))
OLD = Runtime(id="cpu-2.5", version="2.5.2", python="3.9", index_url="https://paddle.example/cpu/")
PADDLE_INDEX = OLD
GPU = Runtime(id="gpu-2.6.2", version="2.6.2", package="paddlepaddle-gpu", device="gpu")
WORKER = ["-m", "harness.inside", "worker"]


@pytest.fixture
def backend(engine: FakeEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dk.DockerBackend:
    monkeypatch.setattr(dk.os, "getuid", lambda: 0)
    monkeypatch.setattr(dk.os, "getgid", lambda: 0)
    monkeypatch.delenv(docker_process.KEEP_ENV, raising=False)
    for rt in (RT, GPU):
        engine.images_present.add(dk.image_tag(rt))
    return dk.DockerBackend(tmp_path, environ={})


# ---------------------------------------------------------------- containers
def test_consumer_runs_without_network_as_nobody_with_exports_read_only(
    backend: dk.DockerBackend, tmp_path: Path
) -> None:
    spec = backend.container_spec(RT, WORKER, None, interactive=True)
    exports = str(tmp_path / "exports")
    assert spec.pop("name").startswith("paddle-harness-cpu-2.6.2-worker-")
    assert spec == {
        "image": dk.image_tag(RT),
        "command": ["python", "-m", "harness.inside", "worker"],
        "user": "65534:65534",
        "network_mode": "none",
        "volumes": {exports: {"bind": exports, "mode": "ro"}},
        "environment": {"HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"},
        "working_dir": "/tmp",
        "init": True,
        "labels": {"paddle-harness.runtime": "cpu-2.6.2", "paddle-harness.work": str(tmp_path)},
        "stdin_open": True,
        "detach": False,
    }


def test_producer_writes_only_its_own_exports_as_the_invoking_user(
    backend: dk.DockerBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dk.os, "getuid", lambda: 1000)
    monkeypatch.setattr(dk.os, "getgid", lambda: 100)
    args = ["-m", "harness.inside", "export", "/w/spec.json"]
    spec = backend.container_spec(RT, args, {"FLAGS_enable_pir_api": "0"}, interactive=False)
    own, every = str(tmp_path / "exports" / "cpu-2.6.2"), str(tmp_path / "exports")
    # Its own exports writable; the others readable (weights for "train high, export low").
    assert spec["volumes"] == {every: {"bind": every, "mode": "ro"}, own: {"bind": own, "mode": "rw"}}
    assert Path(own).is_dir()
    assert spec["user"] == "1000:100" and spec["network_mode"] == "none"
    assert spec["environment"]["FLAGS_enable_pir_api"] == "0"
    assert (spec["stdin_open"], spec["detach"]) == (False, True)
    # A non-root invoker stays itself for consumers too: it can read what it wrote.
    assert backend.container_spec(RT, WORKER, None, interactive=True)["user"] == "1000:100"


def test_roles_are_data_and_unknown_commands_get_the_consumer_confinement() -> None:
    assert {cmd: (r.exports, r.network) for cmd, r in dk.ROLES.items()} == {
        "probe": ("", "none"),
        "train": ("own-rw", "none"),
        "export": ("own-rw", "none"),
        "worker": ("all-ro", "none"),
        "inspect": ("all-ro", "none"),
        "deploy-probe": ("", "none"),
        "deploy-worker": ("all-ro", "none"),
    }
    assert [cmd for cmd, r in dk.ROLES.items() if r.artifacts] == ["deploy-worker"]
    assert dk.role_for(["-c", "print(1)"]) is dk.CONSUMER
    assert dk.role_for(["-m", "harness.inside", "probe"]).exports == ""


def test_run_starts_waits_collects_and_removes(backend: dk.DockerBackend, engine: FakeEngine) -> None:
    engine.exit_code = 139
    res = backend.run(RT, ["-m", "harness.inside", "probe"], timeout=30)
    [box] = engine.created
    assert box.spec["volumes"] == {} and box.spec["user"] == "65534:65534"
    assert box.calls == ["start", "wait 30", "logs", "logs", "remove force=True"]
    assert (res.returncode, res.stdout, res.stderr, res.timed_out) == (139, "out\n", "err\n", False)
    assert res.signal_name == "SIGSEGV", "128+11 from docker-init reads as the signal"
    assert res.argv[:3] == ("docker", "run", "--rm") and res.argv[-4:] == ("python", "-m", "harness.inside", "probe")


def test_run_past_its_timeout_kills_the_container(backend: dk.DockerBackend, engine: FakeEngine) -> None:
    engine.hang = True
    res = backend.run(RT, ["-m", "harness.inside", "train", "/w/s.json"], timeout=5)
    assert res.timed_out and res.returncode is None
    assert engine.created[0].calls == ["start", "wait 5", "kill", "wait 60", "logs", "logs", "remove force=True"]


def test_container_is_removed_on_any_exception(backend: dk.DockerBackend, engine: FakeEngine) -> None:
    engine.logs_fail = True
    with pytest.raises(RuntimeError, match="engine went away"):
        backend.run(RT, ["-m", "harness.inside", "probe"], timeout=5)
    assert engine.created[0].calls[-1] == "remove force=True"


def test_keep_variable_keeps_containers_for_debugging(
    backend: dk.DockerBackend, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(docker_process.KEEP_ENV, "1")
    backend.run(RT, ["-m", "harness.inside", "probe"], timeout=5)
    assert not any(c.startswith("remove") for c in engine.created[0].calls)


def test_missing_image_says_to_build_it(backend: dk.DockerBackend, engine: FakeEngine) -> None:
    engine.images_present.clear()
    with pytest.raises(BackendError, match="python -m harness build cpu-2.6.2 --backend docker"):
        backend.run(RT, ["-m", "harness.inside", "probe"], timeout=5)


def test_describe_is_the_same_container_as_a_docker_run_line(backend: dk.DockerBackend, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    assert backend.describe(RT, WORKER) == (
        "docker run --rm -i --init --network none --user 65534:65534 --workdir /tmp "
        f"-v {exports}:{exports}:ro -e HOME=/tmp -e PYTHONDONTWRITEBYTECODE=1 "
        f"{dk.image_tag(RT)} python -m harness.inside worker"
    )
    export = backend.describe(RT, ["-m", "harness.inside", "export", "/s.json"], env={"FLAGS_enable_pir_api": "0"})
    own = exports / "cpu-2.6.2"
    assert f"--user 0:0 --workdir /tmp -v {exports}:{exports}:ro -v {own}:{own}:rw -e HOME=/tmp" in export
    assert export.endswith(f"-e FLAGS_enable_pir_api=0 {dk.image_tag(RT)} python -m harness.inside export /s.json")


# ---------------------------------------------------------------- the long-lived worker
def frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def test_worker_container_speaks_through_the_demultiplexed_attach_stream(
    backend: dk.DockerBackend, engine: FakeEngine, tmp_path: Path
) -> None:
    stderr = (tmp_path / "worker.log").open("wb")
    proc = backend.start(RT, WORKER, stderr=stderr)
    [box] = engine.created
    far = engine.far_end
    assert far is not None and box.calls == [
        "attach [('stderr', 1), ('stdin', 1), ('stdout', 1), ('stream', 1)]",
        "start",
    ]
    far.sendall(frame(2, b"W0101 paddle says hi\n") + frame(1, b'{"event": "rea'))
    far.sendall(frame(1, b'dy"}\n'))
    assert proc.stdout.readline() == b'{"event": "ready"}\n'
    proc.stdin.write(b'{"id": "cell"}\n')
    proc.stdin.flush()
    assert far.recv(100) == b'{"id": "cell"}\n'
    assert proc.poll() is None
    proc.stdin.close()
    assert far.recv(100) == b"", "closing stdin half-closes the socket: the worker sees EOF"
    far.close()
    assert proc.stdout.readline() == b""
    engine.exit_code = 139
    assert proc.wait(timeout=10) == 139 and signal_name(139) == "SIGSEGV"
    stderr.close()
    assert (tmp_path / "worker.log").read_bytes() == b"W0101 paddle says hi\n"
    assert box.calls[-2:] == ["wait 10", "remove force=True"]


def test_demultiplex_survives_frames_split_across_reads() -> None:
    data = frame(1, b"a" * 70000) + frame(2, b"warn\n") + frame(1, b"b\n")
    offset = 0

    def recv(size: int) -> bytes:  # a socket that hands out at most 3001 bytes at a time
        nonlocal offset
        piece = data[offset : offset + min(size, 3001)]
        offset += len(piece)
        return piece

    read_fd, write_fd = os.pipe()
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(os.fdopen(read_fd, "rb").read()))
    reader.start()  # a pipe holds 64 KiB: read while the frames are written
    err = io.BytesIO()
    docker_process.demultiplex(recv, write_fd, err)
    reader.join(5)
    assert out == [b"a" * 70000 + b"b\n"] and err.getvalue() == b"warn\n"


# ---------------------------------------------------------------- images
def test_prepare_reuses_an_image_with_the_same_content_tag(backend: dk.DockerBackend, engine: FakeEngine) -> None:
    backend.prepare(RT)
    assert engine.builds == []


def test_an_image_build_reports_its_size_and_time_in_the_log_and_the_runtime_record(
    backend: dk.DockerBackend, engine: FakeEngine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine.images_present.clear()
    engine.stdout = b'{"paddle_version": "2.6.2"}\n'  # the probe's fingerprint
    ctx = RunContext(Matrix(runtimes=(RT,), models=(Model("m"),), export_modes=(), loaders=()), backend, Workspace(tmp_path))
    record = build(ctx, RT)
    line = f"[build cpu-2.6.2] image {dk.image_tag(RT)}: 1070 MB, built in 0 s"
    assert line in capsys.readouterr().out
    assert backend.build_log(RT).read_text().endswith(line + "\n")
    assert record.state is RuntimeState.READY and record.image_size == 1_070_000_000
    assert record.image_build_s is not None and read_state(ctx.ws, RT.id).image_size == 1_070_000_000
    again = build(ctx, RT)  # the image is there now: nothing is built, the recorded build time stays
    assert len(engine.builds) == 1 and (again.image_size, again.image_build_s) == (1_070_000_000, record.image_build_s)


def test_prepare_builds_with_exact_arguments_and_a_minimal_context(
    backend: dk.DockerBackend, engine: FakeEngine, tmp_path: Path
) -> None:
    ca = tmp_path / "corp-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\ncorp\n")
    backend.environ = {
        "PIP_INDEX_URL": "https://user:s3cr3t-t0ken@mirror.example/simple",
        "PIP_EXTRA_INDEX_URL": "file:///opt/pypi/simple https://extra.example/simple",
        "PIP_CERT": str(ca),
        "HTTPS_PROXY": "http://proxy:3128",
    }
    engine.images_present.clear()
    backend.prepare(RT)
    [call] = engine.builds
    context = call.pop("fileobj")
    assert call == {
        "custom_context": True,
        "dockerfile": "Dockerfile",
        "tag": dk.image_tag(RT),
        "buildargs": {
            "BASE_IMAGE": "python:3.11-slim",
            "PYTHON": "3.11",
            "PIP_INDEX_URL": "https://user:s3cr3t-t0ken@mirror.example/simple",
            "PIP_EXTRA_INDEX_URL": "https://extra.example/simple",
            "HTTPS_PROXY": "http://proxy:3128",
        },
        "labels": {"paddle-harness.runtime": "cpu-2.6.2"},
        "pull": False,
        "rm": True,
        "forcerm": True,
        "decode": True,
    }
    with tarfile.open(fileobj=context) as tar:
        names = tar.getnames()
        files = {n: tar.extractfile(n).read() for n in names if tar.getmember(n).isfile()}  # type: ignore[union-attr]
        modes = {tar.getmember(n).mode for n in names}
    assert {"Dockerfile", "requirements.txt", "ca-bundle.crt", "harness-code/harness/inside/worker.py"} <= set(names)
    assert all(n in ("Dockerfile", "requirements.txt", "ca-bundle.crt") or n.startswith("harness-code") for n in names)
    assert files["requirements.txt"] == b"paddlepaddle==2.6.2\nsetuptools\nnumpy<2\n"
    assert files["ca-bundle.crt"] == ca.read_bytes()
    assert modes <= {0o644, 0o755}, "readable by the unprivileged consumer whatever the host umask"
    assert b"s3cr3t-t0ken" not in b"".join(files.values()), "credentials travel as builder-stage build args only"


def test_the_dockerfiles_keep_index_settings_and_the_ca_in_the_builder_stage() -> None:
    for name in ("cpu", "gpu"):
        text = (dk.dockerfiles_dir() / f"{name}.Dockerfile").read_text()
        final = text[text.rindex("\nFROM ") :]
        assert "COPY --from=builder /opt/venv /opt/venv" in final
        assert not any(word in final for word in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "ca-bundle", "ARG "))


def test_matrix_index_comes_first_and_the_host_mirror_replaces_pypi() -> None:
    env = {"PIP_INDEX_URL": "https://mirror.example/simple", "PIP_TRUSTED_HOST": "mirror.example"}
    assert dk.pip_build_args(OLD, env) == {
        "PIP_INDEX_URL": "https://paddle.example/cpu/",
        "PIP_EXTRA_INDEX_URL": "https://mirror.example/simple",
        "PIP_TRUSTED_HOST": "mirror.example",
    }
    assert dk.pip_build_args(RT, {"PIP_INDEX_URL": "file:///opt/pypi/simple"}) == {"PIP_INDEX_URL": PYPI}
    assert dk.pip_build_args(OLD, {}) == {"PIP_INDEX_URL": "https://paddle.example/cpu/", "PIP_EXTRA_INDEX_URL": PYPI}


def test_image_tag_is_a_hash_of_what_goes_into_the_image(monkeypatch: pytest.MonkeyPatch) -> None:
    tag = dk.image_tag(RT)
    assert tag.startswith("paddle-harness:cpu-2.6.2-") and tag == dk.image_tag(RT)
    variants = [
        Runtime(id=RT.id, version="2.6.2", python="3.11"),
        Runtime(id=RT.id, version="2.6.2", python="3.12", pins=RT.pins),
        Runtime(id=RT.id, version="2.6.2", python="3.11", pins=RT.pins, base_image="corp/python:3.11"),
        Runtime(id=RT.id, version="2.6.2", python="3.11", pins=RT.pins, index_url="https://mirror.example/"),
    ]
    assert len({tag, *(dk.image_tag(v) for v in variants)}) == 5
    monkeypatch.setattr(inside_code, "code_hash", lambda: "changed")
    assert dk.image_tag(RT) != tag, "new in-runtime code, new image"


def test_unreachable_index_is_unavailable_and_nothing_is_built(
    backend: dk.DockerBackend, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dk, "index_problem", lambda url: f"{url} is unreachable from here (Name or service not known)")
    with pytest.raises(RuntimeUnavailable, match="paddlepaddle==2.5.2 is published on https://paddle.example/cpu/"):
        backend.prepare(OLD)
    assert engine.builds == []


def test_failed_build_names_the_missing_base_image_and_the_offline_remedy(
    backend: dk.DockerBackend, engine: FakeEngine
) -> None:
    engine.images_present.clear()
    engine.build_chunks = [{"stream": "Step 1/19 : ARG BASE_IMAGE\n"}, {"error": "pull access denied for python"}]
    with pytest.raises(RuntimeUnavailable) as info:
        backend.prepare(RT)
    text = str(info.value)
    assert "could not build the image for cpu-2.6.2" in text and "pull access denied for python" in text
    assert "nox -s base-images" in text and "base_image" in text


# ---------------------------------------------------------------- GPU and backend choice
def test_gpu_runtimes_are_skipped_when_the_engine_has_no_nvidia_runtime(
    backend: dk.DockerBackend, engine: FakeEngine, tmp_path: Path
) -> None:
    matrix = Matrix(runtimes=(GPU,), models=(Model("m"),), export_modes=(), loaders=())
    state = build(RunContext(matrix, backend, Workspace(tmp_path)), GPU)
    assert state.state is RuntimeState.SKIPPED
    assert state.reason.startswith("no GPU: the Docker engine has no nvidia runtime")
    assert "runtime" not in backend.container_spec(GPU, WORKER, None, interactive=True)


def test_gpu_containers_use_the_nvidia_runtime_when_the_engine_has_it(
    backend: dk.DockerBackend, engine: FakeEngine
) -> None:
    engine.runtimes = ("runc", "nvidia")
    assert backend.gpu_problem() == ""
    spec = backend.container_spec(GPU, WORKER, None, interactive=True)
    assert spec["runtime"] == "nvidia" and dk.base_image(GPU).startswith("nvidia/cuda:")
    assert dk.dockerfile(GPU).name == "gpu.Dockerfile"


def test_auto_chooses_docker_when_an_engine_answers(
    engine: FakeEngine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert get_backend("auto", tmp_path).name == "docker"
    assert "backend auto: docker (a Docker engine answered)" in capsys.readouterr().out


def test_auto_falls_back_to_venv_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_engine(timeout: float = 0) -> Any:
        raise docker_seam.EngineUnavailable("Error while fetching server API version: No such file or directory")

    monkeypatch.setattr(docker_seam, "client", no_engine)
    monkeypatch.setattr("harness.runtimes.venv.find_uv", lambda: "/bin/uv")
    assert get_backend("auto", tmp_path).name == "venv"
    out = capsys.readouterr().out
    assert out.startswith("backend auto: venv (no Docker engine answers at") and "No such file" in out
    with pytest.raises(BackendError, match="no Docker engine answers"):
        get_backend("docker", tmp_path)


# ---------------------------------------------------------------- user models (check)
def test_consumers_also_read_models_staged_by_check(backend: dk.DockerBackend, tmp_path: Path) -> None:
    (tmp_path / "checks").mkdir()
    checks = str(tmp_path / "checks")
    for args in (WORKER, ["-m", "harness.inside", "inspect", "p", "q"]):
        volumes = backend.container_spec(RT, args, None, interactive=False)["volumes"]
        assert volumes[checks] == {"bind": checks, "mode": "ro"}
    producer = backend.container_spec(RT, ["-m", "harness.inside", "export", "s"], None, interactive=False)
    assert checks not in producer["volumes"], "producers write exports only and never see user models"


# ---------------------------------------------------------------- a model's requires (ppdet)
@pytest.fixture
def networked(backend: dk.DockerBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dk.DockerBackend:
    monkeypatch.setattr(dk.os, "getuid", lambda: 1000)
    monkeypatch.setattr(dk.os, "getgid", lambda: 100)
    ca = tmp_path / "corp-ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    environ = {
        "PIP_INDEX_URL": "https://mirror.example/simple",
        "HTTPS_PROXY": "http://proxy:3128",
        "PIP_CERT": str(ca),
    }
    return dk.DockerBackend(tmp_path / "work", environ=environ)


def test_extras_are_installed_with_pip_in_a_networked_container_writing_only_the_target(
    networked: dk.DockerBackend, tmp_path: Path
) -> None:
    req, site = tmp_path / "x" / "requirements.txt", tmp_path / "x" / "site"
    spec = networked.extras_spec(PADDLE_INDEX, req, site)
    assert spec["command"] == [
        "python", "-m", "pip", "install", "--no-input", "--no-deps", "--target", str(site), "-r", str(req),
    ]  # fmt: skip
    assert spec["image"] == dk.image_tag(PADDLE_INDEX) and spec["name"].startswith("paddle-harness-cpu-2.5-extras-")
    assert spec["network_mode"] == "bridge" and spec["user"] == "1000:100" and site.is_dir()
    assert spec["volumes"] == {
        str(site): {"bind": str(site), "mode": "rw"},
        str(req): {"bind": str(req), "mode": "ro"},
        str(tmp_path / "corp-ca.crt"): {"bind": dk.CA_IN_CONTAINER, "mode": "ro"},
    }
    env = spec["environment"]
    # The requires come from PyPI's mirror, not from the runtime's Paddle index.
    assert env["PIP_INDEX_URL"] == "https://mirror.example/simple" and "PIP_EXTRA_INDEX_URL" not in env
    assert env["HTTPS_PROXY"] == "http://proxy:3128"
    assert env["PIP_CERT"] == env["SSL_CERT_FILE"] == dk.CA_IN_CONTAINER


def test_producers_read_their_extras_and_consumers_never_see_them(networked: dk.DockerBackend, tmp_path: Path) -> None:
    extras = str(tmp_path / "work" / "extras" / "cpu-2.6.2" / "h" / "site")
    env = {"FLAGS_enable_pir_api": "0", EXTRAS_ENV: extras}
    export = networked.container_spec(RT, ["-m", "harness.inside", "export", "/s.json"], env, interactive=False)
    own, every = str(tmp_path / "work" / "exports" / "cpu-2.6.2"), str(tmp_path / "work" / "exports")
    assert export["volumes"] == {
        every: {"bind": every, "mode": "ro"},
        own: {"bind": own, "mode": "rw"},
        extras: {"bind": extras, "mode": "ro"},
    }
    assert export["environment"][EXTRAS_ENV] == extras and export["network_mode"] == "none"
    worker = networked.container_spec(RT, ["-m", "harness.inside", "worker"], env, interactive=True)
    assert extras not in worker["volumes"]
