"""Base images: `nox -s base-images` and the matrix command's first step share one function
(``base_images.provide``): kept, pulled, or bootstrapped from Debian and imported. Through
the fake Docker seam and a fake process seam: no engine, no debootstrap."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.config.matrix import Runtime
from harness.runtimes import base_images, seam
from harness.runtimes.backend import backend_for_run
from harness.runtimes.seam import Completed
from tests.unit.fakes import FakeEngine

PY311 = Runtime(id="cpu-2.6.2", version="2.6.2", python="3.11")
PY39 = Runtime(id="cpu-2.5", version="2.5.2", python="3.9")
GPU = Runtime(id="gpu-2.6.2", version="2.6.2", package="paddlepaddle-gpu", device="gpu")
NO_REGISTRY = "lookup registry-1.docker.io: no such host"
_which = shutil.which


@pytest.fixture
def debootstrap(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """A root host with debootstrap: the argv of every process the builder starts."""
    calls: list[list[str]] = []

    def fake_run(argv: list[str], **kwargs: Any) -> Completed:
        calls.append(argv)
        if argv[0] == "debootstrap":
            Path(argv[-2]).mkdir(parents=True)
        return Completed(tuple(argv), 0, "", "")

    monkeypatch.setattr(seam, "run", fake_run)
    monkeypatch.setattr(base_images.os, "geteuid", lambda: 0)
    monkeypatch.setattr(base_images.shutil, "which", lambda n: "/usr/sbin/debootstrap" if n == "debootstrap" else _which(n))
    return calls


@pytest.fixture
def not_root(debootstrap: list[list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base_images.os, "geteuid", lambda: 1000)


def test_the_command_bootstraps_debian_and_imports_under_the_python_tag(
    engine: FakeEngine, debootstrap: list[list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    engine.images_present.add("python:3.11-slim")
    mirror = "http://deb.example/debian"
    assert base_images.main(["--suites", "bookworm,trixie", "--mirror", mirror, "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "python:3.11-slim: already on this engine, kept (--force rebuilds it)" in out
    assert "python:3.13-slim: built from Debian trixie in " in out
    assert debootstrap[0][:3] == ["debootstrap", "--variant=minbase", "--include=" + ",".join(base_images.PACKAGES)]
    assert debootstrap[0][3] == "trixie" and debootstrap[0][-1] == mirror
    assert debootstrap[1][:3] == ["tar", "--numeric-owner", "-C"]
    [(args, kwargs)] = engine.imports
    assert args[0].endswith(".tar") and kwargs["repository"] == "python" and kwargs["tag"] == "3.13-slim"
    assert f'LABEL paddle-harness.base-image="debootstrap --variant=minbase trixie {mirror}"' in kwargs["changes"]
    assert engine.pulls == [], "the command builds from Debian; it never pulls"
    assert base_images.SUITES == {"bullseye": "3.9", "bookworm": "3.11", "trixie": "3.13"}


def test_the_command_fails_naming_each_image_it_could_not_build(
    engine: FakeEngine, not_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert base_images.main(["--suites", "bullseye"]) == 5
    err = capsys.readouterr().err
    assert "error: python:3.9-slim: it cannot be built from Debian here: debootstrap needs root" in err
    assert engine.imports == []


def test_which_images_the_harness_can_build() -> None:
    assert base_images.suite_for("python:3.9-slim") == "bullseye"
    assert base_images.suite_for("python:3.13-slim") == "trixie"
    assert base_images.suite_for("paddle-harness-base:bookworm") == "bookworm"
    assert base_images.suite_for("paddle-harness-base:bookworm-test-1f2e") == "bookworm"
    for other in ("python:3.12-slim", "python:3.11", "corp/python:3.11-slim", "paddle-harness-base:jessie"):
        assert base_images.suite_for(other) is None, other


# ---------------------------------------------------------------- before the matrix's build phase
def test_a_missing_base_image_is_built_before_the_build_phase(
    engine: FakeEngine, debootstrap: list[list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine.images_present.add("python:3.11-slim")
    backend = backend_for_run("docker", tmp_path, [PY311, PY39])
    assert backend.name == "docker"
    assert engine.pulls == ["python:3.9-slim"], "a registry is tried first"
    assert [d[3] for d in debootstrap if d[0] == "debootstrap"] == ["bullseye"], "only the missing one is built"
    assert "python:3.9-slim" in engine.images_present
    out = capsys.readouterr().out
    assert "[base-images] python:3.9-slim: building it from Debian bullseye (debootstrap," in out
    assert "[base-images] python:3.9-slim: built from Debian bullseye in " in out


def test_a_base_image_a_registry_has_is_pulled_and_nothing_is_bootstrapped(
    engine: FakeEngine, debootstrap: list[list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine.registry.add("python:3.11-slim")
    assert backend_for_run("auto", tmp_path, [PY311]).name == "docker"
    assert debootstrap == [] and "[base-images] python:3.11-slim: pulled" in capsys.readouterr().out


def test_auto_runs_everything_on_venv_when_a_base_image_cannot_be_had_and_says_why(
    engine: FakeEngine, not_root: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("harness.runtimes.venv.find_uv", lambda: "/bin/uv")
    engine.images_present.add("python:3.11-slim")
    assert backend_for_run("auto", tmp_path, [PY311, PY39]).name == "venv"
    out = capsys.readouterr().out
    assert "backend auto: docker (a Docker engine answered)" in out
    why = out[out.index("backend auto: venv after all:") :]
    assert "python:3.9-slim (for cpu-2.5): pulling it failed (" in why and NO_REGISTRY in why
    assert "it cannot be built from Debian here: debootstrap needs root" in why
    assert engine.imports == []


def test_an_explicit_docker_backend_stays_and_names_the_runtimes_that_will_be_unavailable(
    engine: FakeEngine, not_root: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert backend_for_run("docker", tmp_path, [PY311, PY39]).name == "docker"
    err = capsys.readouterr().err
    assert err.startswith("warning: these runtimes will be unavailable: the base images they build on")
    assert "python:3.11-slim (for cpu-2.6.2): pulling it failed" in err and "python:3.9-slim (for cpu-2.5)" in err


def test_an_image_the_harness_has_no_recipe_for_is_named_with_the_pull_error(
    engine: FakeEngine, debootstrap: list[list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corp = Runtime(id="cpu-corp", version="2.6.2", python="3.11", base_image="corp/python:3.11")
    assert backend_for_run("docker", tmp_path, [corp]).name == "docker"
    err = capsys.readouterr().err
    assert "corp/python:3.11 (for cpu-corp): pulling it failed (" in err
    assert "the harness has no recipe to build it here" in err and debootstrap == []


def test_gpu_runtimes_that_will_be_skipped_need_no_base_image(
    engine: FakeEngine, not_root: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert backend_for_run("auto", tmp_path, [GPU]).name == "docker"
    assert engine.pulls == [] and "venv" not in capsys.readouterr().out
    backend_for_run("docker", tmp_path, [GPU], build_gpu=True)
    assert engine.pulls == ["nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04"], "--build-gpu builds them: they need it"


def test_the_harness_own_base_tags_are_never_pulled(
    engine: FakeEngine, debootstrap: list[list[str]], tmp_path: Path
) -> None:
    own = Runtime(id="cpu-own", version="2.6.2", python="3.11", base_image="paddle-harness-base:bookworm-t1")
    backend_for_run("docker", tmp_path, [own])
    assert engine.pulls == [] and [d[3] for d in debootstrap if d[0] == "debootstrap"] == ["bookworm"]
    [(_, kwargs)] = engine.imports
    assert (kwargs["repository"], kwargs["tag"]) == ("paddle-harness-base", "bookworm-t1")
