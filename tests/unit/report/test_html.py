"""The HTML page and its grid: every cell in its place, untrusted text escaped, nothing
external, written atomically."""

from __future__ import annotations

import copy
import itertools
import os
import re
from pathlib import Path
from typing import Any

import markupsafe
import pytest

from harness.document.cell import Status
from harness.document.results import EXPECTED, ResultsDocument
from harness.report.html import render_html, write_html
from harness.report.styles import FAILING, MISSING, STYLES
from tests.unit.report.data import SCRIPT, SMALL, V2, ids, raw, render, typed
from tests.unit.report.dom import Node, grid_rows, parse


def test_every_cell_appears_once_at_its_position_with_its_status_class(small: dict[str, Any], small_doc: Node) -> None:
    cells = small["cells"]
    rows = list(itertools.product(ids(small["runtimes"]), small["models"], ids(small["export_modes"])))
    cols = list(itertools.product(ids(small["runtimes"]), ids(small["loaders"])))
    grid = grid_rows(small_doc)
    assert len(grid) == len(rows) and all(len(line) == len(cols) for line in grid)

    seen = []
    for (producer, model, export), line in zip(rows, grid):
        for (consumer, loader), td in zip(cols, line):
            if "data-cell" not in td.attrs:
                continue
            n = int(td.attrs["data-cell"])
            cell = cells[n]
            assert (cell["producer"], cell["model"], cell["export"]) == (producer, model, export)
            assert (cell["consumer"], cell["loader"]) == (consumer, loader)
            assert f"s-{cell['status']}" in td.classes()
            assert td.text().strip() == STYLES[cell["status"]].label
            seen.append(n)
    assert sorted(seen) == list(range(len(cells)))


def test_a_missing_cell_renders_the_empty_marker(small_doc: Node) -> None:
    # The fixture has no cell for cpu-3.3.1 / fullgraph_off-legacy -> cpu-2.5 / jit_load.
    empty = [
        (r, c)
        for r, line in enumerate(grid_rows(small_doc))
        for c, td in enumerate(line)
        if "data-cell" not in td.attrs
    ]
    assert empty == [(1, 3)]
    td = grid_rows(small_doc)[1][3]
    assert "s-missing" in td.classes() and td.text().strip() == MISSING


def test_headers_follow_the_order_of_the_document(small: dict[str, Any], small_doc: Node) -> None:
    head_rows = small_doc.find("table", id="grid").find("thead").find_all("tr")
    consumers = [th.attrs["data-runtime"] for th in head_rows[0].find_all("th") if "data-runtime" in th.attrs]
    assert consumers == ids(small["runtimes"])  # listed 3.3.1 before 2.5: not sorted
    loaders = [th.text() for th in head_rows[1].find_all("th")]
    assert loaders == ids(small["loaders"]) * len(small["runtimes"])  # predictor before jit_load

    body = small_doc.find("table", id="grid").find("tbody")
    # Every row names its producer (so a filter can hide any row); repeats are marked dup.
    producers = [th.attrs["data-runtime"] for th in body.find_all("th") if "producer" in th.classes()]
    per_producer = len(small["models"]) * len(small["export_modes"])
    assert producers == [r for r in ids(small["runtimes"]) for _ in range(per_producer)]
    firsts = [
        th.attrs["data-runtime"]
        for th in body.find_all("th")
        if th.classes() >= {"producer"} and "dup" not in th.classes()
    ]
    assert firsts == ids(small["runtimes"])
    exports = [th.text() for th in body.find_all("th") if "export" in th.classes()]
    assert exports == ids(small["export_modes"]) * len(small["runtimes"])


def test_untrusted_text_is_escaped_everywhere(small_html: str, small_doc: Node) -> None:
    assert SCRIPT not in small_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in small_html
    scripts = small_doc.find_all("script")
    assert len(scripts) == 1 and "alert" not in scripts[0].text()  # only the page's own JS


def test_unavailable_runtime_shows_reason_fingerprint_and_header_mark(
    small: dict[str, Any], small_html: str, small_doc: Node
) -> None:
    runtime = small["runtimes"][1]
    assert runtime["state"] == "unavailable"
    assert str(markupsafe.escape(runtime["reason"])) in small_html

    row = small_doc.find("table", class_="runtimes").find("tbody").find("tr", class_="rt-unavailable")
    assert row.find("pre").text() == runtime["reason"]  # verbatim, newlines and all
    assert runtime["fingerprint"]["paddle_commit"][:12] in row.text()
    assert runtime["fingerprint"]["numpy"] in row.text()

    marked = [th for th in small_doc.find("table", id="grid").find_all("th") if "rt-unavailable" in th.classes()]
    rows_of_producer = len(small["models"]) * len(small["export_modes"])
    assert len(marked) == 1 + rows_of_producer  # the consumer column group, and each of its producer rows
    assert all("(unavailable)" in th.text() for th in marked)


