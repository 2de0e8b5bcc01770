"""The HTML report: every cell in its place, untrusted text escaped, nothing external.

results_small.json is a results.json from before history, expectations and export
fingerprints (none of the optional keys); report_v2.json has all of them."""

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

from harness.report_html import EXPECTED, FAILING, MISSING, STYLES, render_html, write_html
from harness.status import Status

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURE = DATA / "results_small.json"
FIXTURE_V2 = DATA / "report_v2.json"
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


def load(path: Path = FIXTURE) -> dict[str, Any]:
    results: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return results


def load_v2() -> dict[str, Any]:
    return load(FIXTURE_V2)


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
    # Every row names its producer (so a filter can hide any row); repeats are marked dup.
    producers = [th.attrs["data-runtime"] for th in body.find_all("th") if "producer" in th.classes()]
    per_producer = len(results["models"]) * len(results["export_modes"])
    assert producers == [r for r in ids(results["runtimes"]) for _ in range(per_producer)]
    firsts = [
        th.attrs["data-runtime"]
        for th in body.find_all("th")
        if th.classes() >= {"producer"} and "dup" not in th.classes()
    ]
    assert firsts == ids(results["runtimes"])
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
    rows_of_producer = len(results["models"]) * len(results["export_modes"])
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


def test_no_external_resources(html: str, doc: Node) -> None:
    assert_nothing_external(html, doc)
    assert "http://" not in html and "https://" not in html  # this fixture has no links at all
    assert all(a.attrs["href"].startswith("#") for a in doc.find_all("a"))


def test_legend_names_every_status_once_with_its_meaning(doc: Node) -> None:
    assert set(STYLES) == {s.value for s in Status} | {EXPECTED}
    assert len({style.label for style in STYLES.values()}) == len(STYLES)  # labels tell statuses apart
    legend = doc.find("table", class_="legend")
    rows = {tr.attrs["data-status"]: tr for tr in legend.find_all("tr") if "data-status" in tr.attrs}
    assert set(rows) == {s.value for s in Status} | {EXPECTED}
    for status, tr in rows.items():
        assert f"s-{status}" in tr.find("span").classes()
        assert STYLES[status].meaning in tr.text()


def summary_counts(doc: Node) -> dict[str, dict[str, str]]:
    """group -> status -> the count the summary shows."""
    return {
        ul.attrs["data-group"]: {
            li.attrs["data-status"]: li.find("strong").text() for li in ul.find_all("li") if "data-status" in li.attrs
        }
        for ul in doc.find("section", id="summary").find_all("ul")
        if "summary" in ul.classes() and ul.attrs["data-group"] != "runtimes"
    }


def test_summary_counts_the_cells_per_status(results: dict[str, Any], doc: Node) -> None:
    expected = collections.Counter(cell["status"] for cell in results["cells"])
    groups = summary_counts(doc)
    shown = {status: count for group in groups.values() for status, count in group.items()}
    assert shown == {s: str(expected.get(s, 0)) for s in [*(s.value for s in Status), EXPECTED]}
    # Nothing-ran statuses and harness trouble are never listed with the verdicts.
    assert set(groups["not run here"]) == {"unavailable", "skipped", "not_applicable"}
    assert set(groups["infrastructure"]) == {"infra_error"}
    assert "infra_error" not in groups["verdicts"] and "unavailable" not in groups["verdicts"]
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
        # reproduce has its own block (see the v2 tests); every other detail is a number row
        assert set(numbers) == {"max_abs_diff", *cell["details"]} - {"reproduce"}
    passed = next(n for n, c in enumerate(results["cells"]) if c["status"] == "pass")
    shown = doc.find("section", id=f"cell-{passed}").find("table", class_="numbers").text()
    assert "1e-06" in shown and "reference_boxes" in shown


def test_zero_cells_render_an_all_empty_grid() -> None:
    results = load()
    results["cells"] = []
    doc = parse(render_html(results))
    tds = [td for line in grid_rows(doc) for td in line]
    assert len(tds) == 16 and all("s-missing" in td.classes() for td in tds)
    assert doc.find_all("section", class_="detail") == []


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


# --- results.json with history, expectations, fingerprints (report_v2.json) -------------


@pytest.fixture(scope="module")
def v2() -> dict[str, Any]:
    return load_v2()


@pytest.fixture(scope="module")
def v2_html(v2: dict[str, Any]) -> str:
    return render_html(v2)


