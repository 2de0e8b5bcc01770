"""The typed results document: every key of results.json round-trips, old files get their
defaults at read time, and anything else is refused once, naming the file and the key."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.document.cell import CellKey, Result, Stage, Status
from harness.document.results import (
    Cell,
    DocumentError,
    ResultsDocument,
    Transitions,
    read_document,
    write_document,
)
from harness.errors import HarnessError
from harness.store.state import RuntimeState

DATA = Path(__file__).resolve().parents[2] / "data"
V2 = DATA / "report_v2.json"
SMALL = DATA / "results_small.json"
SOURCE = "reports/results.json"


def raw(path: Path = V2) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_v2_reads_typed_and_round_trips() -> None:
    doc = read_document(V2)
    assert doc.runtimes[0].state is RuntimeState.UNAVAILABLE and doc.runtimes[2].fingerprint is not None
    assert doc.runtimes[2].fingerprint.capabilities["pir_programs"] is True
    assert doc.cells[0].status is Status.UNAVAILABLE and doc.cells[0].stage is Stage.BUILD
    assert doc.transitions.previous_run is not None and doc.transitions.newly_broken == 3
    assert doc.trend["cpu-2.6.2"][0].counts["unavailable"] == 12
    assert ResultsDocument.from_json(json.loads(json.dumps(doc.to_json())), "again") == doc


def test_the_json_keys_stay_those_of_schema_1() -> None:
    """Merge, the browser tests and older readers rely on the keys, not on this module."""
    original, written = raw(), read_document(V2).to_json()
    assert list(written) == list(original)
    for section in ("exports", "compat_ranges", "stale_expectations", "infra", "transitions", "trend", "run"):
        assert written[section] == original[section], section
    for before, after in zip(original["cells"], written["cells"]):
        assert set(before) == set(after)
        assert {k: v for k, v in after.items() if k != "previous"} == {
            k: v for k, v in before.items() if k != "previous"
        }
    for before, after in zip(original["runtimes"], written["runtimes"]):
        assert after.items() >= {k: v for k, v in before.items() if k != "fingerprint"}.items()
        assert (after["fingerprint"] is None) == (before["fingerprint"] is None)


def test_a_fingerprint_keeps_keys_this_harness_does_not_know() -> None:
    data = raw()
    data["runtimes"][1]["fingerprint"]["cuda"] = "12.6"
    written = ResultsDocument.from_json(data, SOURCE).to_json()
    assert written["runtimes"][1]["fingerprint"] == data["runtimes"][1]["fingerprint"]


def test_an_old_file_gets_its_defaults_at_read_time() -> None:
    doc = read_document(SMALL)  # written before run, history, expectations, infra, exports, ranges
    assert doc.run.id == "" and doc.run.previous_id is None
    assert doc.transitions == Transitions() and doc.trend == {} and doc.exports == [] and doc.compat_ranges == []
    assert doc.stale_expectations == [] and doc.check is None
    assert [r.runtime for r in doc.infra.runtimes] == ["cpu-2.5"] and doc.infra.infra_error_cells == 0
    assert all(c.shown_as == c.status.value for c in doc.cells)
    assert doc.tolerances.score_atol == 1e-3
    assert doc.runtimes[0].pins == [] and doc.runtimes[0].backend is None


def test_cells_without_optional_fields_and_without_a_summary_read() -> None:
    data = raw(SMALL)
    del data["summary"], data["cells"][0]["details"], data["cells"][0]["log"], data["cells"][0]["duration_s"]
    data["cells"][1]["details"] = None
    doc = ResultsDocument.from_json(data, SOURCE)
    assert doc.cells[0].details == {} and doc.cells[0].log == "" and doc.cells[0].duration_s is None
    assert doc.cells[1].details == {}
    assert doc.summary == {"crash": 1, "load_failed": 1, "mismatch": 1, "pass": 1, "unavailable": 11}


def test_cell_from_result_keeps_every_field_and_shows_the_status() -> None:
    key = CellKey("cpu-3.3.1", "m", "fullgraph_on-pir", "cpu-2.6.2", "predictor")
    result = Result.for_cell(
        key, Status.LOAD_FAILED, stage=Stage.LOAD, error="e", log="l", max_abs_diff=0.5, details={"x": 1}
    )
    cell = Cell.from_result(result)
    assert cell.key == key and cell.slug == key.slug and cell.shown_as == "load_failed"
    assert {k: v for k, v in cell.to_json().items() if k != "shown_as"} == result.to_json()
    result.details["x"] = 2
    assert cell.details == {"x": 1}, "the cell does not share the result's details"


def test_write_and_read_back(tmp_path: Path) -> None:
    doc = read_document(V2)  # a schema 1 file: written as schema 2
    target = tmp_path / "reports" / "results.json"
    write_document(doc, target)
    assert read_document(target) == dataclasses.replace(doc, schema_version=2)
    assert [p.name for p in target.parent.iterdir()] == ["results.json"]  # no temp file left


def test_schema_2_keeps_a_log_many_cells_share_once_and_a_cell_per_line(tmp_path: Path) -> None:
    doc = read_document(V2)
    shared = "Traceback (most recent call last):\n  ...\nRuntimeError: the export failed"
    doc = dataclasses.replace(doc, cells=[dataclasses.replace(c, log=shared) if n % 3 else c for n, c in enumerate(doc.cells)])
    target = tmp_path / "results.json"
    write_document(doc, target)
    written = json.loads(target.read_text(encoding="utf-8"))
    assert written["schema_version"] == 2 and written["logs"].count(shared) == 1
    n = written["logs"].index(shared)
    assert all(c["log"] == n for c, cell in zip(written["cells"], doc.cells) if cell.log == shared)
    lines = target.read_text(encoding="utf-8").splitlines()
    assert sum(line.startswith('{"consumer":') for line in lines) == len(doc.cells)
    broken = dict(written, cells=[dict(written["cells"][0], log=len(written["logs"]))])
    with pytest.raises(DocumentError, match=r"cells\[0\]\.log: \d+ is not an index of the \d+ shared texts"):
        ResultsDocument.from_json(broken, SOURCE)


def test_a_nan_is_never_written(tmp_path: Path) -> None:
    doc = read_document(SMALL)
    broken = dataclasses.replace(doc, cells=[dataclasses.replace(doc.cells[0], max_abs_diff=float("nan"))])
    target = tmp_path / "results.json"
    with pytest.raises(ValueError, match="not JSON compliant"):
        write_document(broken, target)
    assert list(tmp_path.iterdir()) == []


def edit(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set the key at a path like "cells/12/status" (list indexes as numbers); DELETE removes it."""

    def apply(data: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) else last
        if value is DELETE:
            del node[key]
        else:
            node[key] = value

    return apply


