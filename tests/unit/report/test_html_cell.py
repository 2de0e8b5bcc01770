"""A cell in the HTML report: tooltip, detail panel, expectation, transition, workarounds
and the export fingerprint its panel shows."""

from __future__ import annotations

import collections
import re
from typing import Any

import pytest

from harness.report.html import render_html
from harness.report.styles import MISSING
from tests.unit.report.data import SCRIPT, SMALL, V2, cell_index, raw, render, typed
from tests.unit.report.dom import Node, cell_td, fingerprint_rows, panel, parse
from tests.unit.report.test_html import assert_nothing_external

NEWLY_BROKEN = dict(
    producer="cpu-3.3.1", model="ppyoloe_tiny", export="fullgraph_off-legacy", consumer="cpu-2.6.2", loader="jit_load"
)
EXPECTED_CELL = dict(
    producer="cpu-2.6.2", model="ppyoloe_tiny", export="fullgraph_off-legacy", consumer="cpu-3.3.1", loader="jit_load"
)


def test_tooltip_has_status_stage_error_and_diff(small: dict[str, Any], small_doc: Node) -> None:
    crash = next(n for n, c in enumerate(small["cells"]) if c["status"] == "crash")
    title = cell_td(small_doc, crash).attrs["title"]
    assert "status: crash" in title and "stage: load" in title and "SIGSEGV" in title
    mismatch = next(n for n, c in enumerate(small["cells"]) if c["status"] == "mismatch")
    assert "max_abs_diff: 3.25" in cell_td(small_doc, mismatch).attrs["title"]


def test_each_cell_has_a_detail_panel_with_everything(small: dict[str, Any], small_doc: Node) -> None:
    for n, cell in enumerate(small["cells"]):
        assert cell_td(small_doc, n).find("a").attrs["href"] == f"#cell-{n}"
        section = panel(small_doc, n)
        assert cell["status"] in section.text()
        if cell["error"]:
            assert section.find("pre", class_="error").text() == cell["error"]
        if cell["log"]:
            assert section.find("pre", class_="log").text() == cell["log"]
        numbers = {
            tr.find("th").text(): tr.find("td").text() for tr in section.find("table", class_="numbers").find_all("tr")
        }
        # reproduce has its own block (see below); every other detail is a number row
        assert set(numbers) == {"max_abs_diff", *cell["details"]} - {"reproduce"}
    passed = next(n for n, c in enumerate(small["cells"]) if c["status"] == "pass")
    shown = panel(small_doc, passed).find("table", class_="numbers").text()
    assert "1e-06" in shown and "reference_boxes" in shown


def test_a_null_fingerprint_and_cells_without_optional_fields_render() -> None:
    data = raw(SMALL)
    data["runtimes"][1]["fingerprint"] = None
    del data["cells"][0]["details"], data["cells"][0]["log"], data["cells"][0]["duration_s"]
    doc = render(data)
    row = doc.find("table", class_="runtimes").find("tr", class_="rt-unavailable")
    assert "cbd5fa1c" not in row.text() and MISSING in row.text()
    assert panel(doc, 0).find("pre", class_="error").text() == data["cells"][0]["error"]
    assert "no reproduce command" in panel(doc, 0).text() and "(no log)" in panel(doc, 0).text()


def test_detail_of_a_newly_broken_cell_shows_error_previous_and_reproduce(v2: dict[str, Any], v2_doc: Node) -> None:
    n = cell_index(v2, **NEWLY_BROKEN)
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
    n = cell_index(v2, **EXPECTED_CELL)
    cell, section = v2["cells"][n], panel(v2_doc, n)
    assert (cell["status"], cell["shown_as"]) == ("load_failed", "expected")
    assert section.find("strong", class_="real-status").text() == "expected: load_failed"
    expectation = section.find("dd", class_="expectation")
    assert expectation.find("span", class_="reason").text() == cell["expectation"]["reason"]
    assert expectation.find("a").attrs == {
        "href": cell["expectation"]["link"],
        "rel": "noopener noreferrer",
        "target": "_blank",
    }
    title = cell_td(v2_doc, n).attrs["title"]
    assert "status: expected (load_failed)" in title and cell["expectation"]["reason"] in title


def test_a_javascript_link_never_becomes_an_href(v2: dict[str, Any], v2_html: str, v2_doc: Node) -> None:
    n = cell_index(v2, **dict(EXPECTED_CELL, producer="cpu-3.3.1", model="rtdetr_tiny"))
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
    data = raw(V2)
    n = cell_index(data, **EXPECTED_CELL)
    data["cells"][n]["expectation"]["link"] = link
    data["stale_expectations"] = []
    dd = panel(render(data), n).find("dd", class_="expectation")
    assert [a.attrs["href"] for a in dd.find_all("a")] == ([link] if safe else [])
    if link and not safe:
        assert dd.find("code", class_="link-text").text() == link


