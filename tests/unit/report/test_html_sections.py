"""The sections written into the page: the headline and summary, what changed, stale
expectations, infrastructure, "where do exports load?" (per model) and the trend."""

from __future__ import annotations

import collections
import dataclasses
import re
from typing import Any

import pytest

from harness.document.cell import CellKey, Result, Stage, Status
from harness.document.results import EXPECTED, Cell
from harness.report.html_sections import headline
from harness.report.styles import FAILING, MISSING, STYLES
from tests.unit.report.data import V2, cell_index, ids, raw, render, typed
from tests.unit.report.dom import Node, summary_counts


def test_summary_counts_the_cells_per_status(small: dict[str, Any], small_doc: Node) -> None:
    expected = collections.Counter(cell["status"] for cell in small["cells"])
    groups = summary_counts(small_doc)
    shown = {status: count for group in groups.values() for status, count in group.items()}
    assert shown == {s: str(expected.get(s, 0)) for s in [*(s.value for s in Status), EXPECTED]}
    # Nothing-ran statuses and harness trouble are never listed with the verdicts.
    assert set(groups["not run here"]) == {"unavailable", "skipped", "not_applicable"}
    assert set(groups["infrastructure"]) == {"infra_error"}
    assert "infra_error" not in groups["verdicts"] and "unavailable" not in groups["verdicts"]
    run = small_doc.find("p", id="run").text()
    assert "2026-11-23T16:00:00Z" in run and "venv" in run and "matrix.yaml" in run


def counts(doc: Node) -> dict[str, str]:
    line = doc.find("p", id="headline")
    return {
        strong.attrs["data-count"]: strong.text() for strong in line.find_all("strong") if "data-count" in strong.attrs
    } | {span.attrs["data-count"]: span.text() for span in line.find_all("span") if "data-count" in span.attrs}


def test_the_headline_keeps_unexpected_expected_passes_not_run_and_infrastructure_apart(
    v2: dict[str, Any], v2_doc: Node
) -> None:
    shown = collections.Counter(c["shown_as"] for c in v2["cells"])
    groups = summary_counts(v2_doc)
    assert groups["verdicts"][EXPECTED] == str(shown[EXPECTED]) == "21"
    assert groups["verdicts"]["load_failed"] == "3"  # the expected load failures are not counted as red
    failing = sum(shown[s] for s in FAILING)
    assert counts(v2_doc) == {
        "unexpected": str(failing),
        "cells": str(failing),
        "exports": "0",
        "expected": "21",
        "pass": str(shown["pass"]),
        "not_run": str(shown["unavailable"] + shown["skipped"] + shown["not_applicable"]),
        "infra_runtimes": "1",
        "infra_cells": "1",
    }
    # "expected" is its own muted colour, not a failure colour
    assert STYLES[EXPECTED].background not in {STYLES[s].background for s in FAILING}


def test_a_failed_export_is_one_unexpected_failure_not_one_per_consumer_and_loader() -> None:
    doc = typed(raw(V2))
    failed = [
        Cell.from_result(
            Result.for_cell(CellKey("cpu-3.3.1", "m", "legacy", c, ld), Status.EXPORT_FAILED, stage=Stage.EXPORT)
        )
        for c in ("cpu-2.6.2", "cpu-3.3.1")
        for ld in ("predictor", "jit_load")
    ]
    loaded = Cell.from_result(Result.for_cell(CellKey("cpu-3.3.1", "m", "pir", "cpu-2.6.2", "jit_load"), Status.CRASH))
    line = headline(dataclasses.replace(doc, cells=[*failed, loaded]))
    assert (line["unexpected"], line["cells"], line["exports"], line["export_cells"]) == (2, 1, 1, 4)


def test_summary_lists_runtime_states(v2_doc: Node) -> None:
    states = {
        li.attrs["data-state"]: li.find("strong").text()
        for li in v2_doc.find("ul", **{"data-group": "runtimes"}).find_all("li")
        if "data-state" in li.attrs
    }
    assert states == {"ready": "2", "unavailable": "1", "skipped": "1", "not_built": "0"}
    assert "runtimes built" in v2_doc.find("li", **{"data-state": "ready"}).text()


