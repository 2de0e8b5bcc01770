"""A cell's detail panel, as the page's data holds it: the evidence, what changed, the
expectation and its link, the workarounds, the upstream report, and the export and runtime
fingerprints the panels share."""

from __future__ import annotations

import collections
from typing import Any

import pytest

from harness.document.results import CellExpectation
from harness.report.html import render_html
from harness.report.html_cell import expectation_view
from harness.report.upstream import upstream_report
from tests.unit.report.data import SCRIPT, SMALL, V2, cell_index, page, raw, typed
from tests.unit.report.dom import Page, parse

NEWLY_BROKEN = dict(
    producer="cpu-3.3.1", model="ppyoloe_tiny", export="fullgraph_off-legacy", consumer="cpu-2.6.2", loader="jit_load"
)
EXPECTED_CELL = dict(
    producer="cpu-2.6.2", model="ppyoloe_tiny", export="fullgraph_off-legacy", consumer="cpu-3.3.1", loader="jit_load"
)


def test_each_cell_has_its_log_evidence_and_duration(small: dict[str, Any], small_page: Page) -> None:
    for n, cell in enumerate(small["cells"]):
        more = small_page.more(n)
        assert more.get("log", "") == cell["log"]
        assert more.get("details", {}) == {k: v for k, v in cell["details"].items() if k != "repro"}
        assert more.get("duration") == cell.get("duration_s")


def test_a_cell_without_optional_fields_has_an_empty_panel_entry() -> None:
    data = raw(SMALL)
    data["runtimes"][1]["fingerprint"] = None
    del data["cells"][0]["details"], data["cells"][0]["log"], data["cells"][0]["duration_s"]
    shown = page(data)
    assert {k: v for k, v in shown.more(0).items() if k != "upstream"} == {}
    assert shown.detail["fingerprints"][1] == {
        "paddle_version": "",
        "paddle_commit": "",
        "python": "",
        "numpy": "",
        "packages": [],
    }


def test_a_newly_broken_cell_has_its_previous_state_and_reproduce_line(v2: dict[str, Any], v2_page: Page) -> None:
    n = cell_index(v2, **NEWLY_BROKEN)
    cell, more = v2["cells"][n], v2_page.more(n)
    assert v2_page.cell(n)["transition"] == "newly_broken"
    assert more["previous"] == {"status": "pass", "diff": "0.0"}
    assert more["log"] == cell["log"] and more["details"]["reproduce"] == cell["details"]["reproduce"]
    assert v2_page.index["changes"][1] == ["newly_broken", "▼", "newly broken"]


def test_an_expected_cell_has_its_real_status_and_its_expectation(v2: dict[str, Any], v2_page: Page) -> None:
    n = cell_index(v2, **EXPECTED_CELL)
    shown = v2_page.cell(n)
    assert (shown["status"], shown["shown_as"]) == ("load_failed", "expected")
    exp = v2["cells"][n]["expectation"]
    assert shown["expectation"] == {**exp, "href": exp["link"], "stale": exp["stale"] or ""}


def test_expectations_are_kept_once_however_many_cells_they_cover(v2: dict[str, Any], v2_page: Page) -> None:
    declared = {
        (c["expectation"]["reason"], c["expectation"]["stale"] or "") for c in v2["cells"] if c.get("expectation")
    }
    assert sorted((e["reason"], e["stale"]) for e in v2_page.index["expectations"]) == sorted(declared)


def test_a_javascript_link_never_becomes_an_href(v2: dict[str, Any], v2_page: Page) -> None:
    n = cell_index(v2, **dict(EXPECTED_CELL, producer="cpu-3.3.1", model="rtdetr_tiny"))
    assert v2["cells"][n]["expectation"]["link"] == "javascript:alert(1)"
    assert v2_page.cell(n)["expectation"]["href"] is None  # shown as text by the script
    assert all(not (e["href"] or "").lower().startswith("javascript") for e in v2_page.index["expectations"])


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
    view = expectation_view(CellExpectation("r", link))
    assert view["href"] == (link if safe else None) and view["link"] == link


def test_export_fingerprint_in_the_detail(v2: dict[str, Any], v2_page: Page) -> None:
    n = cell_index(v2, **NEWLY_BROKEN)
    export = next(
        e
        for e in v2["exports"]
        if (e["producer"], e["model"], e["export"]) == ("cpu-3.3.1", "ppyoloe_tiny", "fullgraph_off-legacy")
    )
    shown = v2_page.more(n)["export"]
    assert shown["recorded"] and shown["program_file"] == "model.pdmodel" and shown["program_format"] == "legacy"
    assert shown["pir_api"] == "off"
    assert [name for name, _ in shown["files"]] == list(export["files"])
    assert "1.8 MB" in [size for _, size in shown["files"]]
    assert shown["params_sha256"] == export["params_sha256"]
    assert shown["to_static_kwargs"] == '{"full_graph": false}'
    assert shown["static_function"] == "SymbolicStaticFunction" and shown["warnings"] == export["warnings"]
    producer = v2_page.detail["fingerprints"][v2_page.index["cells"]["p"][n]]
    assert producer["paddle_commit"] == v2["runtimes"][2]["fingerprint"]["paddle_commit"]
    assert producer["packages"] == v2["runtimes"][2]["fingerprint"]["packages"]  # the pip freeze, per runtime


