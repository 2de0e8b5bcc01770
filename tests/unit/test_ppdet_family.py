"""The ppdet model family on the host: `family` / `requires` in matrix.yaml, installing the
requires next to a runtime (venv: uv --no-deps --target; docker: pip in a throwaway
container), and how the export phase passes them on or reports why they are missing.
No processes, no Docker engine: the seams are patched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness import docker_seam, runner, seam
from harness.backends import EXTRAS_ENV, venv
from harness.backends import docker as dk
from harness.config import Model, Runtime, load_matrix, parse_matrix
from harness.errors import ConfigError
from harness.plan import Workspace
from harness.seam import Completed
from harness.store import read_json, write_json_atomic

ROOT = Path(__file__).parents[2]
RT = Runtime(id="cpu-2.6.2", version="2.6.2", python="3.11")
PADDLE_INDEX = Runtime(id="cpu-2.5", version="2.5.2", python="3.9", index_url="https://paddle.example/cpu/")
PPDET = Model(id="ppdet_ppyoloe", family="ppdet", train_steps=3, requires=("paddledet==2.6.0", "setuptools==80.10.2"))
TINY = Model(id="ppyoloe_tiny", train_steps=3)
UV_UNSOLVABLE = (
    "Using CPython 3.9.18 interpreter at: /usr/bin/python3.9\n"
    "error: No solution found when resolving dependencies\n"
    "  cause: Because the current Python version (3.9.18) does not satisfy Python>=3.10 and requests==2.34.2 "
    "depends on Python>=3.10, we can conclude that requests==2.34.2 cannot be used.\n"
)
MATRIX = """
runtimes: [{id: cpu-2.6.2, version: "2.6.2"}]
models:
  - {id: ppyoloe_tiny}
  - {id: ppdet_ppyoloe, family: ppdet, requires: ["paddledet==2.6.0", "setuptools==80.10.2"]}
export_modes:
  - {id: fullgraph_on-legacy, full_graph: true, program_format: legacy}
  - {id: fullgraph_on-pir, full_graph: true, program_format: pir}
loaders: [{id: predictor, api: predictor}]
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_matrix(text)
    return info.value.problems


# ---------------------------------------------------------------- matrix.yaml
def test_models_are_tiny_without_requires_unless_they_say_otherwise() -> None:
    tiny, ppdet = parse_matrix(MATRIX).models
    assert (tiny.family, tiny.requires) == ("tiny", ())
    assert (ppdet.family, ppdet.requires) == ("ppdet", ("paddledet==2.6.0", "setuptools==80.10.2"))


def test_family_and_requires_mistakes_are_collected_naming_the_key() -> None:
    text = MATRIX.replace("family: ppdet", "family: paddledet").replace("{id: ppyoloe_tiny}", "{id: a, requires: x}")
    assert problems_of(text) == [
        "models[0].requires: must be a list of strings, got 'x'",
        "models[1].family: must be one of tiny, ppdet, got 'paddledet'",
    ]


def test_requires_entries_must_be_single_requirements_not_installer_options() -> None:
    text = MATRIX.replace('"setuptools==80.10.2"', '"--index-url https://evil.example/simple", "a\\nb", " "')
    assert problems_of(text) == [
        "models[ppdet_ppyoloe].requires[1]: '--index-url https://evil.example/simple' is an installer option, "
        "not a requirement like 'paddledet==2.6.0'",
        "models[ppdet_ppyoloe].requires[2]: 'a\\nb' must be one requirement on one line, like 'paddledet==2.6.0'",
        "models[ppdet_ppyoloe].requires[3]: ' ' must be one requirement on one line, like 'paddledet==2.6.0'",
    ]


def test_default_matrix_has_the_ppdet_model_with_complete_pins() -> None:
    [ppdet] = [m for m in load_matrix(ROOT / "matrix.yaml").models if m.family == "ppdet"]
    assert ppdet.id == "ppdet_ppyoloe" and ppdet.train_steps > 0
    assert "paddledet==2.6.0" in ppdet.requires and "setuptools==80.10.2" in ppdet.requires
    assert all("==" in req for req in ppdet.requires), "--no-deps: every requirement is pinned exactly"


def test_the_ppdet_test_matrix_installs_what_the_default_matrix_does() -> None:
    """The pins live in matrix.yaml; the runtime tier's copy must not drift from them."""
    default = {m.id: m for m in load_matrix(ROOT / "matrix.yaml").models}
    [tested] = load_matrix(ROOT / "tests" / "data" / "matrix-ppdet.yaml").models
    assert tested.requires == default[tested.id].requires and tested.family == "ppdet"


def test_the_small_matrix_of_the_runtime_tier_stays_tiny() -> None:
    small = load_matrix(ROOT / "tests" / "data" / "matrix-small.yaml")
    assert {(m.family, m.requires) for m in small.models} == {("tiny", ())}