DELETE = object()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (edit("cells/12/status", "bogus"), "cells[12].status: 'bogus' is not a status"),
        (edit("cells/3/shown_as", "exploded"), "cells[3].shown_as: 'exploded' is not a status (nor 'expected')"),
        (edit("cells/0/stage", "lunch"), "cells[0].stage: 'lunch' is not a stage"),
        (edit("cells/0/producer", DELETE), "cells[0].producer: missing (a required key)"),
        (edit("cells/0/error", None), "cells[0].error: expected a string, found null"),
        (edit("cells/0/max_abs_diff", "big"), "cells[0].max_abs_diff: expected a number or null, found a string"),
        (edit("cells/0/max_abs_diff", float("inf")), "cells[0].max_abs_diff: inf is not a finite number"),
        (edit("cells/0/details", [1]), "cells[0].details: expected an object or null, found a list"),
        (edit("cells/0/expectation", "x"), "cells[0].expectation: expected an object, found a string"),
        (edit("cells/0/transition", "sideways"), "cells[0].transition: 'sideways' is not one of newly_broken"),
        (edit("cells/0/previous", {"max_abs_diff": 1}), "cells[0].previous.status: missing (a required key)"),
        (edit("cells/0/workarounds", [{"workaround": "w", "status": "?"}]), "cells[0].workarounds[0].status: '?'"),
        (edit("cells/0/fixed_by", "w"), "cells[0].fixed_by: expected a list of strings, found a string"),
        (edit("runtimes/1/state", "on fire"), "runtimes[1].state: 'on fire' is not a runtime state"),
        (edit("runtimes/1/fingerprint/packages", [1]), "runtimes[1].fingerprint.packages[0]: expected a string"),
        (edit("runtimes/1/fingerprint", "x"), "runtimes[1].fingerprint: expected an object, found a string"),
        (edit("trend", "oops"), "trend: expected an object or null, found a string"),
        (edit("trend/cpu-3.3.1", [None]), "trend.cpu-3.3.1[0]: expected an object, found null"),
        (edit("trend/cpu-3.3.1/0/counts", "x"), "trend.cpu-3.3.1[0].counts: expected an object or null"),
        (edit("trend/cpu-3.3.1/0/counts", {"pass": -1}), "trend.cpu-3.3.1[0].counts.pass: expected a count"),
        (edit("compat_ranges", [1]), "compat_ranges[0]: expected an object, found a number"),
        (edit("compat_ranges", [{"producer": "cpu-3.3.1"}]), "compat_ranges[0].export: missing (a required key)"),
        (edit("exports", "x"), "exports: expected a list, found a string"),
        (edit("exports/1/files", {"model.pdmodel": "big"}), "exports[1].files.model.pdmodel: expected a count"),
        (edit("exports/1/pir_api", "no"), "exports[1].pir_api: expected true, false or null, found a string"),
        (edit("infra", 5), "infra: expected an object, found a number"),
        (edit("infra", [{"runtime": "docker"}]), "infra: expected an object, found a list"),
        (edit("infra/runtimes/0/state", "engine down"), "infra.runtimes[0].state: 'engine down' is not a runtime"),
        (edit("stale_expectations", [None]), "stale_expectations[0]: expected an object, found null"),
        (edit("stale_expectations/0/cells", "x"), "stale_expectations[0].cells: expected a list of strings"),
        (edit("transitions/newly_broken", "many"), "transitions.newly_broken: expected a whole number, found a string"),
        (edit("transitions/previous_run", 3), "transitions.previous_run: expected an object, found a number"),
        (edit("run", []), "run: expected an object, found a list"),
        (edit("models", "m"), "models: expected a list of strings, found a string"),
        (edit("export_modes/0/full_graph", "yes"), "export_modes[0].full_graph: expected true, false or null"),
        (edit("loaders", DELETE), "loaders: missing (a required key)"),
        (edit("check", "x"), "check: expected an object or null, found a string"),
        (edit("schema_version", 3), "schema_version: 3 is not a schema this harness reads (1, 2)"),
    ],
)
def test_a_wrong_key_is_named_with_the_file(change: Callable[[dict[str, Any]], None], message: str) -> None:
    data = raw()
    change(data)
    with pytest.raises(DocumentError) as caught:
        ResultsDocument.from_json(data, SOURCE)
    assert caught.value.message.startswith(f"{SOURCE}: {message}")
    assert caught.value.source == SOURCE and isinstance(caught.value, HarnessError)


def test_a_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(DocumentError, match=r"^reports/results.json: expected an object, found a list"):
        ResultsDocument.from_json([], SOURCE)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"\x89PNG\x00garbage", "not UTF-8 text"),
        (b'{"schema_version": 1, ', "not valid JSON"),
        (None, "cannot be read"),
    ],
)
def test_read_document_names_a_file_that_is_not_json(tmp_path: Path, content: bytes | None, why: str) -> None:
    path = tmp_path / "results.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DocumentError) as caught:
        read_document(path)
    assert caught.value.message.startswith(f"{path}: {why}")
    assert caught.value.exit_code == 6