def test_transitions_line_names_the_previous_run_and_links_to_filters(v2: dict[str, Any], v2_doc: Node) -> None:
    line = v2_doc.find("p", id="changes")
    assert v2["transitions"]["previous_run"]["id"] in line.text()
    links = {a.attrs["data-value"]: a for a in line.find_all("a") if a.attrs.get("data-set-filter") == "change"}
    assert set(links) == {"newly_broken", "newly_fixed", "changed", "@any"}
    for kind in ("newly_broken", "newly_fixed", "changed"):
        assert links[kind].attrs["data-transition-count"] == str(v2["transitions"][kind])
        assert links[kind].attrs["href"] == "#cell-list"
    assert "3 newly broken" in " ".join(line.text().split())


def test_stale_expectations_are_listed_with_links_to_their_cells(v2: dict[str, Any], v2_doc: Node) -> None:
    stale = v2_doc.find("ul", class_="stale").find_all("li")
    assert [li.find("strong", class_="why").text() for li in stale] == ["now passes", "expired on 2026-10-01"]
    for li, entry in zip(stale, v2["stale_expectations"]):
        targets = [a.attrs["href"] for a in li.find_all("a") if a.attrs["href"].startswith("#cell-")]
        keys = [dict(zip(["producer", "model", "export", "consumer", "loader"], s.split("__"))) for s in entry["cells"]]
        assert targets == [f"#cell-{cell_index(v2, **key)}" for key in keys]


def test_many_stale_cells_are_linked_up_to_a_dozen_then_listed_by_the_filter() -> None:
    data = raw(V2)
    data["stale_expectations"][0]["cells"] = [f"a__b__c__d__e{n}" for n in range(40)]
    li = render(data).find("ul", class_="stale").find_all("li")[0]
    assert len([c for c in li.find_all("code") if c.text().startswith("a__")]) == 12 and "and 28 more" in li.text()
    assert li.find("a", **{"data-set-filter": "change"}).attrs["data-value"] == "stale"


def compat_rows(doc: Node) -> dict[tuple[str, str], list[Node]]:
    rows, producer = {}, ""
    for tr in doc.find("section", id="compat").find("table", class_="compat").find("tbody").find_all("tr"):
        producer = tr.attrs["data-producer"] or producer
        rows[(producer, tr.attrs["data-model"])] = tr.find_all("td")
    return rows


def test_where_do_exports_load_an_old_file_every_model_together(v2: dict[str, Any], v2_doc: Node) -> None:
    table = v2_doc.find("section", id="compat").find("table", class_="compat")
    assert [th.text() for th in table.find("thead").find_all("th")] == ["producer", "model", *ids(v2["export_modes"])]
    rows = compat_rows(v2_doc)
    assert list(rows) == [("cpu-2.6.2", ""), ("cpu-3.3.1", "")]  # schema 1: no model, every model together
    legacy = rows[("cpu-3.3.1", "")][1]
    assert legacy.find("span", class_="range").text() == "cpu-2.6.2 → cpu-3.3.1"
    assert "loads in: cpu-2.6.2, cpu-3.3.1" in legacy.attrs["title"]
    assert "not tested: cpu-2.5, gpu-3.3.1" in legacy.attrs["title"] and "cr-ok" in legacy.classes()
    nowhere = rows[("cpu-2.6.2", "")][0]
    assert "cr-none" in nowhere.classes() and nowhere.find("span", class_="range").text() == "not exported"
    assert "not_applicable" in nowhere.find("small", class_="export-status").text()
    # not_tested is the same everywhere: said once, above the table
    assert "cpu-2.5, gpu-3.3.1" in v2_doc.find("section", id="compat").find("p", class_="note").text()


def test_where_do_exports_load_per_model_never_hides_one_behind_another() -> None:
    data = raw(V2)
    base = next(
        e for e in data["compat_ranges"] if (e["producer"], e["export"]) == ("cpu-3.3.1", "fullgraph_off-legacy")
    )
    data["compat_ranges"] = [
        dict(base, model="ppyoloe_tiny"),
        dict(base, model="rtdetr_tiny", loads_in=[], oldest=None, newest=None, export_status="export_failed"),
        dict(base, model="rtdetr_tiny", export="fullgraph_on-pir"),
    ]
    rows = compat_rows(render(data))
    assert list(rows) == [("cpu-3.3.1", "ppyoloe_tiny"), ("cpu-3.3.1", "rtdetr_tiny")]  # modes: on-pir, off-legacy
    assert rows[("cpu-3.3.1", "ppyoloe_tiny")][1].find("span", class_="range").text() == "cpu-2.6.2 → cpu-3.3.1"
    assert rows[("cpu-3.3.1", "rtdetr_tiny")][1].find("span", class_="range").text() == "not exported"
    assert rows[("cpu-3.3.1", "ppyoloe_tiny")][0].text() == MISSING  # no entry for that mode