# ---------------------------------------------------------------- venv backend
class Recorder:
    def __init__(self, result: Completed | None = None) -> None:
        self.calls: list[tuple[list[str], dict[str, Any]]] = []
        self.result = result

    def __call__(self, argv: list[str], **kwargs: Any) -> Completed:
        self.calls.append((list(argv), kwargs))
        return self.result or Completed(tuple(argv), 0, "", "")


def test_venv_installs_extras_with_uv_no_deps_target_for_the_runtime_python(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(venv, "find_uv", lambda: "/bin/uv")
    backend = venv.VenvBackend(tmp_path)
    rec = Recorder()
    monkeypatch.setattr(seam, "run", rec)
    res = backend.install_extras(RT, tmp_path / "req.txt", tmp_path / "site", timeout=99)
    [(argv, kwargs)] = rec.calls
    py = str(tmp_path / "runtimes" / "cpu-2.6.2" / "venv" / "bin" / "python")
    assert argv == [
        "/bin/uv", "pip", "install", "--no-deps", "--target", str(tmp_path / "site"),
        "--python", py, "-r", str(tmp_path / "req.txt"),
    ]  # fmt: skip
    assert kwargs["timeout"] == 99 and kwargs["env"]["UV_PYTHON_DOWNLOADS"] == "never" and res.ok


# ---------------------------------------------------------------- docker backend
class FakeEngine:
    def ping(self) -> bool:
        return True


@pytest.fixture
def docker_backend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dk.DockerBackend:
    monkeypatch.setattr(docker_seam, "client", lambda timeout=0: FakeEngine())
    monkeypatch.setattr(dk.os, "getuid", lambda: 1000)
    monkeypatch.setattr(dk.os, "getgid", lambda: 100)
    ca = tmp_path / "corp-ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    environ = {"PIP_INDEX_URL": "https://mirror.example/simple", "HTTPS_PROXY": "http://proxy:3128", "PIP_CERT": str(ca)}
    return dk.DockerBackend(tmp_path / "work", environ=environ)


def test_docker_installs_extras_with_pip_in_a_networked_container_writing_only_the_target(
    docker_backend: dk.DockerBackend, tmp_path: Path
) -> None:
    req, site = tmp_path / "x" / "requirements.txt", tmp_path / "x" / "site"
    spec = docker_backend.extras_spec(PADDLE_INDEX, req, site)
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


def test_docker_producers_read_their_extras_and_consumers_never_see_them(
    docker_backend: dk.DockerBackend, tmp_path: Path
) -> None:
    extras = str(tmp_path / "work" / "extras" / "cpu-2.6.2" / "h" / "site")
    env = {"FLAGS_enable_pir_api": "0", EXTRAS_ENV: extras}
    export = docker_backend.container_spec(RT, ["-m", "harness.inside", "export", "/s.json"], env, interactive=False)
    own = str(tmp_path / "work" / "exports" / "cpu-2.6.2")
    assert export["volumes"] == {own: {"bind": own, "mode": "rw"}, extras: {"bind": extras, "mode": "ro"}}
    assert export["environment"][EXTRAS_ENV] == extras and export["network_mode"] == "none"
    worker = docker_backend.container_spec(RT, ["-m", "harness.inside", "worker"], env, interactive=True)
    assert extras not in worker["volumes"]


# ---------------------------------------------------------------- the export phase
class FakeBackend:
    """Records installs and runs; 'trains' by writing weights, 'exports' by writing export.json."""

    name = "fake"

    def __init__(self, install: Completed | None = None) -> None:
        self.install = install
        self.installs: list[tuple[Path, Path]] = []
        self.runs: list[tuple[str, dict[str, str] | None]] = []

    def install_extras(self, rt: Runtime, requirements: Path, target: Path, *, timeout: float) -> Completed:
        self.installs.append((requirements, target))
        argv = ("/bin/uv", "pip", "install", "--no-deps", "--target", str(target), "-r", str(requirements))
        return self.install or Completed(argv, 0, "", "")

    def run(self, rt: Runtime, args: list[str], *, timeout: float, env: dict[str, str] | None = None) -> Completed:
        command, spec = args[2], read_json(Path(args[3]))
        self.runs.append((f"{command} {spec['model']} {spec['family']}", env))
        if command == "train":
            (Path(spec["out_dir"]) / "weights.pdparams").write_bytes(b"w")
        else:
            write_json_atomic(Path(spec["out_dir"]) / "export.json", {"status": "ok", "program_file": "model.pdmodel"})
        return Completed(tuple(args), 0, "", "")

    def describe(self, rt: Runtime, args: list[str], env: dict[str, str] | None = None) -> str:
        return " ".join([*(f"{k}={v}" for k, v in (env or {}).items()), "python", *args])


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "work")
    write_json_atomic(ws.state_file("cpu-2.6.2"), {"id": "cpu-2.6.2", "state": "ready", "fingerprint": {"p": 1}})
    return ws


