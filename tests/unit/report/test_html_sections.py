"""The sections around the grid: summary and headline, what changed, stale expectations,
infrastructure, "where do exports load?" and the trend."""

from __future__ import annotations

import collections
import re
from typing import Any

import pytest

from harness.document.cell import Status
from harness.document.results import EXPECTED
from harness.report.styles import FAILING, MISSING, STYLES
from tests.unit.report.data import V2, cell_index, ids, raw, render
from tests.unit.report.dom import Node, grid_rows, panel, summary_counts


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


def test_stale_expectations_are_listed_with_links_to_their_cells(v2: dict[str, Any], v2_doc: Node) -> None:
    stale = v2_doc.find("ul", class_="stale").find_all("li")
    assert [li.find("strong", class_="why").text() for li in stale] == ["now passes", "expired on 2026-10-01"]
    for li, entry in zip(stale, v2["stale_expectations"]):
        targets = [a.attrs["href"] for a in li.find_all("a") if a.attrs["href"].startswith("#cell-")]
        keys = [dict(zip(["producer", "model", "export", "consumer", "loader"], s.split("__"))) for s in entry["cells"]]
        assert targets == [f"#cell-{cell_index(v2, **key)}" for key in keys]
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


def test_where_do_exports_load(v2: dict[str, Any], v2_doc: Node) -> None:
    table = v2_doc.find("section", id="compat").find("table", class_="compat")
    assert [th.text() for th in table.find("thead").find_all("th")] == ["producer", *ids(v2["export_modes"])]
    cells = {tr.attrs["data-producer"]: tr.find_all("td") for tr in table.find("tbody").find_all("tr")}
    assert list(cells) == ["cpu-2.6.2", "cpu-3.3.1"]
    legacy = cells["cpu-3.3.1"][1]
    assert legacy.find("span", class_="range").text() == "cpu-2.6.2 → cpu-3.3.1"
    assert "loads in: cpu-2.6.2, cpu-3.3.1" in legacy.attrs["title"]
    assert "not tested: cpu-2.5, gpu-3.3.1" in legacy.attrs["title"]
    assert "cr-ok" in legacy.classes()
    nowhere = cells["cpu-2.6.2"][0]
    assert "cr-none" in nowhere.classes() and nowhere.find("span", class_="range").text() == "loads nowhere"
    assert "not_applicable" in nowhere.find("small", class_="export-status").text()
    # not_tested is the same everywhere: said once, above the table
    assert "cpu-2.5, gpu-3.3.1" in v2_doc.find("section", id="compat").find("p", class_="note").text()
    assert table.find_all("small", class_="untested") == []


def test_where_do_exports_load_names_holes_and_missing_entries() -> None:
    data = raw(V2)
    data["runtimes"].insert(2, {"id": "cpu-3.0.0", "version": "3.0.0", "state": "ready", "fingerprint": None})
    entry = next(
        e for e in data["compat_ranges"] if (e["producer"], e["export"]) == ("cpu-3.3.1", "fullgraph_off-legacy")
    )
    entry["not_tested"] = ["cpu-2.5"]
    data["compat_ranges"] = [
        e for e in data["compat_ranges"] if e["export"] != "fullgraph_on-pir" or e["producer"] != "cpu-2.6.2"
    ]
    table = render(data).find("table", class_="compat")
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
    assert "no reproduce command" in panel(small_doc, 0).text()
    assert small_doc.find_all("td", **{"data-transition": "newly_broken"}) == []