@pytest.fixture(scope="module")
def v2_doc(v2_html: str) -> Node:
    return parse(v2_html)


def cell_index(results: dict[str, Any], **key: str) -> int:
    found = [n for n, c in enumerate(results["cells"]) if all(c[k] == v for k, v in key.items())]
    assert len(found) == 1, key
    return found[0]


def panel(doc: Node, n: int) -> Node:
    return doc.find("section", id=f"cell-{n}")


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


def test_summary_counts_shown_statuses_and_keeps_expected_apart(v2: dict[str, Any], v2_doc: Node) -> None:
    shown = collections.Counter(c["shown_as"] for c in v2["cells"])
    groups = summary_counts(v2_doc)
    assert groups["verdicts"][EXPECTED] == str(shown[EXPECTED]) == "21"
    assert groups["verdicts"]["load_failed"] == "3"  # the expected load failures are not counted as red
    assert groups["infrastructure"] == {"infra_error": "1"}
    headline = v2_doc.find("p", class_="headline").text()
    failing = sum(shown[s] for s in FAILING)
    assert f"{failing} failing" in headline and f"{shown[EXPECTED]} expected" in headline
    assert f"{shown['infra_error']} infrastructure" in headline
    # "expected" is its own muted colour, not a failure colour
    assert STYLES[EXPECTED].background not in {STYLES[s].background for s in FAILING}


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
        assert links[kind].attrs["href"] == "#grid-section"
    assert "3 newly broken" in " ".join(line.text().split())


def test_cells_with_a_transition_carry_a_class_a_glyph_and_words(v2: dict[str, Any], v2_doc: Node) -> None:
    marked = [td for line in grid_rows(v2_doc) for td in line if "data-transition" in td.attrs]
    assert collections.Counter(td.attrs["data-transition"] for td in marked) == {
        k: v2["transitions"][k] for k in ("newly_broken", "newly_fixed", "changed")
    }
    glyphs = {"newly_broken": "▼", "newly_fixed": "▲", "changed": "Δ"}
    for td in marked:
        kind = td.attrs["data-transition"]
        assert f"t-{kind}" in td.classes()
        mark = td.find("span", class_="tmark")
        assert mark.text() == glyphs[kind]  # not colour alone
        assert mark.attrs["aria-label"] == kind.replace("_", " ")
        assert kind.replace("_", " ") in td.attrs["title"]
    unmarked = [td for line in grid_rows(v2_doc) for td in line if "data-transition" not in td.attrs]
    assert not any(c.startswith("t-") for td in unmarked for c in td.classes())


def test_detail_of_a_newly_broken_cell_shows_error_previous_and_reproduce(v2: dict[str, Any], v2_doc: Node) -> None:
    n = cell_index(
        v2,
        producer="cpu-3.3.1",
        model="ppyoloe_tiny",
        export="fullgraph_off-legacy",
        consumer="cpu-2.6.2",
        loader="jit_load",
    )
    cell, section = v2["cells"][n], panel(v2_doc, n)
    assert section.find("pre", class_="error").text() == cell["error"]
    assert section.find("pre", class_="log").text() == cell["log"]
    assert section.find("pre", class_="reproduce").text() == cell["details"]["reproduce"]  # verbatim, copyable
    assert (
        section.find("button", class_="copy").attrs["data-copy"] == section.find("pre", class_="reproduce").attrs["id"]
    )
    transition = section.find("dd", class_="transition t-newly_broken")
    assert "newly broken" in transition.text() and transition.find("code", class_="previous-status").text() == "pass"
    numbers = {tr.find("th").text() for tr in section.find("table", class_="numbers").find_all("tr")}
    assert "reproduce" not in numbers and "load_s" in numbers


def test_detail_of_an_expected_cell_shows_the_real_status_and_the_expectation(v2: dict[str, Any], v2_doc: Node) -> None:
    n = cell_index(
        v2,
        producer="cpu-2.6.2",
        model="ppyoloe_tiny",
        export="fullgraph_off-legacy",
        consumer="cpu-3.3.1",
        loader="jit_load",
    )
    cell, section = v2["cells"][n], panel(v2_doc, n)
    assert (cell["status"], cell["shown_as"]) == ("load_failed", "expected")
    assert section.find("strong", class_="real-status").text() == "expected: load_failed"
    expectation = section.find("dd", class_="expectation")
    assert expectation.find("span", class_="reason").text() == cell["expectation"]["reason"]
    link = expectation.find("a")
    assert link.attrs == {
        "href": cell["expectation"]["link"],
        "rel": "noopener noreferrer",
        "target": "_blank",
    }
    title = doc_td(v2_doc, n).attrs["title"]
    assert "status: expected (load_failed)" in title and cell["expectation"]["reason"] in title


