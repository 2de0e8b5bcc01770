"""Where do exports load: computed from the cells (a pandas frame) over the producers they name."""

from __future__ import annotations

from typing import Any

from harness.config.versions import version_key
from harness.document.cell import CellKey, Result, Stage, Status
from harness.document.results import Cell, CompatRange, RuntimeEntry
from harness.report.compat import compat_ranges
from harness.report.frame import cell_frame, shown_counts
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


def test_a_consumer_counts_when_every_model_passes_with_some_loader() -> None:
    cells = [
        cell("cpu-3.3.1", "a", "cpu-3.3.1", Status.PASS),
        cell("cpu-3.3.1", "b", "cpu-3.3.1", Status.LOAD_FAILED),
        cell("cpu-3.3.1", "b", "cpu-3.3.1", Status.PASS, loader="jit_load"),  # another loader is enough
        cell("cpu-3.3.1", "a", "cpu-2.6.2", Status.PASS),
        cell("cpu-3.3.1", "b", "cpu-2.6.2", Status.CRASH),  # one model fails: not a consumer
        cell("cpu-3.3.1", "a", "cpu-3.0.0", Status.PASS),
        cell("cpu-3.3.1", "b", "cpu-3.0.0", Status.PASS),
    ]
    [entry] = compat_ranges(RUNTIMES, ["a", "b"], ["pir"], cell_frame(cells))
    assert entry == CompatRange("cpu-3.3.1", "pir", ["cpu-3.0.0", "cpu-3.3.1"], "cpu-3.0.0", "cpu-3.3.1", ["cpu-2.5"])


def test_producers_are_the_ready_runtimes_the_cells_name_then_the_others() -> None:
    cells = [
        cell("cpu-2.5", "a", "cpu-3.3.1", Status.UNAVAILABLE),  # not ready: no range
        cell("check:user", "a", "cpu-2.6.2", Status.PASS),
        cell("cpu-3.3.1", "a", "cpu-2.6.2", Status.PASS),
        cell("cpu-2.6.2", "a", "cpu-2.6.2", Status.PASS),
    ]
    ranges = compat_ranges(RUNTIMES, ["a"], ["pir"], cell_frame(cells))
    assert [r.producer for r in ranges] == ["cpu-2.6.2", "cpu-3.3.1", "check:user"]
    assert all(r.loads_in == ["cpu-2.6.2"] for r in ranges)


def test_why_an_export_loads_nowhere_is_kept() -> None:
    cells = [
        cell("cpu-2.6.2", "a", "cpu-3.3.1", Status.NOT_APPLICABLE, stage=Stage.EXPORT),
        cell("cpu-2.6.2", "b", "cpu-3.3.1", Status.EXPORT_FAILED, stage=Stage.EXPORT),
        cell("cpu-3.3.1", "a", "cpu-3.3.1", Status.LOAD_FAILED, stage=Stage.LOAD),
    ]
    by_producer = {r.producer: r for r in compat_ranges(RUNTIMES, ["a", "b"], ["pir"], cell_frame(cells))}
    assert by_producer["cpu-2.6.2"].export_status == "export_failed, not_applicable"
    assert by_producer["cpu-2.6.2"].loads_in == [] and by_producer["cpu-2.6.2"].oldest is None
    assert by_producer["cpu-3.3.1"].export_status == "ok"


def test_no_cells_no_ranges_and_no_counts() -> None:
    frame = cell_frame([])
    assert compat_ranges(RUNTIMES, ["a"], ["pir"], frame) == [] and shown_counts(frame) == {}
