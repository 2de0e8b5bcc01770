"""The HTML report: every cell in its place, untrusted text escaped, nothing external."""

from __future__ import annotations

import collections
import copy
import itertools
import json
import os
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import markupsafe
import pytest

from harness.report_html import MISSING, STYLES, render_html, write_html
from harness.status import Status

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "results_small.json"
SCRIPT = "<script>alert(1)</script>"
VOID = {"meta", "br", "hr", "img", "input", "link", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def find_all(self, tag: str, **attrs: str) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag and all(child.attrs.get(k.rstrip("_")) == v for k, v in attrs.items()):
                    found.append(child)
                found.extend(child.find_all(tag, **attrs))
        return found

    def find(self, tag: str, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]


class TreeBuilder(HTMLParser):
    """Just enough DOM for the report (which the template keeps well-formed)."""

    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


def load() -> dict[str, Any]:
    results: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return results


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def grid_rows(doc: Node) -> list[list[Node]]:
    body = doc.find("table", id="grid").find("tbody")
    return [row.find_all("td") for row in body.find_all("tr")]


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    return load()


@pytest.fixture(scope="module")
def html(results: dict[str, Any]) -> str:
    return render_html(results)


@pytest.fixture(scope="module")
def doc(html: str) -> Node:
    return parse(html)


def test_every_cell_appears_once_at_its_position_with_its_status_class(results: dict[str, Any], doc: Node) -> None:
    cells = results["cells"]
    rows = list(itertools.product(ids(results["runtimes"]), results["models"], ids(results["export_modes"])))
    cols = list(itertools.product(ids(results["runtimes"]), ids(results["loaders"])))
    grid = grid_rows(doc)
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


def test_a_missing_cell_renders_the_empty_marker(doc: Node) -> None:
    # The fixture has no cell for cpu-3.3.1 / fullgraph_off-legacy -> cpu-2.5 / jit_load.
    empty = [
        (r, c) for r, line in enumerate(grid_rows(doc)) for c, td in enumerate(line) if "data-cell" not in td.attrs
    ]
    assert empty == [(1, 3)]
    td = grid_rows(doc)[1][3]
    assert "s-missing" in td.classes() and td.text().strip() == MISSING


def test_headers_follow_the_order_of_results_json(results: dict[str, Any], doc: Node) -> None:
    head_rows = doc.find("table", id="grid").find("thead").find_all("tr")
    consumers = [th.attrs["data-runtime"] for th in head_rows[0].find_all("th") if "data-runtime" in th.attrs]
    assert consumers == ids(results["runtimes"])  # listed 3.3.1 before 2.5: not sorted
    loaders = [th.text() for th in head_rows[1].find_all("th")]
    assert loaders == ids(results["loaders"]) * len(results["runtimes"])  # predictor before jit_load

    body = doc.find("table", id="grid").find("tbody")
    producers = [th.attrs["data-runtime"] for th in body.find_all("th") if "producer" in th.classes()]
    assert producers == ids(results["runtimes"])
    exports = [th.text() for th in body.find_all("th") if "export" in th.classes()]
    assert exports == ids(results["export_modes"]) * len(results["runtimes"])


def test_untrusted_text_is_escaped_everywhere(html: str, doc: Node) -> None:
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    scripts = doc.find_all("script")
    assert len(scripts) == 1 and "alert" not in scripts[0].text()  # only the page's own JS


def test_unavailable_runtime_shows_reason_fingerprint_and_header_mark(
    results: dict[str, Any], html: str, doc: Node
) -> None:
    runtime = results["runtimes"][1]
    assert runtime["state"] == "unavailable"
    assert str(markupsafe.escape(runtime["reason"])) in html

    row = doc.find("table", class_="runtimes").find("tbody").find("tr", class_="rt-unavailable")
    assert row.find("pre").text() == runtime["reason"]  # verbatim, newlines and all
    assert runtime["fingerprint"]["paddle_commit"][:12] in row.text()
    assert runtime["fingerprint"]["numpy"] in row.text()

    marked = [th for th in doc.find("table", id="grid").find_all("th") if "rt-unavailable" in th.classes()]
    assert len(marked) == 2  # once as a consumer column group, once as a producer row group
    assert all("(unavailable)" in th.text() for th in marked)


def test_no_external_resources(html: str, doc: Node) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//|@import", html, re.IGNORECASE)
    assert "http://" not in html and "https://" not in html
    for tag in ("link", "img", "iframe"):
        assert doc.find_all(tag) == []
    assert all(a.attrs["href"].startswith("#") for a in doc.find_all("a"))


def test_legend_names_every_status_once_with_its_meaning(doc: Node) -> None:
    assert set(STYLES) == {s.value for s in Status}
    assert len({style.label for style in STYLES.values()}) == len(STYLES)  # labels tell statuses apart
    legend = doc.find("table", class_="legend")
    rows = {tr.attrs["data-status"]: tr for tr in legend.find_all("tr") if "data-status" in tr.attrs}
    assert set(rows) == {s.value for s in Status}
    for status, tr in rows.items():
        assert f"s-{status}" in tr.find("span").classes()
        assert STYLES[status].meaning in tr.text()


def test_summary_counts_the_cells_per_status(results: dict[str, Any], doc: Node) -> None:
    expected = collections.Counter(cell["status"] for cell in results["cells"])
    summary = doc.find("ul", class_="summary")
    shown = {
        li.attrs["data-status"]: li.find("strong").text() for li in summary.find_all("li") if "data-status" in li.attrs
    }
    assert shown == {s.value: str(expected.get(s.value, 0)) for s in Status}
    assert "2026-11-23T16:00:00Z" in doc.find("p", id="run").text()
    assert "venv" in doc.find("p", id="run").text()
    assert "matrix.yaml" in doc.find("p", id="run").text()


def test_tooltip_has_status_stage_error_and_diff(results: dict[str, Any], doc: Node) -> None:
    crash = next(n for n, c in enumerate(results["cells"]) if c["status"] == "crash")
    title = doc.find("td", **{"data-cell": str(crash)}).attrs["title"]
    assert "status: crash" in title and "stage: load" in title and "SIGSEGV" in title
    mismatch = next(n for n, c in enumerate(results["cells"]) if c["status"] == "mismatch")
    assert "max_abs_diff: 3.25" in doc.find("td", **{"data-cell": str(mismatch)}).attrs["title"]


def test_each_cell_has_a_detail_panel_with_everything(results: dict[str, Any], doc: Node) -> None:
    for n, cell in enumerate(results["cells"]):
        td = doc.find("td", **{"data-cell": str(n)})
        assert td.find("a").attrs["href"] == f"#cell-{n}"
        panel = doc.find("section", id=f"cell-{n}")
        text = panel.text()
        assert cell["status"] in text
        if cell["error"]:
            assert panel.find("pre", class_="error").text() == cell["error"]
        if cell["log"]:
            assert panel.find("pre", class_="log").text() == cell["log"]
        numbers = {
            tr.find("th").text(): tr.find("td").text() for tr in panel.find("table", class_="numbers").find_all("tr")
        }
        assert set(numbers) == {"max_abs_diff", *cell["details"]}
    passed = next(n for n, c in enumerate(results["cells"]) if c["status"] == "pass")
    shown = doc.find("section", id=f"cell-{passed}").find("table", class_="numbers").text()
    assert "1e-06" in shown and "reference_boxes" in shown


def test_zero_cells_render_an_all_empty_grid() -> None:
    results = load()
    results["cells"] = []
    doc = parse(render_html(results))
    tds = [td for line in grid_rows(doc) for td in line]
    assert len(tds) == 16 and all("s-missing" in td.classes() for td in tds)
    assert doc.find_all("section") == []


def test_an_empty_matrix_still_renders() -> None:
    results = {"schema_version": 1, "runtimes": [], "models": [], "export_modes": [], "loaders": [], "cells": []}
    doc = parse(render_html(results))
    assert doc.find_all("table", id="grid") == []
    assert "grid is empty" in doc.text()


def test_null_fingerprint_and_missing_optional_fields_are_fine() -> None:
    results = load()
    results["runtimes"][1]["fingerprint"] = None
    del results["cells"][0]["details"], results["cells"][0]["log"], results["cells"][0]["duration_s"]
    doc = parse(render_html(results))
    row = doc.find("table", class_="runtimes").find("tr", class_="rt-unavailable")
    assert "cbd5fa1c" not in row.text() and MISSING in row.text()
    assert doc.find("section", id="cell-0").find("pre", class_="error").text() == results["cells"][0]["error"]


def test_a_very_long_log_is_kept_whole_in_its_panel() -> None:
    results = load()
    log = "".join(f"line {i} <&> " + "x" * 80 + "\n" for i in range(20000))  # ~2 MB
    results["cells"][3]["log"] = log
    doc = parse(render_html(results))
    assert doc.find("section", id="cell-3").find("pre", class_="log").text() == log


def test_cells_naming_unlisted_ids_or_statuses_are_still_shown() -> None:
    results = load()
    extra = copy.deepcopy(results["cells"][1])
    extra.update(consumer="cpu-9.9", status="exploded")  # neither is listed anywhere
    results["cells"].append(extra)
    doc = parse(render_html(results))
    head = doc.find("table", id="grid").find("thead").find_all("tr")[0]
    assert [th.attrs["data-runtime"] for th in head.find_all("th") if "data-runtime" in th.attrs][-1] == "cpu-9.9"
    td = doc.find("td", **{"data-cell": str(len(results["cells"]) - 1)})
    assert td.classes() == {"cell", "s-unknown"} and td.text() == "explo"


def test_a_cell_reported_twice_shows_the_last_and_warns() -> None:
    results = load()
    again = dict(results["cells"][1], status="infra_error")
    results["cells"].append(again)
    doc = parse(render_html(results))
    assert doc.find_all("td", **{"data-cell": "1"}) == []
    assert "s-infra_error" in doc.find("td", **{"data-cell": str(len(results["cells"]) - 1)}).classes()
    assert "1 cell(s) in results.json are not in the grid" in doc.find("p", class_="warn").text()


def test_write_html_replaces_the_file_atomically(tmp_path: Path) -> None:
    results = load()
    target = tmp_path / "out" / "report.html"
    write_html(results, target)
    assert target.read_text(encoding="utf-8") == render_html(results)
    write_html(results, target)  # overwriting works too
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]  # no temp file left


def test_write_html_failure_keeps_the_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_html(load(), target)
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