def doc_td(doc: Node, n: int) -> Node:
    return doc.find("td", **{"data-cell": str(n)})


def test_a_javascript_link_never_becomes_an_href(v2: dict[str, Any], v2_html: str, v2_doc: Node) -> None:
    n = cell_index(
        v2,
        producer="cpu-3.3.1",
        model="rtdetr_tiny",
        export="fullgraph_off-legacy",
        consumer="cpu-3.3.1",
        loader="jit_load",
    )
    assert v2["cells"][n]["expectation"]["link"] == "javascript:alert(1)"
    expectation = panel(v2_doc, n).find("dd", class_="expectation")
    assert expectation.find_all("a") == []
    assert expectation.find("code", class_="link-text").text() == "javascript:alert(1)"
    assert not any("javascript" in a.attrs.get("href", "").lower() for a in v2_doc.find_all("a"))
    assert not re.search(r"href\s*=\s*[\"']?\s*javascript", v2_html, re.IGNORECASE)


@pytest.mark.parametrize(
    ("link", "safe"),
    [
        ("https://github.com/PaddlePaddle/Paddle/issues/71134", True),
        ("http://example.org/a?b=1&c=2#x", True),
        ("HTTPS://EXAMPLE.ORG/", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("//evil.example/x", False),
        ('https://ok.example/" onmouseover="alert(1)', False),
        ("https://ok.example/ x", False),
        (" https://ok.example/", False),
        ("vbscript:msgbox(1)", False),
        ("file:///etc/passwd", False),
        ("issues/75300", False),
        ("", False),
    ],
)
def test_only_plain_http_links_become_hrefs(link: str, safe: bool) -> None:
    results = load_v2()
    n = cell_index(
        results,
        producer="cpu-2.6.2",
        model="ppyoloe_tiny",
        export="fullgraph_off-legacy",
        consumer="cpu-3.3.1",
        loader="jit_load",
    )
    results["cells"][n]["expectation"]["link"] = link
    results["stale_expectations"] = []
    dd = panel(parse(render_html(results)), n).find("dd", class_="expectation")
    anchors = dd.find_all("a")
    assert [a.attrs["href"] for a in anchors] == ([link] if safe else [])
    if link and not safe:
        assert dd.find("code", class_="link-text").text() == link


def test_stale_expectations_are_listed_with_links_to_their_cells(v2: dict[str, Any], v2_doc: Node) -> None:
    stale = v2_doc.find("ul", class_="stale").find_all("li")
    assert [li.find("strong", class_="why").text() for li in stale] == ["now passes", "expired on 2026-10-01"]
    for li, entry in zip(stale, v2["stale_expectations"]):
        targets = [a.attrs["href"] for a in li.find_all("a") if a.attrs["href"].startswith("#cell-")]
        assert targets == [
            f"#cell-{cell_index(v2, **dict(zip(['producer', 'model', 'export', 'consumer', 'loader'], s.split('__'))))}"
            for s in entry["cells"]
        ]
    # The stale cells are marked in the grid and offered as a filter.
    stale_tds = [td for line in grid_rows(v2_doc) for td in line if "data-stale" in td.attrs]
    assert len(stale_tds) == 3 and all("stale" in td.classes() and td.find("span", class_="smark") for td in stale_tds)
    n = cell_index(
        v2,
        producer="cpu-3.3.1",
        model="ppyoloe_tiny",
        export="fullgraph_on-pir",
        consumer="cpu-2.6.2",
        loader="jit_load",
    )
    assert "stale: now passes" in panel(v2_doc, n).find("span", class_="stale-note").text()


def fingerprint_rows(doc: Node, n: int) -> dict[str, Node]:
    """The fingerprint a cell's panel shows: the export panel its slot names (the page's script
    copies that table into the slot when the cell opens; the browser test checks the copy)."""
    slot = panel(doc, n).find("div", class_="fp-slot")
    assert slot.find("a").attrs["href"] == "#" + slot.attrs["data-fp"]  # without the script, a link to it
    table = doc.find("section", id=slot.attrs["data-fp"]).find("table", class_="fingerprint")
    return {tr.find("th").text(): tr.find("td") for tr in table.find_all("tr")}


def test_export_fingerprint_in_the_detail(v2: dict[str, Any], v2_doc: Node) -> None:
    n = cell_index(
        v2,
        producer="cpu-3.3.1",
        model="ppyoloe_tiny",
        export="fullgraph_off-legacy",
        consumer="cpu-2.6.2",
        loader="jit_load",
    )
    export = next(
        e
        for e in v2["exports"]
        if (e["producer"], e["model"], e["export"]) == ("cpu-3.3.1", "ppyoloe_tiny", "fullgraph_off-legacy")
    )
    producer_fp = v2["runtimes"][2]["fingerprint"]
    rows = fingerprint_rows(v2_doc, n)
    assert "model.pdmodel" in rows["program"].text() and "legacy" in rows["program"].text()
    assert "PIR API off" in rows["program"].text()
    assert [li.find("code").text() for li in rows["files written"].find_all("li")] == list(export["files"])
    assert "1.8 MB" in rows["files written"].text()
    assert rows["params sha256"].text() == export["params_sha256"]
    assert rows["to_static kwargs"].text() == '{"full_graph": false}'
    assert rows["static function"].text() == "SymbolicStaticFunction"
    assert rows["warnings"].find("pre").text() == export["warnings"][0]
    assert "3.3.1" in rows["producer Paddle"].text()
    assert rows["producer Paddle"].find("code", class_="commit").text() == producer_fp["paddle_commit"]
    consumer = panel(v2_doc, n).find("table", class_="fingerprint consumer")  # per cell, not per export
    assert v2["runtimes"][1]["fingerprint"]["paddle_commit"] in consumer.find("code", class_="commit").text()
    freeze = rows["producer pip freeze"].find("details")
    assert freeze.find("summary").text() == f"{len(producer_fp['packages'])} packages"  # collapsed by default
    assert "open" not in freeze.attrs
    assert freeze.find("pre").text() == "\n".join(producer_fp["packages"])


def test_each_export_fingerprint_is_written_once_and_shared_by_its_cells(v2: dict[str, Any], v2_doc: Node) -> None:
    sections = v2_doc.find_all("section", class_="detail export")
    ready = {r["id"] for r in v2["runtimes"] if r["fingerprint"]}
    exports = {(c["producer"], c["model"], c["export"]) for c in v2["cells"] if c["producer"] in ready}
    assert len(sections) == len(exports) == 12
    by_export: dict[tuple[str, str, str], set[str]] = collections.defaultdict(set)
    for n, cell in enumerate(v2["cells"]):
        slots = panel(v2_doc, n).find_all("div", class_="fp-slot")
        if cell["producer"] in ready:
            by_export[(cell["producer"], cell["model"], cell["export"])].add(slots[0].attrs["data-fp"])
        else:  # an unavailable producer exported nothing and has no fingerprint
            assert slots == [] and "no export record" in panel(v2_doc, n).text()
    assert all(len(refs) == 1 for refs in by_export.values())
    assert len({ref for refs in by_export.values() for ref in refs}) == len(exports)


def test_export_fingerprint_falls_back_to_the_cells_export_details() -> None:
    results = load_v2()
    del results["exports"]
    n = cell_index(
        results,
        producer="cpu-3.3.1",
        model="rtdetr_tiny",
        export="fullgraph_off-legacy-ppdet",
        consumer="cpu-3.3.1",
        loader="predictor",
    )
    rows = fingerprint_rows(parse(render_html(results)), n)
    assert "no export record" in rows["record"].text()
    assert [li.find("code").text() for li in rows["files written"].find_all("li")] == ["input.npz", "reference.npz"]
    assert rows["static function"].text() == "SymbolicStaticFunction"
    assert rows["params sha256"].text() == MISSING


def test_where_do_exports_load(v2: dict[str, Any], v2_doc: Node) -> None:
    table = v2_doc.find("section", id="compat").find("table", class_="compat")
    assert [th.text() for th in table.find("thead").find_all("th")] == ["producer", *ids(v2["export_modes"])]
    cells = {tr.attrs["data-producer"]: [td for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")}
    assert list(cells) == ["cpu-2.6.2", "cpu-3.3.1"]
    legacy = cells["cpu-3.3.1"][1]
    assert legacy.find("span", class_="range").text() == "cpu-2.6.2 → cpu-3.3.1"
    assert (
        "loads in: cpu-2.6.2, cpu-3.3.1" in legacy.attrs["title"]
        and "not tested: cpu-2.5, gpu-3.3.1" in legacy.attrs["title"]
    )
    assert "cr-ok" in legacy.classes()
    nowhere = cells["cpu-2.6.2"][0]
    assert "cr-none" in nowhere.classes() and nowhere.find("span", class_="range").text() == "loads nowhere"
    assert "not_applicable" in nowhere.find("small", class_="export-status").text()
    # not_tested is the same everywhere: said once, above the table
    assert "cpu-2.5, gpu-3.3.1" in v2_doc.find("section", id="compat").find("p", class_="note").text()
    assert table.find_all("small", class_="untested") == []


def test_where_do_exports_load_names_holes_and_missing_entries() -> None:
    results = load_v2()
    results["runtimes"].insert(2, {"id": "cpu-3.0.0", "version": "3.0.0", "state": "ready", "fingerprint": None})
    entry = next(
        e for e in results["compat_ranges"] if (e["producer"], e["export"]) == ("cpu-3.3.1", "fullgraph_off-legacy")
    )
    entry["not_tested"] = ["cpu-2.5"]
    results["compat_ranges"] = [
        e for e in results["compat_ranges"] if e["export"] != "fullgraph_on-pir" or e["producer"] != "cpu-2.6.2"
    ]
    table = parse(render_html(results)).find("table", class_="compat")
    rows = {tr.attrs["data-producer"]: tr.find_all("td") for tr in table.find("tbody").find_all("tr")}
    legacy = rows["cpu-3.3.1"][1]
    assert "cr-gaps" in legacy.classes()
    assert legacy.find("small", class_="gaps").text() == "does not load in: cpu-3.0.0"
    assert "does not load in: cpu-3.0.0" in legacy.attrs["title"]
    # cpu-2.5 is untested everywhere, so it is said once above the table; gpu-3.3.1 only per cell
    assert legacy.find_all("small", class_="untested") == []
    assert rows["cpu-3.3.1"][0].find("small", class_="untested").text() == "not tested: gpu-3.3.1"
    assert rows["cpu-2.6.2"][0].text() == MISSING and "cr-missing" in rows["cpu-2.6.2"][0].classes()


def test_trend_has_a_table_per_runtime_with_counts_per_run(v2: dict[str, Any], v2_doc: Node) -> None:
    tables = v2_doc.find("section", id="trend").find_all("table", class_="trend")
    assert [t.attrs["data-runtime"] for t in tables] == list(v2["trend"])
    table = next(t for t in tables if t.attrs["data-runtime"] == "cpu-2.6.2")
    runs = v2["trend"]["cpu-2.6.2"]
    assert [th.attrs["title"].split()[0] for th in table.find("thead").find_all("th")[1:]] == [
        r["run_id"] for r in runs
    ]
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


def test_infra_given_as_a_plain_list_is_shown_too() -> None:
    results = load_v2()
    results["infra"] = [
        {
            "runtime": "docker",
            "state": "engine down",
            "reason": "Cannot connect to the Docker daemon <at> unix:///var/run/docker.sock",
        }
    ]
    section = parse(render_html(results)).find("section", id="infra")
    row = section.find("table", class_="infra-runtimes").find("tbody").find("tr")
    assert row.find("code").text() == "docker" and "engine down" in row.text()
    assert row.find("pre").text() == results["infra"][0]["reason"]


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


def test_v2_has_nothing_external_and_one_script(v2_html: str, v2_doc: Node) -> None:
    assert_nothing_external(v2_html, v2_doc)
    assert len(v2_doc.find_all("script")) == 1


def test_new_untrusted_fields_are_escaped() -> None:
    results = load_v2()
    n = cell_index(
        results,
        producer="cpu-2.6.2",
        model="ppyoloe_tiny",
        export="fullgraph_off-legacy",
        consumer="cpu-3.3.1",
        loader="jit_load",
    )
    cell = results["cells"][n]
    cell["expectation"].update(reason=SCRIPT, expires=SCRIPT, selector=SCRIPT, link=f"https://x.example/{SCRIPT}")
    cell["details"]["reproduce"] = f"echo '{SCRIPT}' | python -c \"print('&amp;')\""
    cell["transition"], cell["previous"] = "changed", {"status": SCRIPT, "max_abs_diff": SCRIPT}
    cell["shown_as"] = SCRIPT
    results["runtimes"][1]["fingerprint"]["packages"].append(f"{SCRIPT}==1")
    results["runtimes"][1]["fingerprint"]["paddle_commit"] = SCRIPT
    export = next(
        e
        for e in results["exports"]
        if e["producer"] == "cpu-2.6.2" and e["model"] == "ppyoloe_tiny" and e["export"] == "fullgraph_off-legacy"
    )
    export.update(
        files={SCRIPT: 1},
        params_sha256=SCRIPT,
        static_function=SCRIPT,
        warnings=[SCRIPT],
        to_static_kwargs={SCRIPT: SCRIPT},
    )
    results["stale_expectations"][0].update(reason=SCRIPT, why_stale=SCRIPT, cells=[SCRIPT])
    results["infra"]["runtimes"][0]["reason"] = SCRIPT
    results["compat_ranges"][0].update(loads_in=[SCRIPT], oldest=SCRIPT, newest=SCRIPT, export_status=SCRIPT)
    results["trend"][SCRIPT] = [{"run_id": SCRIPT, "generated_at": SCRIPT, "counts": {SCRIPT: 1}}]
    results["transitions"]["previous_run"]["id"] = SCRIPT
    results["run"]["id"] = SCRIPT
    html = render_html(results)
    doc = parse(html)
    assert SCRIPT not in html and "<script>alert" not in html
    assert len(doc.find_all("script")) == 1
    section = panel(doc, n)
    assert section.find("pre", class_="reproduce").text() == cell["details"]["reproduce"]  # shown verbatim
    assert section.find("span", class_="reason").text() == SCRIPT
    assert doc.find("td", **{"data-cell": str(n)}).classes() >= {"cell", "s-unknown"}  # an unknown shown_as is no class
    freeze = fingerprint_rows(doc, n)["producer pip freeze"].find("pre").text().splitlines()
    assert freeze[-1] == f"{SCRIPT}==1"
    assert_nothing_external(html, doc)


def test_old_results_without_optional_keys_render_every_section(doc: Node) -> None:
    assert "no history" in doc.find("p", id="changes").text()
    assert "no compat_ranges" in doc.find("section", id="compat").text()
    assert "No trend" in doc.find("section", id="trend").text()
    assert doc.find_all("ul", class_="stale") == []
    # Without `infra`, the runtimes that could not be built are listed from their states.
    infra = doc.find("section", id="infra")
    assert [
        tr.find("code").text() for tr in infra.find("table", class_="infra-runtimes").find("tbody").find_all("tr")
    ] == ["cpu-2.5"]
    assert infra.find("p", class_="infra-cells-count").find("strong").text() == "0"
    assert "no reproduce command" in doc.find("section", id="cell-0").text()
    assert doc.find_all("td", **{"data-transition": "newly_broken"}) == []


@pytest.mark.parametrize(
    "broken",
    [
        {"trend": "oops", "compat_ranges": [1, None, "x"], "exports": "x", "infra": 5, "stale_expectations": [None]},
        {"trend": {"cpu-3.3.1": [None, {"counts": "x"}]}, "transitions": {"newly_broken": "many", "previous_run": 3}},
        {"run": [], "compat_ranges": [{"producer": "cpu-3.3.1"}], "stale_expectations": [{"cells": "notalist"}]},
    ],
)
def test_malformed_optional_keys_do_not_break_the_page(broken: dict[str, Any]) -> None:
    results = load_v2()
    results.update(broken)
    for cell in results["cells"][:5]:
        cell.update(expectation="x", previous=None, transition="sideways", details=None)
    doc = parse(render_html(results))
    assert len([td for line in grid_rows(doc) for td in line if "data-cell" in td.attrs]) == len(results["cells"])


def test_write_html_of_v2_opens_from_disk(tmp_path: Path) -> None:
    target = tmp_path / "index.html"
    write_html(load_v2(), target)
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "</html>" in text


def test_diagnosed_workarounds_show_in_the_cell_and_its_tooltip(results: dict[str, Any]) -> None:
    doc = copy.deepcopy(results)
    cell = next(c for c in doc["cells"] if c["status"] == "crash")
    cell["workarounds"] = [
        {"workaround": "oneDNN off <b>", "status": "crash", "error": "died"},
        {"workaround": "train high, export low", "status": "pass", "error": ""},
    ]
    cell["fixed_by"] = ["train high, export low"]
    html = render_html(doc)
    assert "workarounds tried (diagnose)" in html and "oneDNN off &lt;b&gt;" in html
    assert "fixed by: train high, export low" in html
