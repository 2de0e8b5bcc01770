"""The HTML page: every cell in the page's data with its key and statuses, the overview's
axes, untrusted text kept out of the markup, nothing external, a flat cost per cell,
written atomically. (What the script draws from the data: tests/browser.)"""

from __future__ import annotations

import copy
import os
import re
import sys
from pathlib import Path
from typing import Any

import markupsafe
import pytest

from harness.document.cell import Status
from harness.document.results import EXPECTED, ResultsDocument
from harness.report.html import render_html, write_html
from harness.report.styles import STYLES, WORST_FIRST
from tests.unit.report.data import SCRIPT, SMALL, V2, ids, page, raw, render, typed
from tests.unit.report.dom import Node, Page, parse

ROOT = Path(__file__).resolve().parents[3]
KEY = ("producer", "model", "export", "consumer", "loader")


def test_every_cell_is_in_the_pages_data_with_its_key_and_statuses(small: dict[str, Any], small_page: Page) -> None:
    assert small_page.cells == len(small["cells"])
    for n, cell in enumerate(small["cells"]):
        shown = small_page.cell(n)
        assert {k: shown[k] for k in KEY} == {k: cell[k] for k in KEY}
        assert shown["status"] == cell["status"] and shown["shown_as"] == cell.get("shown_as", cell["status"])
        assert shown["stage"] == cell["stage"] and shown["error"] == cell["error"]


def test_v2_every_cell_has_its_shown_status_transition_and_expectation(v2: dict[str, Any], v2_page: Page) -> None:
    for n, cell in enumerate(v2["cells"]):
        shown = v2_page.cell(n)
        assert (shown["status"], shown["shown_as"]) == (cell["status"], cell["shown_as"])
        assert shown["transition"] == cell.get("transition")
        assert (shown["expectation"] or {}).get("reason") == (cell.get("expectation") or {}).get("reason")
        if cell["max_abs_diff"] is not None:
            assert shown["max_abs_diff"] == pytest.approx(cell["max_abs_diff"], rel=1e-3)  # 4 digits for the eye
            assert v2_page.more(n)["diff"] == cell["max_abs_diff"]  # the panel has it exactly


def test_statuses_labels_and_the_worst_first_order_come_with_the_data(small_page: Page) -> None:
    index = small_page.index
    assert index["statuses"][: len(STYLES)] == list(STYLES)
    assert index["labels"][: len(STYLES)] == [style.label for style in STYLES.values()]
    assert [index["statuses"][n] for n in index["worst"]] == list(WORST_FIRST)


def test_the_overview_has_the_ready_runtimes_and_a_line_for_each_other(v2: dict[str, Any], v2_page: Page) -> None:
    index = v2_page.index
    ready = [r["id"] for r in v2["runtimes"] if r["state"] == "ready"]
    assert [index["ids"][n] for n in index["rows"]] == ready == [index["ids"][n] for n in index["cols"]]
    lines = v2_page.node.find("ul", id="collapsed").find_all("li")
    others = [r for r in v2["runtimes"] if r["state"] != "ready"]
    assert [li.attrs["data-runtime"] for li in lines] == [r["id"] for r in others]
    for li, runtime in zip(lines, others):
        assert li.attrs["data-state"] == runtime["state"]
        assert runtime["reason"].splitlines()[0] in li.find("span", class_="reason").text()
        assert f"({sum(runtime['id'] in (c['producer'], c['consumer']) for c in v2['cells'])} cells)" in li.text()
    assert v2_page.node.find("table", id="overview-grid").children == []  # drawn by the script


def test_untrusted_text_never_reaches_the_markup(small: dict[str, Any], small_html: str, small_page: Page) -> None:
    assert SCRIPT not in small_html and "<script>alert" not in small_html
    scripts = small_page.node.find_all("script")
    assert [s.attrs.get("id") for s in scripts] == ["report-data", "report-detail", None]
    assert "alert" not in scripts[2].text()  # only the page's own code runs
    n = next(n for n, c in enumerate(small["cells"]) if SCRIPT in c["error"])
    assert small_page.cell(n)["error"] == small["cells"][n]["error"]  # verbatim, for textContent


def test_unavailable_runtime_shows_reason_and_fingerprint(
    small: dict[str, Any], small_html: str, small_doc: Node
) -> None:
    runtime = small["runtimes"][1]
    assert runtime["state"] == "unavailable"
    assert str(markupsafe.escape(runtime["reason"])) in small_html
    row = small_doc.find("table", class_="runtimes").find("tbody").find("tr", class_="rt-unavailable")
    assert row.find("pre").text() == runtime["reason"]  # verbatim, newlines and all
    assert runtime["fingerprint"]["paddle_commit"][:12] in row.text()
    assert runtime["fingerprint"]["numpy"] in row.text()


