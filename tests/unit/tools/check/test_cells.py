"""check: choosing the reference cell and summing up each runtime in one line."""

from __future__ import annotations

from typing import Any

from harness.config.matrix import Runtime
from harness.document.cell import CellKey, Result, Status
from harness.runtimes.worker_client import Outcome
from harness.tools.check import cells as check
from harness.tools.check.cells import Ran

LOADERS = {"predictor": {"api": "predictor"}, "jit_load": {"api": "jit_load"}}


def ran(consumer: str, loader: str, ok: bool) -> Ran:
    key = CellKey("check:m", "m", "legacy", consumer, loader)
    reply = {"ok": ok, "stage": None if ok else "load", "outputs": [], "error": "" if ok else "ValueError: no"}
    task = {"id": key.slug, "loader": {"id": loader, **LOADERS[loader], "onednn": "default", "ir_optim": "default"}}
    return Ran(key, task, Outcome("done", reply=reply), "reproduce")


NEWEST_FIRST = [Runtime("cpu-3.3.1", "3.3.1"), Runtime("cpu-3.0.0", "3.0.0"), Runtime("cpu-2.6.2", "2.6.2")]
VERSIONS = {"cpu-3.3.1": "3.3.1", "cpu-3.0.0": "3.0.0", "cpu-2.6.2": "2.6.2"}


def test_the_reference_is_the_newest_runtime_whose_predictor_ran() -> None:
    cells = [ran("cpu-3.3.1", "predictor", False), ran("cpu-3.3.1", "jit_load", False)]
    cells += [
        ran("cpu-3.0.0", "jit_load", True),
        ran("cpu-3.0.0", "predictor", True),
        ran("cpu-2.6.2", "predictor", True),
    ]
    chosen, why = check.choose_reference(cells, NEWEST_FIRST, VERSIONS, "", None)
    assert chosen is not None and (chosen.key.consumer, chosen.key.loader) == ("cpu-3.0.0", "predictor")
    assert why == "cpu-3.0.0: the newest runtime that runs the model"


def test_the_runtime_that_wrote_the_program_comes_before_the_newest() -> None:
    cells = [ran("cpu-3.3.1", "predictor", True), ran("cpu-2.6.2", "predictor", True)]
    chosen, why = check.choose_reference(cells, NEWEST_FIRST, VERSIONS, "", "2.6.2")
    assert chosen is not None and chosen.key.consumer == "cpu-2.6.2"
    assert why == "cpu-2.6.2: the program was written by Paddle 2.6.2"


def test_a_named_reference_runtime_wins_unless_it_did_not_run() -> None:
    cells = [
        ran("cpu-3.3.1", "predictor", True),
        ran("cpu-3.0.0", "predictor", True),
        ran("cpu-2.6.2", "predictor", False),
    ]
    chosen, _ = check.choose_reference(cells, NEWEST_FIRST, VERSIONS, "cpu-3.0.0", "2.6.2")
    assert chosen is not None and chosen.key.consumer == "cpu-3.0.0"
    chosen, why = check.choose_reference(cells, NEWEST_FIRST, VERSIONS, "cpu-2.6.2", "2.6.2")
    assert chosen is not None and chosen.key.consumer == "cpu-3.3.1"
    assert why.startswith("--reference-runtime cpu-2.6.2 did not run the model; cpu-3.3.1")


def test_no_reference_when_nothing_ran() -> None:
    chosen, why = check.choose_reference([ran("cpu-3.3.1", "predictor", False)], NEWEST_FIRST, VERSIONS, "", None)
    assert chosen is None and why.startswith("none: the model ran in no runtime")


def result(consumer: str, loader: str, status: Status, error: str = "", **details: Any) -> Result:
    key = CellKey("check:m", "m", "legacy", consumer, loader)
    return Result.for_cell(
        key, status, error=error, max_abs_diff=0.0 if status is Status.PASS else None, details=details
    )


def test_one_summary_line_per_runtime() -> None:
    line = check.runtime_line(
        "cpu-3.3.1", [result("cpu-3.3.1", "predictor", Status.PASS), result("cpu-3.3.1", "jit_load", Status.PASS)]
    )
    assert line == "cpu-3.3.1: loads and runs (predictor, jit_load pass)"
    failed = [
        result("cpu-2.6.2", "predictor", Status.LOAD_FAILED, "RuntimeError: (NotFound) no such op"),
        result("cpu-2.6.2", "jit_load", Status.CRASH, "the loading process died by SIGSEGV"),
    ]
    assert check.runtime_line("cpu-2.6.2", failed) == (
        "cpu-2.6.2: load_failed: RuntimeError: (NotFound) no such op (other loaders: crash)"
    )
    mixed = [
        result("cpu-3.0.0", "predictor", Status.PASS, reference=True),
        result("cpu-3.0.0", "jit_load", Status.LOAD_FAILED, "ValueError: no .json"),
    ]
    assert check.runtime_line("cpu-3.0.0", mixed) == (
        "cpu-3.0.0 [reference]: loads and runs (predictor pass; jit_load load_failed: ValueError: no .json)"
    )
