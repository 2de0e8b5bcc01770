"""summary.md: compared byte for byte with a golden file rendered from report_v2.json, and
what a maintainer must find in it."""

from __future__ import annotations

import dataclasses

from harness.report.markdown import markdown
from tests.unit.report.data import SMALL, V2, assert_golden, raw, typed


def test_markdown_matches_the_golden_file() -> None:
    assert_golden("summary.md", markdown(typed(raw(V2))))


def test_markdown_names_changes_stale_expectations_infra_and_ranges() -> None:
    doc = typed(raw(V2))
    md = markdown(doc)
    assert f"# Paddle export compatibility: run {doc.run.id}" in md
    assert "## Since 20261122T160000Z-9f8e7d6c: 3 newly broken, 1 newly fixed, 1 changed" in md
    assert "| newly_broken | `cpu-3.3.1__ppyoloe_tiny__fullgraph_off-legacy__cpu-2.6.2__jit_load` | pass |" in md
    assert "expired on 2026-10-01; 2 cells" in md
    assert "- `cpu-2.5` unavailable: cpu-2.5: the index" in md and "- 1 cells could not be run" in md
    assert "| producer | model | fullgraph_on-pir | fullgraph_off-legacy | fullgraph_off-legacy-ppdet |" in md
    assert "| cpu-3.3.1 | every model | cpu-3.3.1 | cpu-2.6.2 → cpu-3.3.1 | not exported (export_failed) |" in md
    assert "**5 unexpected failures** (5 cells failed to convert, load, run or match; 0 exports failed) · 21 expected" in md


def test_ranges_are_per_model_and_name_their_holes() -> None:
    doc = typed(raw(V2))
    legacy = next(r for r in doc.compat_ranges if (r.producer, r.export) == ("cpu-3.3.1", "fullgraph_off-legacy"))
    ranges = [
        dataclasses.replace(legacy, model="a", loads_in=["cpu-2.6.2", "gpu-3.3.1"], newest="gpu-3.3.1", not_tested=[]),
        dataclasses.replace(legacy, model="b", loads_in=[], oldest=None, newest=None),
    ]
    md = markdown(dataclasses.replace(doc, compat_ranges=ranges))
    assert "| cpu-3.3.1 | a | cpu-2.6.2 → gpu-3.3.1 except cpu-3.3.1 |" in md
    assert "| cpu-3.3.1 | b | nowhere |" in md


def test_a_long_list_of_changes_is_cut_and_error_text_cannot_break_the_table() -> None:
    doc = typed(raw(V2))
    n = next(n for n, c in enumerate(doc.cells) if c.transition)  # the first of 5 changed cells
    cells = list(doc.cells)
    cells[n] = dataclasses.replace(cells[n], error="a | b\nsecond line")
    md = markdown(dataclasses.replace(doc, cells=cells), limit=2)
    assert "| ... | 3 more in index.html | | | |" in md
    assert "a \\| b second line |" in md


def test_an_old_file_without_history_says_so() -> None:
    md = markdown(typed(raw(SMALL)))
    assert "No previous run of this matrix to compare with." in md
    assert "## Stale expectations" not in md and "## Where do exports load?" not in md