def assert_nothing_external(html: str, doc: Node) -> None:
    """Nothing is loaded from elsewhere; the only links out are expectation links, opened apart."""
    assert not re.search(r"""src\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert not re.search(r"url\(|@import", html, re.IGNORECASE)
    for tag in ("link", "img", "iframe", "object", "embed", "base"):
        assert doc.find_all(tag) == []
    for a in doc.find_all("a"):
        href = a.attrs["href"]
        if not href.startswith("#"):
            assert re.fullmatch(r"https?://\S+", href), href
            assert a.attrs["rel"] == "noopener noreferrer" and a.attrs["target"] == "_blank"


def test_no_external_resources(small_html: str, small_doc: Node) -> None:
    assert_nothing_external(small_html, small_doc)
    assert "http://" not in small_html and "https://" not in small_html  # this fixture has no links at all
    assert all(a.attrs["href"].startswith("#") for a in small_doc.find_all("a"))


def test_v2_has_nothing_external_and_one_script(v2_html: str, v2_doc: Node) -> None:
    assert_nothing_external(v2_html, v2_doc)
    assert len(v2_doc.find_all("script")) == 1


def test_legend_names_every_status_once_with_its_meaning(small_doc: Node) -> None:
    assert set(STYLES) == {s.value for s in Status} | {EXPECTED}
    assert len({style.label for style in STYLES.values()}) == len(STYLES)  # labels tell statuses apart
    legend = small_doc.find("table", class_="legend")
    rows = {tr.attrs["data-status"]: tr for tr in legend.find_all("tr") if "data-status" in tr.attrs}
    assert set(rows) == {s.value for s in Status} | {EXPECTED}
    for status, tr in rows.items():
        assert f"s-{status}" in tr.find("span").classes()
        assert STYLES[status].meaning in tr.text()


def test_v2_every_cell_is_in_the_grid_with_its_shown_status(v2: dict[str, Any], v2_doc: Node) -> None:
    tds = {int(td.attrs["data-cell"]): td for line in grid_rows(v2_doc) for td in line if "data-cell" in td.attrs}
    assert sorted(tds) == list(range(len(v2["cells"])))
    for n, cell in enumerate(v2["cells"]):
        td = tds[n]
        assert td.attrs["data-status"] == cell["shown_as"]
        assert f"s-{cell['shown_as']}" in td.classes()
        assert td.find("a").children[0] == STYLES[cell["shown_as"]].label  # the label, then any marks
        if cell["shown_as"] != cell["status"]:
            assert td.attrs["data-real"] == cell["status"]


def test_zero_cells_render_an_all_empty_grid() -> None:
    data = raw(SMALL)
    data["cells"] = []
    doc = render(data)
    tds = [td for line in grid_rows(doc) for td in line]
    assert len(tds) == 16 and all("s-missing" in td.classes() for td in tds)
    assert doc.find_all("section", class_="detail") == []


def test_an_empty_matrix_still_renders() -> None:
    empty = {"schema_version": 1, "generated_at": "", "matrix": "m.yaml", "backend": "none"}
    doc = render({**empty, "runtimes": [], "models": [], "export_modes": [], "loaders": [], "cells": []})
    assert doc.find_all("table", id="grid") == []
    assert "grid is empty" in doc.text()


def test_a_very_long_log_is_kept_whole_in_its_panel() -> None:
    data = raw(SMALL)
    log = "".join(f"line {i} <&> " + "x" * 80 + "\n" for i in range(20000))  # ~2 MB
    data["cells"][3]["log"] = log
    assert render(data).find("section", id="cell-3").find("pre", class_="log").text() == log


def test_cells_naming_unlisted_runtimes_are_still_shown() -> None:
    data = raw(SMALL)
    extra = copy.deepcopy(data["cells"][1])
    extra.update(consumer="cpu-9.9")  # a consumer no runtime entry lists
    data["cells"].append(extra)
    doc = render(data)
    head = doc.find("table", id="grid").find("thead").find_all("tr")[0]
    consumers = [th for th in head.find_all("th") if "data-runtime" in th.attrs]
    assert consumers[-1].attrs["data-runtime"] == "cpu-9.9" and "rt-unknown" in consumers[-1].classes()
    td = doc.find("td", **{"data-cell": str(len(data["cells"]) - 1)})
    assert td.classes() == {"cell", f"s-{extra['status']}"}


def test_a_check_report_has_one_row_for_its_producer() -> None:
    """A producer that is not a runtime (a check's user export) gets its row; runtimes that
    produced nothing get none."""
    data = raw(SMALL)
    data["cells"] = [dict(c, producer="check:m") for c in data["cells"] if c["producer"] == "cpu-3.3.1"]
    doc = render(data)
    rows = doc.find("table", id="grid").find("tbody").find_all("tr")
    assert {tr.attrs["data-producer"] for tr in rows} == {"check:m"}
    assert len(rows) == len(data["models"]) * len(data["export_modes"])


def test_a_cell_reported_twice_shows_the_last_and_warns() -> None:
    data = raw(SMALL)
    data["cells"].append(dict(data["cells"][1], status="infra_error", shown_as="infra_error"))
    doc = render(data)
    assert doc.find_all("td", **{"data-cell": "1"}) == []
    assert "s-infra_error" in doc.find("td", **{"data-cell": str(len(data["cells"]) - 1)}).classes()
    assert "1 cell(s) in results.json are not in the grid" in doc.find("p", class_="warn").text()


def test_write_html_replaces_the_file_atomically(tmp_path: Path) -> None:
    doc = typed(raw(SMALL))
    target = tmp_path / "out" / "report.html"
    write_html(doc, target)
    assert target.read_text(encoding="utf-8") == render_html(doc)
    write_html(doc, target)  # overwriting works too
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]  # no temp file left


def test_write_html_failure_keeps_the_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")
    doc = typed(raw(SMALL))

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_html(doc, target)
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_write_html_of_v2_opens_from_disk(tmp_path: Path) -> None:
    target = tmp_path / "index.html"
    write_html(typed(raw(V2)), target)
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")


def test_filters_offer_every_key_and_only_statuses_present(v2: dict[str, Any], v2_doc: Node) -> None:
    form = v2_doc.find("form", id="filters")
    assert "hidden" in form.attrs  # the script shows it; without the script it would do nothing
    assert set(form.attrs["data-failing"].split()) == set(FAILING)
    options = {
        select.attrs["data-filter"]: [o.attrs["value"] for o in select.find_all("option")]
        for select in form.find_all("select")
    }
    assert list(options) == ["producer", "model", "export", "consumer", "loader", "status", "change"]
    assert options["model"] == ["", *v2["models"]]
    assert options["export"] == ["", *ids(v2["export_modes"])]
    assert options["loader"] == ["", *ids(v2["loaders"])]
    assert options["consumer"] == options["producer"] == ["", *ids(v2["runtimes"])]
    present = {c["shown_as"] for c in v2["cells"]}
    assert options["status"][:2] == ["", "@failure"] and set(options["status"][2:]) == present
    assert options["change"] == ["", "@any", "newly_broken", "newly_fixed", "changed", "stale"]
    assert form.find("select", id="f-status")  # the browser test and the summary links use these ids


def test_rows_carry_their_keys_for_the_filters(v2: dict[str, Any], v2_doc: Node) -> None:
    rows = v2_doc.find("table", id="grid").find("tbody").find_all("tr")
    keys = [(tr.attrs["data-producer"], tr.attrs["data-model"], tr.attrs["data-export"]) for tr in rows]
    assert keys == list(itertools.product(ids(v2["runtimes"]), v2["models"], ids(v2["export_modes"])))
    loaders = v2_doc.find("table", id="grid").find("thead").find_all("tr")[1].find_all("th")
    assert [(th.attrs["data-consumer"], th.attrs["data-loader"]) for th in loaders] == list(
        itertools.product(ids(v2["runtimes"]), ids(v2["loaders"]))
    )


def test_the_renderer_takes_the_typed_document_only(v2: dict[str, Any]) -> None:
    """Rendering from the typed document is the same as from the file it was read from:
    the writers never see raw JSON."""
    doc = typed(v2)
    assert isinstance(doc, ResultsDocument)
    assert render_html(doc) == render_html(ResultsDocument.from_json(doc.to_json(), "again.json"))
    assert parse(render_html(doc)).find("p", id="run").find_all("code")[-1].text() == v2["run"]["id"]