def test_export_fingerprint_in_the_detail(v2: dict[str, Any], v2_doc: Node) -> None:
    n = cell_index(v2, **NEWLY_BROKEN)
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
    data = raw(V2)
    del data["exports"]
    n = cell_index(
        data,
        producer="cpu-3.3.1",
        model="rtdetr_tiny",
        export="fullgraph_off-legacy-ppdet",
        consumer="cpu-3.3.1",
        loader="predictor",
    )
    rows = fingerprint_rows(render(data), n)
    assert "no export record" in rows["record"].text()
    assert [li.find("code").text() for li in rows["files written"].find_all("li")] == ["input.npz", "reference.npz"]
    assert rows["static function"].text() == "SymbolicStaticFunction"
    assert rows["params sha256"].text() == MISSING


def test_diagnosed_workarounds_show_in_the_cell_and_its_tooltip() -> None:
    data = raw(SMALL)
    n = next(n for n, c in enumerate(data["cells"]) if c["status"] == "crash")
    data["cells"][n]["workarounds"] = [
        {"workaround": "oneDNN off <b>", "status": "crash", "error": "died\nmore"},
        {"workaround": "train high, export low", "status": "pass", "error": ""},
    ]
    data["cells"][n]["fixed_by"] = ["train high, export low"]
    doc = render(data)
    rows = panel(doc, n).find("table", class_="workarounds").find_all("tr")[1:]
    assert [tr.find_all("td")[0].text() for tr in rows] == ["oneDNN off <b>", "train high, export low"]
    assert rows[0].find_all("td")[2].text() == "died"  # the first line of the error
    assert "s-pass" in rows[1].find("span").classes()
    assert "fixed by: train high, export low" in cell_td(doc, n).attrs["title"]


def test_new_untrusted_fields_are_escaped() -> None:
    data = raw(V2)
    n = cell_index(data, **EXPECTED_CELL)
    cell = data["cells"][n]
    cell["expectation"].update(reason=SCRIPT, expires=SCRIPT, selector=SCRIPT, link=f"https://x.example/{SCRIPT}")
    cell["details"]["reproduce"] = f"echo '{SCRIPT}' | python -c \"print('&amp;')\""
    cell["transition"], cell["previous"] = "changed", {"status": "pass", "max_abs_diff": 0.5, "error": SCRIPT}
    cell["error"] = SCRIPT
    data["runtimes"][1]["fingerprint"]["packages"].append(f"{SCRIPT}==1")
    data["runtimes"][1]["fingerprint"]["paddle_commit"] = SCRIPT
    export = next(
        e
        for e in data["exports"]
        if e["producer"] == "cpu-2.6.2" and e["model"] == "ppyoloe_tiny" and e["export"] == "fullgraph_off-legacy"
    )
    export.update(
        files={SCRIPT: 1},
        params_sha256=SCRIPT,
        static_function=SCRIPT,
        warnings=[SCRIPT],
        to_static_kwargs={SCRIPT: SCRIPT},
    )
    data["stale_expectations"][0].update(reason=SCRIPT, why_stale=SCRIPT, cells=[SCRIPT])
    data["infra"]["runtimes"][0]["reason"] = SCRIPT
    data["compat_ranges"][0].update(loads_in=[SCRIPT], oldest=SCRIPT, newest=SCRIPT, export_status=SCRIPT)
    data["trend"][SCRIPT] = [{"run_id": SCRIPT, "generated_at": SCRIPT, "counts": {SCRIPT: 1}}]
    data["transitions"]["previous_run"]["id"] = SCRIPT
    data["run"]["id"] = SCRIPT
    data["matrix"] = data["backend"] = SCRIPT
    html = render_html(typed(data))
    doc = parse(html)
    assert SCRIPT not in html and "<script>alert" not in html
    assert len(doc.find_all("script")) == 1
    section = panel(doc, n)
    assert section.find("pre", class_="reproduce").text() == cell["details"]["reproduce"]  # shown verbatim
    assert section.find("span", class_="reason").text() == SCRIPT
    assert section.find("pre", class_="error").text() == SCRIPT
    freeze = fingerprint_rows(doc, n)["producer pip freeze"].find("pre").text().splitlines()
    assert freeze[-1] == f"{SCRIPT}==1"
    trend = doc.find("table", class_="trend", **{"data-runtime": SCRIPT})
    assert "s-unknown" in trend.find("tbody").find_all("tr")[1].find("span").classes()  # an unknown status is no class
    assert_nothing_external(html, doc)