def test_requires_are_installed_once_and_passed_only_to_that_models_producers(ws: Workspace) -> None:
    matrix, backend = parse_matrix(MATRIX), FakeBackend()
    runner.export_runtime(matrix, backend, ws, matrix.runtimes[0])
    [(requirements, site)] = backend.installs
    assert requirements.read_text() == "paddledet==2.6.0\nsetuptools==80.10.2\n"
    assert site.parent.parent == ws.root / "extras" / "cpu-2.6.2" and (site.parent / "installed.json").exists()
    assert backend.runs == [
        ("train ppyoloe_tiny tiny", None),
        ("export ppyoloe_tiny tiny", {"FLAGS_enable_pir_api": "0"}),
        ("export ppyoloe_tiny tiny", {"FLAGS_enable_pir_api": "1"}),
        ("train ppdet_ppyoloe ppdet", {EXTRAS_ENV: str(site)}),
        ("export ppdet_ppyoloe ppdet", {"FLAGS_enable_pir_api": "0", EXTRAS_ENV: str(site)}),
        ("export ppdet_ppyoloe ppdet", {"FLAGS_enable_pir_api": "1", EXTRAS_ENV: str(site)}),
    ]
    record = read_json(ws.export_dir("cpu-2.6.2", "ppdet_ppyoloe", "fullgraph_on-legacy") / "export.json")
    assert f"{EXTRAS_ENV}={site}" in record["command"], "the reproduce line carries the requires"


def test_an_install_is_reused_until_the_runtime_or_the_requires_change(ws: Workspace) -> None:
    matrix, backend = parse_matrix(MATRIX), FakeBackend()
    first = runner.model_extras(matrix, backend, ws, RT, PPDET)
    assert runner.model_extras(matrix, backend, ws, RT, PPDET) == first and len(backend.installs) == 1
    other = Model(id=PPDET.id, family="ppdet", requires=("paddledet==2.5.0",))
    assert runner.model_extras(matrix, backend, ws, RT, other).site != first.site
    write_json_atomic(ws.state_file("cpu-2.6.2"), {"id": "cpu-2.6.2", "state": "ready", "fingerprint": {"p": 2}})
    assert runner.model_extras(matrix, backend, ws, RT, PPDET).site != first.site and len(backend.installs) == 3
    assert runner.model_extras(matrix, backend, ws, RT, TINY) == runner.Extras() and len(backend.installs) == 3


def test_a_failed_install_fails_every_export_of_the_model_with_the_installers_words(ws: Workspace) -> None:
    matrix = parse_matrix(MATRIX)
    backend = FakeBackend(install=Completed(("/bin/uv", "pip", "install"), 2, "", UV_UNSOLVABLE))
    runner.export_runtime(matrix, backend, ws, matrix.runtimes[0])
    assert len(backend.installs) == 1, "tried once per run, not once per export"
    ran = [r[0] for r in backend.runs]
    assert ran == ["train ppyoloe_tiny tiny", "export ppyoloe_tiny tiny", "export ppyoloe_tiny tiny"], "no ppdet run"
    for mode in ("fullgraph_on-legacy", "fullgraph_on-pir"):
        record = read_json(ws.export_dir("cpu-2.6.2", "ppdet_ppyoloe", mode) / "export.json")
        assert record["status"] == "export_failed"
        assert record["error"] == (
            "the requires of ppdet_ppyoloe could not be installed in cpu-2.6.2: "
            "error: No solution found when resolving dependencies; cause: Because the current Python version "
            "(3.9.18) does not satisfy Python>=3.10 and requests==2.34.2 depends on Python>=3.10, we can conclude "
            "that requests==2.34.2 cannot be used."
        )
        assert "$ /bin/uv pip install" in record["log"] and record["command"] == "/bin/uv pip install"
    assert not (ws.model_dir("cpu-2.6.2", "ppdet_ppyoloe") / "train.result.json").exists(), "the next run retries"


def test_installer_errors_keep_pips_words_too() -> None:
    pip = "Collecting x\nERROR: Could not find a version that satisfies the requirement paddledet==9 (from versions: none)\n"
    assert runner._installer_error(pip).startswith("ERROR: Could not find a version that satisfies")
    assert runner._installer_error("\n  something odd\n") == "something odd"


def test_a_ppdet_training_error_written_by_the_process_is_the_reason(ws: Workspace) -> None:
    out = ws.model_dir("cpu-2.6.2", "ppdet_ppyoloe")
    out.mkdir(parents=True)
    write_json_atomic(out / "train.json", {"error": "paddledet cannot be used here: ModuleNotFoundError: No module"})
    failed = Completed(("python",), 1, "", "Traceback ...\n")
    assert runner._train_error(out, failed) == "paddledet cannot be used here: ModuleNotFoundError: No module"
    assert runner._train_error(out, Completed(("python",), -11, "", "")) == "training crashed: SIGSEGV"


def test_export_records_of_ppdet_keep_the_ppdet_version_as_evidence() -> None:
    details = runner._export_details({"ppdet_version": "2.6.0", "paddle_version": "3.3.1", "family": "ppdet"})
    assert details == {"export_ppdet_version": "2.6.0", "export_paddle_version": "3.3.1"}