def assert_nothing_external(html: str, doc: Node) -> None:
    """Nothing is loaded from elsewhere; the only links out are expectation links, opened apart."""
    assert not re.search(r"""src\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert not re.search(r"url\(|@import", html, re.IGNORECASE)
    assert "fetch(" not in html and "XMLHttpRequest" not in html
    for tag in ("link", "img", "iframe", "object", "embed", "base"):
        assert doc.find_all(tag) == []
    for a in doc.find_all("a"):
        href = a.attrs["href"]
        if not href.startswith("#"):
            assert re.fullmatch(r"https?://\S+", href), href
            assert a.attrs["rel"] == "noopener noreferrer" and a.attrs["target"] == "_blank"


def test_no_external_resources(small_html: str, small_doc: Node) -> None:
    assert_nothing_external(small_html, small_doc)
    assert all(a.attrs["href"].startswith("#") for a in small_doc.find_all("a"))


def test_v2_has_nothing_external(v2_html: str, v2_doc: Node) -> None:
    assert_nothing_external(v2_html, v2_doc)


def test_legend_names_every_status_once_with_its_meaning(small_doc: Node) -> None:
    assert set(STYLES) == {s.value for s in Status} | {EXPECTED}
    assert len({style.label for style in STYLES.values()}) == len(STYLES)  # labels tell statuses apart
    legend = small_doc.find("table", class_="legend")
    rows = {tr.attrs["data-status"]: tr for tr in legend.find_all("tr") if "data-status" in tr.attrs}
    assert set(rows) == {s.value for s in Status} | {EXPECTED}
    for status, tr in rows.items():
        assert f"s-{status}" in tr.find("span").classes()
        assert STYLES[status].meaning in tr.text()


def test_zero_cells_render() -> None:
    data = raw(SMALL)
    data["cells"] = []
    shown = page(data)
    assert shown.cells == 0 and shown.detail["cells"] == []
    assert shown.index["rows"] == shown.index["cols"] == []


def test_an_empty_matrix_still_renders() -> None:
    empty = {"schema_version": 1, "generated_at": "", "matrix": "m.yaml", "backend": "none"}
    shown = page({**empty, "runtimes": [], "models": [], "export_modes": [], "loaders": [], "cells": []})
    assert shown.index["ids"] == [] and shown.node.find_all("ul", id="collapsed") == []


def test_a_very_long_log_is_kept_whole_for_its_panel() -> None:
    data = raw(SMALL)
    log = "".join(f"line {i} <&> " + "x" * 80 + "\n" for i in range(20000))  # ~2 MB
    data["cells"][3]["log"] = log
    shown = page(data)
    assert shown.more(3)["log"] == log


def test_cells_naming_unlisted_runtimes_are_still_shown() -> None:
    data = raw(SMALL)
    extra = copy.deepcopy(data["cells"][1])
    extra.update(consumer="cpu-9.9")  # a consumer no runtime entry lists
    data["cells"].append(extra)
    shown = page(data)
    index = shown.index
    assert index["ids"][-1] == "cpu-9.9" and index["runtimes"][-1]["state"] == ""
    assert index["ids"][index["cols"][-1]] == "cpu-9.9"
    assert shown.cell(len(data["cells"]) - 1)["consumer"] == "cpu-9.9"


def test_a_check_report_has_one_row_for_its_producer() -> None:
    """A producer that is not a runtime (a check's user export) gets its row; runtimes that
    produced nothing get none."""
    data = raw(SMALL)
    data["cells"] = [dict(c, producer="check:m") for c in data["cells"] if c["producer"] == "cpu-3.3.1"]
    index = page(data).index
    assert [index["ids"][n] for n in index["rows"]] == ["check:m"]


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


def test_selectors_offer_what_the_overview_summarises_and_statuses_present(v2: dict[str, Any], v2_doc: Node) -> None:
    form = v2_doc.find("form", id="filters")
    assert "hidden" in form.attrs  # the script shows it; without the script it would do nothing
    options = {
        select.attrs["data-filter"]: [(o.attrs["value"], o.text()) for o in select.find_all("option")]
        for select in form.find_all("select")
    }
    assert list(options) == ["model", "export", "loader", "status", "change"]
    assert options["model"] == [("", "all"), *((str(n), m) for n, m in enumerate(v2["models"]))]
    assert [t for _, t in options["export"][1:]] == ids(v2["export_modes"])
    assert [t for _, t in options["loader"][1:]] == ids(v2["loaders"])
    present = {c["shown_as"] for c in v2["cells"]}
    assert [v for v, _ in options["status"][:2]] == ["", "@failure"] and {
        v for v, _ in options["status"][2:]
    } == present
    assert [v for v, _ in options["change"]] == ["", "@any", "newly_broken", "newly_fixed", "changed", "stale"]


def test_the_renderer_takes_the_typed_document_only(v2: dict[str, Any]) -> None:
    """Rendering from the typed document is the same as from the file it was read from:
    the writers never see raw JSON."""
    doc = typed(v2)
    assert isinstance(doc, ResultsDocument)
    assert render_html(doc) == render_html(ResultsDocument.from_json(doc.to_json(), "again.json"))
    assert parse(render_html(doc)).find("p", id="run").find_all("code")[-1].text() == v2["run"]["id"]


def test_the_page_costs_a_few_bytes_per_cell_at_the_default_scale() -> None:
    """Sizes, not timings: the cells are data, so the page grows by a small constant per cell."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.synthetic_report import DEFAULT, synthetic_document

    doc = synthetic_document(DEFAULT)
    html = render_html(doc)
    assert len(html.encode()) / len(doc.cells) <= 300
    shown = Page.of(parse(html))
    assert shown.cells == len(doc.cells) and shown.cell(len(doc.cells) - 1)["loader"] == doc.cells[-1].loader


def test_the_summary_links_set_the_cell_filters(v2_doc: Node) -> None:
    links = [a for a in v2_doc.find_all("a") if "data-set-filter" in a.attrs]
    assert links and all(a.attrs["data-set-filter"] in ("status", "change") for a in links)
    headline = v2_doc.find("p", id="headline")
    assert headline.find("a", class_="unexpected").attrs["data-value"] == "@failure"
    assert render(raw(V2)).find("p", id="headline").text() == headline.text()
