"""Where do exports load: per producer, model and export mode, over the producers the cells name."""

from __future__ import annotations

from typing import Any

from harness.config.versions import version_key
from harness.document.cell import CellKey, Result, Stage, Status
from harness.document.results import Cell, CompatRange, RuntimeEntry
from harness.report.compat import compat_ranges
from harness.store.state import RuntimeState

READY = RuntimeState.READY
# Listed out of version order on purpose: ranges go oldest Paddle first.
RUNTIMES = [
    RuntimeEntry("cpu-3.3.1", "3.3.1", READY),
    RuntimeEntry("cpu-2.6.2", "2.6.2", READY),
    RuntimeEntry("cpu-3.0.0", "3.0.0", READY),
    RuntimeEntry("cpu-2.5", "2.5.2", RuntimeState.UNAVAILABLE),
]


def cell(producer: str, model: str, consumer: str, status: Status, loader: str = "predictor", **kw: Any) -> Cell:
    key = CellKey(producer, model, "pir", consumer, loader)
    return Cell.from_result(Result.for_cell(key, status, **kw))


def test_version_key_orders_numerically() -> None:
    assert sorted(["3.10.0", "3.3.1", "2.6.2"], key=version_key) == ["2.6.2", "3.3.1", "3.10.0"]


def test_each_model_has_its_own_answer_and_another_loader_is_enough() -> None:
    cells = [
        cell("cpu-3.3.1", "a", "cpu-3.3.1", Status.PASS),
        cell("cpu-3.3.1", "b", "cpu-3.3.1", Status.LOAD_FAILED),
        cell("cpu-3.3.1", "b", "cpu-3.3.1", Status.PASS, loader="jit_load"),  # another loader is enough
        cell("cpu-3.3.1", "a", "cpu-2.6.2", Status.PASS),
        cell("cpu-3.3.1", "b", "cpu-2.6.2", Status.CRASH),  # b fails here: a's answer is not hidden by it
        cell("cpu-3.3.1", "a", "cpu-3.0.0", Status.PASS),
        cell("cpu-3.3.1", "b", "cpu-3.0.0", Status.PASS),
    ]
    a, b = compat_ranges(RUNTIMES, ["a", "b"], ["pir"], cells)
    untested = ["cpu-2.5"]
    assert a == CompatRange(
        "cpu-3.3.1", "pir", ["cpu-2.6.2", "cpu-3.0.0", "cpu-3.3.1"], "cpu-2.6.2", "cpu-3.3.1", untested, model="a"
    )
    assert b == CompatRange(
        "cpu-3.3.1", "pir", ["cpu-3.0.0", "cpu-3.3.1"], "cpu-3.0.0", "cpu-3.3.1", untested, model="b"
    )


def test_one_models_export_failure_leaves_the_others_loading() -> None:
    """Two of three models' exports load in 2.6.2; the third failed to export: the view must not say 'nowhere'."""
    cells = [
        cell("cpu-3.3.1", "a", "cpu-2.6.2", Status.PASS),
        cell("cpu-3.3.1", "b", "cpu-2.6.2", Status.PASS),
        cell("cpu-3.3.1", "c", "cpu-2.6.2", Status.EXPORT_FAILED, stage=Stage.EXPORT),
    ]
    ranges = {r.model: r for r in compat_ranges(RUNTIMES, ["a", "b", "c"], ["pir"], cells)}
    assert ranges["a"].loads_in == ranges["b"].loads_in == ["cpu-2.6.2"]
    assert ranges["c"].loads_in == [] and ranges["c"].export_status == "export_failed"


def test_producers_are_the_ready_runtimes_the_cells_name_then_the_others() -> None:
    cells = [
        cell("cpu-2.5", "a", "cpu-3.3.1", Status.UNAVAILABLE),  # not ready: no range
        cell("check:user", "a", "cpu-2.6.2", Status.PASS),
        cell("cpu-3.3.1", "a", "cpu-2.6.2", Status.PASS),
        cell("cpu-2.6.2", "a", "cpu-2.6.2", Status.PASS),
    ]
    ranges = compat_ranges(RUNTIMES, ["a"], ["pir"], cells)
    assert [r.producer for r in ranges] == ["cpu-2.6.2", "cpu-3.3.1", "check:user"]
    assert all(r.loads_in == ["cpu-2.6.2"] and r.model == "a" for r in ranges)


def test_why_an_export_loads_nowhere_is_kept() -> None:
    cells = [
        cell("cpu-2.6.2", "a", "cpu-3.3.1", Status.NOT_APPLICABLE, stage=Stage.EXPORT),
        cell("cpu-2.6.2", "b", "cpu-3.3.1", Status.EXPORT_FAILED, stage=Stage.EXPORT),
        cell("cpu-2.6.2", "b", "cpu-3.0.0", Status.CRASH, stage=Stage.REFERENCE),
        cell("cpu-3.3.1", "a", "cpu-3.3.1", Status.LOAD_FAILED, stage=Stage.LOAD),
    ]
    by = {(r.producer, r.model): r for r in compat_ranges(RUNTIMES, ["a", "b"], ["pir"], cells)}
    assert by[("cpu-2.6.2", "a")].export_status == "not_applicable"
    assert by[("cpu-2.6.2", "b")].export_status == "crash, export_failed"
    assert by[("cpu-2.6.2", "b")].loads_in == [] and by[("cpu-2.6.2", "b")].oldest is None
    assert by[("cpu-3.3.1", "a")].export_status == "ok" and ("cpu-3.3.1", "b") not in by  # no cell names it


def test_no_cells_no_ranges() -> None:
    assert compat_ranges(RUNTIMES, ["a"], ["pir"], []) == []
