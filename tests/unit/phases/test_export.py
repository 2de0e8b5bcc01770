"""The export phase on the host: train once per (runtime, model), export in every mode, pass a
model's requires on to its producers or say why they are missing. No processes: the backend
records what would run."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.matrix import Matrix
from harness.phases.context import RunContext
from harness.phases.export import export_runtime, train_model
from harness.runtimes.backend import EXTRAS_ENV
from harness.runtimes.seam import Completed
from harness.store.files import read_json
from harness.store.layout import Workspace
from tests.unit.fakes import RecordingBackend
from tests.unit.phases.helpers import REQUIRES_MATRIX, ready_workspace

UV_UNSOLVABLE = (
    "Using CPython 3.9.18 interpreter at: /usr/bin/python3.9\n"
    "error: No solution found when resolving dependencies\n"
    "  cause: Because the current Python version (3.9.18) does not satisfy Python>=3.10 and requests==2.34.2 "
    "depends on Python>=3.10, we can conclude that requests==2.34.2 cannot be used.\n"
)
MATRIX = REQUIRES_MATRIX


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return ready_workspace(tmp_path)


def test_requires_are_installed_once_and_passed_only_to_that_models_producers(matrix: Matrix, ws: Workspace) -> None:
    backend = RecordingBackend()
    export_runtime(RunContext(matrix, backend, ws), matrix.runtimes[0])  # type: ignore[arg-type]
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
    assert set(record["content"]) == {"model.pdmodel", "reference.npz"}, "the record says which bytes it describes"


def test_an_unchanged_rerun_trains_and_exports_nothing(matrix: Matrix, ws: Workspace) -> None:
    backend = RecordingBackend()
    ctx = RunContext(matrix, backend, ws)  # type: ignore[arg-type]
    export_runtime(ctx, matrix.runtimes[0])
    ran = len(backend.runs)
    export_runtime(ctx, matrix.runtimes[0])
    assert len(backend.runs) == ran and len(backend.installs) == 1


def test_a_failed_install_fails_every_export_of_the_model_with_the_installers_words(
    matrix: Matrix, ws: Workspace
) -> None:
    backend = RecordingBackend(install=Completed(("/bin/uv", "pip", "install"), 2, "", UV_UNSOLVABLE))
    export_runtime(RunContext(matrix, backend, ws), matrix.runtimes[0])  # type: ignore[arg-type]
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


def test_a_ppdet_training_error_written_by_the_process_is_the_reason(matrix: Matrix, ws: Workspace) -> None:
    backend = RecordingBackend()
    backend.train_error = "paddledet cannot be used here: ModuleNotFoundError: No module"
    ctx = RunContext(matrix, backend, ws)  # type: ignore[arg-type]
    trained = train_model(ctx, matrix.runtimes[0], matrix.models[1])
    assert not trained["ok"] and trained["error"] == "paddledet cannot be used here: ModuleNotFoundError: No module"
    export_runtime(ctx, matrix.runtimes[0])
    record = read_json(ws.export_dir("cpu-2.6.2", "ppdet_ppyoloe", "fullgraph_on-pir") / "export.json")
    assert record["status"] == "export_failed"
    assert (
        record["error"]
        == "the model could not be trained: paddledet cannot be used here: ModuleNotFoundError: No module"
    )


def test_a_training_that_dies_by_a_signal_says_so(matrix: Matrix, ws: Workspace) -> None:
    backend = RecordingBackend()
    backend.train_exit = -11
    trained = train_model(RunContext(matrix, backend, ws), matrix.runtimes[0], matrix.models[0])  # type: ignore[arg-type]
    assert not trained["ok"] and trained["error"] == "training crashed: SIGSEGV"


def test_a_corrupt_training_record_is_named_and_the_model_retrained(
    matrix: Matrix, ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    backend = RecordingBackend()
    ctx = RunContext(matrix, backend, ws)  # type: ignore[arg-type]
    train_model(ctx, matrix.runtimes[0], matrix.models[0])
    record = ws.model_dir("cpu-2.6.2", "ppyoloe_tiny") / "train.result.json"
    record.write_bytes(b'{"key": "\xff')
    again = train_model(ctx, matrix.runtimes[0], matrix.models[0])
    assert again["ok"] and len(backend.runs) == 2
    assert f"warning: {record} is unreadable" in capsys.readouterr().err
    assert read_json(record)["ok"] is True


def test_a_corrupt_export_record_is_redone(matrix: Matrix, ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    backend = RecordingBackend()
    ctx = RunContext(matrix, backend, ws)  # type: ignore[arg-type]
    export_runtime(ctx, matrix.runtimes[0])
    out = ws.export_dir("cpu-2.6.2", "ppyoloe_tiny", "fullgraph_on-pir")
    (out / "export.json").write_text("{garbage")
    before = len(backend.runs)
    export_runtime(ctx, matrix.runtimes[0])
    assert backend.runs[before:] == [("export ppyoloe_tiny tiny", {"FLAGS_enable_pir_api": "1"})], "only that one"
    assert read_json(out / "export.json")["status"] == "ok"
    assert f"{out / 'export.json'} is unreadable" in capsys.readouterr().err


def test_a_runtime_that_is_not_ready_exports_nothing(matrix: Matrix, tmp_path: Path) -> None:
    backend = RecordingBackend()
    export_runtime(RunContext(matrix, backend, Workspace(tmp_path)), matrix.runtimes[0])  # type: ignore[arg-type]
    assert backend.runs == [] and backend.installs == []
