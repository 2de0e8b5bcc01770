"""The venv backend through the patched process seam: exact argv, clear unavailability."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from harness.config.matrix import Runtime
from harness.errors import RuntimeUnavailable
from harness.runtimes import seam, venv
from harness.runtimes.seam import Completed

RT = Runtime(id="cpu-2.6.2", version="2.6.2", python="3.11", pins=("numpy<2",))
OLD = Runtime(id="cpu-2.5", version="2.5.2", python="3.9", index_url="https://paddle.example/cpu/")


class Recorder:
    def __init__(self, fail_on: str = "") -> None:
        self.calls: list[list[str]] = []
        self.fail_on = fail_on

    def __call__(self, argv: list[str], **kwargs: Any) -> Completed:
        self.calls.append(list(argv))
        if argv[-1].startswith("import sys"):  # interpreter version query
            return Completed(tuple(argv), 0, argv[0].rsplit("python", 1)[1] + "\n", "")
        if self.fail_on and self.fail_on in argv:
            return Completed(tuple(argv), 1, "", "error: No solution found\n  paddlepaddle==2.6.2 not found")
        return Completed(tuple(argv), 0, "", "")


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> venv.VenvBackend:
    monkeypatch.setattr(venv, "find_uv", lambda: "/bin/uv")
    monkeypatch.setattr(venv.shutil, "which", lambda name: f"/usr/bin/{name}")
    return venv.VenvBackend(tmp_path)


def test_prepare_creates_the_venv_with_uv_and_the_exact_requirements(
    backend: venv.VenvBackend, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rec = Recorder()
    monkeypatch.setattr(seam, "run", rec)
    backend.prepare(RT)
    py = str(tmp_path / "runtimes" / "cpu-2.6.2" / "venv" / "bin" / "python")
    assert rec.calls[1:] == [
        ["/bin/uv", "venv", "--quiet", "--python", "/usr/bin/python3.11", str(tmp_path / "runtimes/cpu-2.6.2/venv")],
        ["/bin/uv", "pip", "install", "--python", py, "paddlepaddle==2.6.2", "setuptools", "numpy<2"],
    ]


def test_prepare_is_skipped_when_the_spec_is_unchanged(
    backend: venv.VenvBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = Recorder()
    monkeypatch.setattr(seam, "run", rec)
    backend.prepare(RT)
    Path(backend.python(RT)).parent.mkdir(parents=True, exist_ok=True)
    Path(backend.python(RT)).touch()
    before = len(rec.calls)
    backend.prepare(RT)
    assert len(rec.calls) == before


def test_unreachable_index_is_unavailable_naming_the_index(
    backend: venv.VenvBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seam, "run", Recorder())
    monkeypatch.setattr(
        venv, "index_problem", lambda url: f"{url} is unreachable from here (Name or service not known)"
    )
    with pytest.raises(RuntimeUnavailable) as info:
        backend.prepare(OLD)
    assert "paddlepaddle==2.5.2 is published on https://paddle.example/cpu/" in str(info.value)
    assert "Name or service not known" in str(info.value)


def test_failed_install_is_unavailable_with_uv_output_and_the_command(
    backend: venv.VenvBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seam, "run", Recorder(fail_on="paddlepaddle==2.6.2"))
    with pytest.raises(RuntimeUnavailable) as info:
        backend.prepare(RT)
    assert "paddlepaddle==2.6.2 not found" in str(info.value) and "reproduce with: /bin/uv pip install" in str(
        info.value
    )


def test_missing_python_is_unavailable(backend: venv.VenvBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seam, "run", lambda argv, **kw: Completed(tuple(argv), 127, "", "not found"))
    with pytest.raises(RuntimeUnavailable, match="Python 3.11 is not installed"):
        backend.prepare(RT)


def test_other_indexes_come_first_and_pypi_stays_for_dependencies(backend: venv.VenvBackend) -> None:
    assert backend._install_args(OLD) == ["--index-url", "https://paddle.example/cpu/", "--extra-index-url", venv.PYPI]
    assert backend._install_args(RT) == []


def test_runtime_env_has_only_the_staged_code_on_pythonpath(
    backend: venv.VenvBackend, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/host/site-packages")
    monkeypatch.setenv("VIRTUAL_ENV", "/host/venv")
    env = backend.env({"FLAGS_enable_pir_api": "0"})
    code = Path(env["PYTHONPATH"])
    assert code.parent == tmp_path / "code" and (code / "harness" / "inside" / "worker.py").exists()
    assert "VIRTUAL_ENV" not in env and env["FLAGS_enable_pir_api"] == "0"


def test_extras_are_installed_with_uv_no_deps_target_for_the_runtime_python(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(venv, "find_uv", lambda: "/bin/uv")
    backend = venv.VenvBackend(tmp_path)
    calls: list[tuple[list[str], dict[str, Any]]] = []

    def record(argv: list[str], **kwargs: Any) -> Completed:
        calls.append((list(argv), kwargs))
        return Completed(tuple(argv), 0, "", "")

    monkeypatch.setattr(seam, "run", record)
    res = backend.install_extras(RT, tmp_path / "req.txt", tmp_path / "site", timeout=99)
    [(argv, kwargs)] = calls
    py = str(tmp_path / "runtimes" / "cpu-2.6.2" / "venv" / "bin" / "python")
    assert argv == [
        "/bin/uv", "pip", "install", "--no-deps", "--target", str(tmp_path / "site"),
        "--python", py, "-r", str(tmp_path / "req.txt"),
    ]  # fmt: skip
    assert kwargs["timeout"] == 99 and kwargs["env"]["UV_PYTHON_DOWNLOADS"] == "never" and res.ok


# ---------------------------------------------------------------- identity: the venv as it is on disk
@pytest.fixture
def site(backend: venv.VenvBackend) -> Path:
    """A fake built venv: the spec marker and a package in site-packages, no real Python."""
    root = backend.venv_dir(RT)
    packages = root / "lib" / "python3.11" / "site-packages"
    (packages / "paddle").mkdir(parents=True)
    (root / ".harness-spec").write_text('["3.11", ["paddlepaddle==2.6.2"], "https://pypi.org/simple"]')
    (packages / "paddle" / "__init__.py").write_text("version = '2.6.2'\n")
    os.utime(packages / "paddle" / "__init__.py", ns=(1_700_000_000_000_000_000,) * 2)
    return packages


def test_identity_is_empty_until_the_venv_is_built(backend: venv.VenvBackend) -> None:
    assert backend.identity(RT) == ""
    backend.venv_dir(RT).mkdir(parents=True)
    assert backend.identity(RT) == "", "a directory without the spec marker is not a built venv"


def test_identity_is_stable_while_nothing_changes(backend: venv.VenvBackend, site: Path) -> None:
    first = backend.identity(RT)
    assert first and backend.identity(RT) == first and venv.VenvBackend(backend.work).identity(RT) == first


def test_identity_changes_when_a_file_is_dropped_into_site_packages(backend: venv.VenvBackend, site: Path) -> None:
    before = backend.identity(RT)
    (site / "sitecustomize.py").write_text("import os\n")
    after = backend.identity(RT)
    assert after != before
    (site / "sitecustomize.py").unlink()
    assert backend.identity(RT) == before


def test_identity_changes_when_a_file_is_edited(backend: venv.VenvBackend, site: Path) -> None:
    module = site / "paddle" / "__init__.py"
    before = backend.identity(RT)
    module.write_text("version = '2.6.2'  # patched by hand\n")
    os.utime(module, ns=(1_700_000_000_000_000_000,) * 2)  # even with the old time: the size differs
    assert backend.identity(RT) != before


def test_identity_changes_when_only_a_modification_time_does(backend: venv.VenvBackend, site: Path) -> None:
    module = site / "paddle" / "__init__.py"
    before = backend.identity(RT)
    module.write_text("version = '2.7.0'\n")  # same size, new content
    os.utime(module, ns=(1_700_000_000_000_000_001,) * 2)
    assert backend.identity(RT) != before
