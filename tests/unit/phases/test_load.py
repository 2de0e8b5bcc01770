"""The real load phase against a paddle-free fake worker process: results are appended as
they are judged, a crash costs exactly one cell, and a verdict is re-used only while
everything it depends on (the export's bytes, the consumer, the timeouts) is unchanged."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from harness.config.matrix import Loader, Matrix, parse_matrix
from harness.document.cell import CellKey, Status
from harness.phases.context import RunContext
from harness.phases.load import VerdictCache, load_cells, load_runtime, task_for
from harness.store.files import write_json_atomic
from harness.store.layout import Workspace
from harness.store.results import read_results
from tests.unit.fakes import FakeBackend

MATRIX = """
runtimes: [{id: old, version: "2.6.2"}, {id: new, version: "3.3.1"}]
models: [{id: ppyoloe_tiny}]
export_modes:
  - {id: good, full_graph: true, program_format: legacy}
  - {id: crashy, full_graph: true, program_format: legacy}
  - {id: broken, full_graph: false, program_format: legacy}
loaders: [{id: predictor, api: predictor}, {id: jit_load, api: jit_load}]
"""
GOOD = CellKey("old", "ppyoloe_tiny", "good", "new", "predictor")


def make_exports(ws: Workspace, matrix: Matrix) -> None:
    bbox = np.array([[1, 0.9, 2, 2, 30, 30]], np.float32)
    for rt in matrix.runtimes:
        write_json_atomic(ws.state_file(rt.id), {"id": rt.id, "state": "ready", "fingerprint": {}})
        for mode in ("good", "crashy"):
            out = ws.export_dir(rt.id, "ppyoloe_tiny", mode)
            out.mkdir(parents=True)
            np.savez(out / "reference.npz", output_0=bbox, output_1=np.array([1], np.int32))
            (out / "model.pdiparams").write_bytes(b"trained weights " * 64)
            write_json_atomic(out / "export.json", {"status": "ok", "program_file": "model.pdmodel"})
        write_json_atomic(
            ws.export_dir(rt.id, "ppyoloe_tiny", "broken") / "export.json",
            {"status": "export_failed", "error": "RuntimeError: Can't call main_program"},
        )


def context(ws: Workspace, matrix: Matrix, backend: FakeBackend) -> RunContext:
    return RunContext(matrix, backend, ws)  # type: ignore[arg-type]


@pytest.fixture
def ws(tmp_path: Path, matrix: Matrix) -> Workspace:
    ws = Workspace(tmp_path / "work")
    make_exports(ws, matrix)
    return ws


def lines_of(ws: Workspace, consumer: str = "new") -> list[dict[str, object]]:
    return [json.loads(x) for x in ws.results_file(consumer).read_text().splitlines()]


def test_load_phase_appends_every_cell_and_survives_crashes(
    allow_processes: None, data_dir: Path, matrix: Matrix, ws: Workspace
) -> None:
    load_runtime(context(ws, matrix, FakeBackend(data_dir / "fake_worker.py")), matrix.runtime("new"))

    lines = [json.loads(x) for x in ws.results_file("new").read_text().splitlines()]
    assert len(lines) == 2 * 3 * 2, "one line per planned cell of this consumer"
    by = {(r["producer"], r["export"], r["loader"]): r for r in lines}
    assert len(read_results(ws.results_dir).cells) == len(lines)
    assert all(by[(p, "good", ld)]["status"] == "pass" for p in ("old", "new") for ld in ("predictor", "jit_load"))
    crashed = [r for r in lines if r["export"] == "crashy"]
    assert {r["status"] for r in crashed} == {"crash"} and all(r["details"]["signal"] == "SIGSEGV" for r in crashed)
    assert all(by[(p, "broken", "jit_load")]["status"] == "export_failed" for p in ("old", "new"))
    assert "reproduce" in by[("old", "good", "predictor")]["details"]


def test_an_unchanged_rerun_reuses_every_verdict(
    allow_processes: None, data_dir: Path, matrix: Matrix, ws: Workspace, tmp_path: Path
) -> None:
    load_runtime(context(ws, matrix, FakeBackend(data_dir / "fake_worker.py")), matrix.runtime("new"))
    first = sorted(ws.results_file("new").read_text().splitlines())
    broken = context(ws, matrix, FakeBackend(tmp_path / "no-such-worker.py"))  # would fail every cell if started
    load_runtime(broken, matrix.runtime("new"))
    assert sorted(ws.results_file("new").read_text().splitlines()) == first
    # A changed export (new content key) is recomputed, and only that one.
    record = ws.export_dir("old", "ppyoloe_tiny", "good") / "export.json"
    write_json_atomic(record, {"status": "ok", "program_file": "model.pdmodel", "key": "retrained"})
    load_runtime(broken, matrix.runtime("new"))
    redone = [r for r in lines_of(ws) if r["status"] == "infra_error"]
    assert {(r["producer"], r["export"]) for r in redone} == {("old", "good")} and len(redone) == 2


def test_changed_export_bytes_are_recomputed_even_under_the_same_record(
    allow_processes: None, data_dir: Path, matrix: Matrix, ws: Workspace, tmp_path: Path
) -> None:
    load_runtime(context(ws, matrix, FakeBackend(data_dir / "fake_worker.py")), matrix.runtime("new"))
    params = ws.export_dir("new", "ppyoloe_tiny", "good") / "model.pdiparams"
    params.write_bytes(params.read_bytes()[:100])  # truncated behind the harness's back
    load_runtime(context(ws, matrix, FakeBackend(tmp_path / "no-such-worker.py")), matrix.runtime("new"))
    redone = [r for r in lines_of(ws) if r["status"] == "infra_error"]
    assert {(r["producer"], r["export"]) for r in redone} == {("new", "good")} and len(redone) == 2


def test_a_cell_that_passes_on_a_retry_is_flaky_with_every_attempt(
    allow_processes: None, data_dir: Path, tmp_path: Path
) -> None:
    matrix = parse_matrix(
        MATRIX.replace(
            "  - {id: broken,", "  - {id: flaky, full_graph: true, program_format: legacy}\n  - {id: broken,"
        )
        + "retries: 1\n"
    )
    ws = Workspace(tmp_path)
    make_exports(ws, matrix)
    for rt in ("old", "new"):
        src, dst = ws.export_dir(rt, "ppyoloe_tiny", "good"), ws.export_dir(rt, "ppyoloe_tiny", "flaky")
        dst.mkdir(parents=True)
        for f in src.iterdir():
            (dst / f.name).write_bytes(f.read_bytes())
    load_runtime(context(ws, matrix, FakeBackend(data_dir / "fake_worker.py")), matrix.runtime("new"))
    lines = lines_of(ws)
    flaky = [r for r in lines if r["export"] == "flaky"]
    assert flaky and all(r["status"] == "flaky" for r in flaky)
    assert all([a["status"] for a in r["details"]["attempts"]] == ["crash", "pass"] for r in flaky)
    crashed = [r for r in lines if r["export"] == "crashy"]
    assert all(r["status"] == "crash" and len(r["details"]["attempts"]) == 2 for r in crashed), "retried, still failing"
    assert all("attempts" not in r["details"] for r in lines if r["export"] == "good"), "a pass is not retried"


# ---------------------------------------------------------------- the verdict cache
def test_a_corrupt_cached_verdict_is_moved_aside_recomputed_and_named(
    allow_processes: None,
    data_dir: Path,
    matrix: Matrix,
    ws: Workspace,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ctx = context(ws, matrix, FakeBackend(data_dir / "fake_worker.py"))
    consumer = matrix.runtime("new")
    load_runtime(ctx, consumer)
    cached = VerdictCache(ctx, consumer).path(GOOD)
    others = {p: p.read_bytes() for p in cached.parent.glob("*.json") if p != cached}
    assert cached.exists() and others, "every computed verdict was cached"
    cached.write_bytes(b'{"producer": "old", "status": "pa\xff')
    capsys.readouterr()

    again = FakeBackend(data_dir / "fake_worker.py")
    load_runtime(context(ws, matrix, again), consumer)

    out, err = capsys.readouterr()
    [moved] = cached.parent.glob(f"{cached.name}.corrupt-*")
    assert moved.read_bytes() == b'{"producer": "old", "status": "pa\xff', "kept for a person to look at"
    assert f"warning: cached verdict {cached} is unreadable" in err and moved.name in err
    assert again.starts == 1 and "computed 1, reused 7" in out, "only the bad entry is recomputed"
    by = {(r["producer"], r["export"], r["loader"]): r for r in lines_of(ws)}
    assert len(by) == 12 and by[("old", "good", "predictor")]["status"] == "pass"
    assert json.loads(cached.read_text())["status"] == "pass", "the recomputed verdict is cached again"
    assert all(p.read_bytes() == data for p, data in others.items()), "no other cached verdict was touched"


def test_a_cached_entry_that_is_json_but_no_result_is_moved_aside_too(
    matrix: Matrix, ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = VerdictCache(context(ws, matrix, FakeBackend(tmp_path / "unused.py")), matrix.runtime("new"))
    path = cache.path(GOOD)
    write_json_atomic(path, {"producer": "old", "status": "green"})
    assert cache.get(GOOD) is None
    [moved] = path.parent.glob(f"{path.name}.corrupt-*")
    err = capsys.readouterr().err
    assert f"cached verdict {path} is unreadable: not a cell result (ValueError" in err and moved.name in err


def test_the_cache_key_follows_the_export_bytes_and_comes_back_when_they_do(
    matrix: Matrix, ws: Workspace, tmp_path: Path
) -> None:
    ctx = context(ws, matrix, FakeBackend(tmp_path / "unused.py"))
    consumer = matrix.runtime("new")
    original = VerdictCache(ctx, consumer).key(GOOD)
    params = ws.export_dir("old", "ppyoloe_tiny", "good") / "model.pdiparams"
    weights = params.read_bytes()
    params.write_bytes(weights[: len(weights) // 2])
    truncated = VerdictCache(ctx, consumer).key(GOOD)
    params.write_bytes(weights)
    assert truncated != original and VerdictCache(ctx, consumer).key(GOOD) == original


def test_the_cache_key_follows_the_cell_timeout_and_the_consumer_environment(
    matrix: Matrix, ws: Workspace, tmp_path: Path
) -> None:
    backend = FakeBackend(tmp_path / "unused.py")
    consumer = matrix.runtime("new")
    original = VerdictCache(context(ws, matrix, backend), consumer).key(GOOD)
    longer = dataclasses.replace(
        matrix, timeouts=dataclasses.replace(matrix.timeouts, cell_s=matrix.timeouts.cell_s + 1)
    )
    assert VerdictCache(context(ws, longer, backend), consumer).key(GOOD) != original
    assert VerdictCache(context(ws, matrix, backend), consumer).key(GOOD) == original
    backend.environment = "a file changed in site-packages"
    assert VerdictCache(context(ws, matrix, backend), consumer).key(GOOD) != original


def test_infra_errors_are_never_cached(allow_processes: None, matrix: Matrix, ws: Workspace, tmp_path: Path) -> None:
    ctx = context(ws, matrix, FakeBackend(tmp_path / "no-such-worker.py"))
    consumer = matrix.runtime("new")
    [result] = load_cells(ctx, consumer, [GOOD], ws.results_file("new"))
    assert result.status is Status.INFRA_ERROR and "did not start" in result.error
    assert not VerdictCache(ctx, consumer).path(GOOD).exists(), "a harness failure is not a verdict to keep"


def test_load_cells_without_reuse_ignores_the_cache(
    allow_processes: None, data_dir: Path, matrix: Matrix, ws: Workspace
) -> None:
    backend = FakeBackend(data_dir / "fake_worker.py")
    ctx, consumer = context(ws, matrix, backend), matrix.runtime("new")
    results = ws.results_file("new")
    first = load_cells(ctx, consumer, [GOOD], results)
    again = load_cells(ctx, consumer, [GOOD], results, reuse=False)
    assert [r.status for r in first + again] == [Status.PASS, Status.PASS] and backend.starts == 2


def test_a_task_names_the_export_files_by_its_record(ws: Workspace) -> None:
    out = ws.export_dir("old", "ppyoloe_tiny", "good")
    task = task_for(out, Loader("predictor", "predictor"), "t")
    assert task["program"] == str(out / "model.pdmodel") and task["params"] == str(out / "model.pdiparams")
    assert task_for(out.parent / "none", Loader("p", "predictor"), "t")["program"].endswith("model.json")


def test_a_gpu_loader_is_skipped_without_a_gpu_and_not_applicable_on_a_cpu_build(
    allow_processes: None, data_dir: Path, matrix: Matrix, ws: Workspace, tmp_path: Path
) -> None:
    gpu = Loader("trt-int8", "predictor", device="gpu", tensorrt="int8")
    with_gpu = dataclasses.replace(matrix, loaders=(*matrix.loaders, gpu))
    keys = [CellKey(p, "ppyoloe_tiny", "good", "new", "trt-int8") for p in ("old", "new")]
    never = FakeBackend(tmp_path / "no-such-worker.py")  # a GPU cell must not start anything here
    done = load_cells(context(ws, with_gpu, never), with_gpu.runtime("new"), keys, tmp_path / "r.jsonl")
    assert {r.status for r in done} == {Status.SKIPPED} and never.starts == 0
    assert all(r.error == "loader trt-int8: no GPU: fake backend" for r in done)

    class HasGpu(FakeBackend):
        def gpu_problem(self) -> str:
            return ""

    found = load_cells(context(ws, with_gpu, HasGpu(tmp_path / "x.py")), with_gpu.runtime("new"), keys, tmp_path / "s")
    assert {r.status for r in found} == {Status.NOT_APPLICABLE}
    assert "new is a CPU build of Paddle" in found[0].error


def test_a_task_carries_the_evaluation_set_where_the_export_has_one(ws: Workspace) -> None:
    out = ws.export_dir("old", "ppyoloe_tiny", "good")
    loader = Loader("predictor", "predictor")
    assert "eval" not in task_for(out, loader, "t")
    np.savez(out / "eval.npz", **{"image@0": np.zeros((1, 3, 8, 8), np.float32)})
    assert task_for(out, loader, "t")["eval"] == str(out / "eval.npz")