def test_each_export_fingerprint_is_kept_once_and_shared_by_its_cells(v2: dict[str, Any], v2_page: Page) -> None:
    ready = {r["id"] for r in v2["runtimes"] if r["fingerprint"]}
    exports = {(c["producer"], c["model"], c["export"]) for c in v2["cells"] if c["producer"] in ready}
    assert len(v2_page.detail["exports"]) == len(exports) == 12
    refs: dict[tuple[str, str, str], set[int]] = collections.defaultdict(set)
    for n, cell in enumerate(v2["cells"]):
        entry = v2_page.detail["cells"][n]
        if cell["producer"] in ready:
            refs[(cell["producer"], cell["model"], cell["export"])].add(entry["export"])
        else:  # an unavailable producer exported nothing and has no fingerprint
            assert "export" not in entry
    assert all(len(r) == 1 for r in refs.values()) and len({r for rs in refs.values() for r in rs}) == len(exports)


def test_export_fingerprint_falls_back_to_the_cells_export_details() -> None:
    data = raw(V2)
    del data["exports"]
    key = dict(NEWLY_BROKEN, model="rtdetr_tiny", export="fullgraph_off-legacy-ppdet", consumer="cpu-3.3.1")
    n = cell_index(data, **dict(key, loader="predictor"))
    shown = page(data).more(n)["export"]
    assert not shown["recorded"] and [name for name, _ in shown["files"]] == ["input.npz", "reference.npz"]
    assert shown["static_function"] == "SymbolicStaticFunction" and shown["params_sha256"] == ""


def test_diagnosed_workarounds_are_in_the_detail() -> None:
    data = raw(SMALL)
    n = next(n for n, c in enumerate(data["cells"]) if c["status"] == "crash")
    data["cells"][n]["workarounds"] = [
        {"workaround": "oneDNN off <b>", "status": "crash", "error": "died\nmore"},
        {"workaround": "train high, export low", "status": "pass", "error": ""},
    ]
    data["cells"][n]["fixed_by"] = ["train high, export low"]
    more = page(data).more(n)
    assert more["workarounds"] == [
        {"name": "oneDNN off <b>", "status": "crash", "error": "died"},  # the first line of the error
        {"name": "train high, export low", "status": "pass", "error": ""},
    ]
    assert more["fixed_by"] == ["train high, export low"]


def test_every_failing_cell_has_its_upstream_report(v2: dict[str, Any], v2_page: Page) -> None:
    doc = typed(v2)
    runtimes = {r.id: r for r in doc.runtimes}
    loaders = {ld.id: ld for ld in doc.loaders}
    exports = {(e.producer, e.model, e.export): e for e in doc.exports}
    failing = {"mismatch", "export_failed", "load_failed", "run_failed", "crash", "timeout"}
    for n, cell in enumerate(doc.cells):
        more = v2_page.more(n)
        if cell.status.value not in failing:
            assert "upstream" not in more
            continue
        expected = upstream_report(
            cell,
            consumer=runtimes.get(cell.consumer),
            producer=runtimes.get(cell.producer),
            loader=loaders.get(cell.loader),
            export=exports.get((cell.producer, cell.model, cell.export)),
        )
        assert more["upstream"] == expected  # the same generator as `repro --report-md`


def test_untrusted_fields_stay_data(v2: dict[str, Any]) -> None:
    data = raw(V2)
    n = cell_index(data, **EXPECTED_CELL)
    cell = data["cells"][n]
    cell["expectation"].update(reason=SCRIPT, expires=SCRIPT, selector=SCRIPT, link=f"https://x.example/{SCRIPT}")
    cell["details"]["reproduce"] = f"echo '{SCRIPT}' | python -c \"print('&amp;')\""
    cell["error"] = SCRIPT
    data["runtimes"][1]["fingerprint"]["packages"].append(f"{SCRIPT}==1")
    data["stale_expectations"][0].update(reason=SCRIPT, why_stale=SCRIPT, cells=[SCRIPT])
    data["infra"]["runtimes"][0]["reason"] = SCRIPT
    data["compat_ranges"][0].update(loads_in=[SCRIPT], oldest=SCRIPT, newest=SCRIPT, export_status=SCRIPT)
    data["trend"][SCRIPT] = [{"run_id": SCRIPT, "generated_at": SCRIPT, "counts": {SCRIPT: 1}}]
    data["run"]["id"] = data["matrix"] = data["backend"] = SCRIPT
    html = render_html(typed(data))
    assert SCRIPT not in html and "<script>alert" not in html
    shown = Page.of(parse(html))
    assert shown.cell(n)["error"] == SCRIPT and shown.more(n)["details"]["reproduce"] == cell["details"]["reproduce"]
    assert shown.cell(n)["expectation"]["reason"] == SCRIPT
    assert shown.detail["fingerprints"][1]["packages"][-1] == f"{SCRIPT}==1"
    trend = shown.node.find("table", class_="trend", **{"data-runtime": SCRIPT})
    assert "s-unknown" in trend.find("tbody").find_all("tr")[1].find("span").classes()  # an unknown status is no class