def test_where_do_exports_load_names_holes() -> None:
    data = raw(V2)
    data["runtimes"].insert(2, {"id": "cpu-3.0.0", "version": "3.0.0", "state": "ready", "fingerprint": None})
    entry = next(
        e for e in data["compat_ranges"] if (e["producer"], e["export"]) == ("cpu-3.3.1", "fullgraph_off-legacy")
    )
    entry["not_tested"] = ["cpu-2.5"]
    legacy = compat_rows(render(data))[("cpu-3.3.1", "")][1]
    assert "cr-gaps" in legacy.classes()
    assert legacy.find("small", class_="gaps").text() == "does not load in: cpu-3.0.0"
    assert "does not load in: cpu-3.0.0" in legacy.attrs["title"]


def test_trend_has_a_table_per_runtime_with_counts_per_run(v2: dict[str, Any], v2_doc: Node) -> None:
    tables = v2_doc.find("section", id="trend").find_all("table", class_="trend")
    assert [t.attrs["data-runtime"] for t in tables] == list(v2["trend"])
    table = next(t for t in tables if t.attrs["data-runtime"] == "cpu-2.6.2")
    runs = v2["trend"]["cpu-2.6.2"]
    heads = table.find("thead").find_all("th")[1:]
    assert [th.attrs["title"].split()[0] for th in heads] == [r["run_id"] for r in runs]
    assert heads[0].text() == "11-20 16:00"
    for tr in table.find("tbody").find_all("tr"):
        if "data-status" not in tr.attrs:
            continue
        status = tr.attrs["data-status"]
        assert [td.text() for td in tr.find_all("td")] == [str(r["counts"].get(status, 0)) for r in runs]
    bars = table.find("tr", class_="bars").find_all("td")
    assert len(bars) == len(runs) and "current" in bars[-1].classes()
    for bar, run in zip(bars, runs):
        styles = [seg.attrs["style"] for seg in bar.find_all("div")[1:]]  # [0] is the bar itself
        assert all(re.fullmatch(r"height: [\d.]+%", style) for style in styles)
        heights = [float(style[len("height: ") : -1]) for style in styles]
        assert sum(heights) == pytest.approx(100, abs=0.1)
        assert len(heights) == sum(1 for v in run["counts"].values() if v)


def test_infrastructure_is_its_own_section_with_runtimes_and_cells(v2: dict[str, Any], v2_doc: Node) -> None:
    section = v2_doc.find("section", id="infra")
    problems = section.find("table", class_="infra-runtimes").find("tbody").find_all("tr")
    assert [tr.find("code").text() for tr in problems] == ["cpu-2.5"]
    assert problems[0].find("pre").text() == v2["runtimes"][0]["reason"]
    assert section.find("p", class_="infra-cells-count").find("strong").text() == "1"
    row = section.find("table", class_="infra-cells").find("tbody").find("tr")
    n = cell_index(v2, status="infra_error")
    assert row.find("a").attrs["href"] == f"#cell-{n}"
    assert row.find("pre").text() == v2["cells"][n]["error"]
    assert section.find("a", **{"data-set-filter": "status"}).attrs["data-value"] == "infra_error"


def test_old_results_without_optional_sections_render_every_section(small_doc: Node) -> None:
    assert "No earlier run of this matrix" in small_doc.find("p", id="changes").text()
    assert "no compat_ranges" in small_doc.find("section", id="compat").text()
    assert "No trend" in small_doc.find("section", id="trend").text()
    assert small_doc.find_all("ul", class_="stale") == []
    # Without `infra`, the runtimes that could not be built are derived from their states (at read time).
    infra = small_doc.find("section", id="infra")
    listed = infra.find("table", class_="infra-runtimes").find("tbody").find_all("tr")
    assert [tr.find("code").text() for tr in listed] == ["cpu-2.5"]
    assert infra.find("p", class_="infra-cells-count").find("strong").text() == "0"
