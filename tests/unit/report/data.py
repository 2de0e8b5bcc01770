"""The two results documents in tests/data, as raw JSON (what a test edits) and typed
(what the renderers take). results_small.json is a results.json from before history,
expectations and export fingerprints (none of the optional sections); report_v2.json has
all of them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.document.cell import CellKey, Result, Status
from harness.document.results import ResultsDocument
from harness.report.html import render_html
from tests.unit.report.dom import Node, Page, parse

DATA = Path(__file__).resolve().parents[2] / "data"
SMALL = DATA / "results_small.json"
V2 = DATA / "report_v2.json"
SCRIPT = "<script>alert(1)</script>"


def raw(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def typed(data: dict[str, Any], source: str = "results.json") -> ResultsDocument:
    return ResultsDocument.from_json(data, source)


def render(data: dict[str, Any]) -> Node:
    return parse(render_html(typed(data)))


def page(data: dict[str, Any]) -> Page:
    return Page.of(render(data))


def cell_index(data: dict[str, Any], **key: str) -> int:
    found = [n for n, c in enumerate(data["cells"]) if all(c[k] == v for k, v in key.items())]
    assert len(found) == 1, key
    return found[0]


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


GOLDEN = DATA / "golden"
UPDATE_GOLDEN = "HARNESS_UPDATE_GOLDEN"  # =1: rewrite the golden files from the current renderers


def assert_golden(name: str, text: str) -> None:
    """``text`` must equal tests/data/golden/<name> byte for byte. After a deliberate change
    to a renderer, regenerate with ``HARNESS_UPDATE_GOLDEN=1 nox -s tests -- unit`` (or
    pytest) and review the diff of the golden file like any other change."""
    path = GOLDEN / name
    if os.environ.get(UPDATE_GOLDEN) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    assert path.exists(), f"{path} is missing: run the tests once with {UPDATE_GOLDEN}=1"
    assert text.encode("utf-8") == path.read_bytes(), f"{name} differs from {path} (see {UPDATE_GOLDEN})"


# A matrix of one model ("m"), one export mode (fullgraph_on-pir), one loader (predictor) and
# one expectation (2.x cannot read 3.x PIR), over the runtimes given.
PIR_MATRIX_TAIL = """models: [{id: m}]
export_modes: [{id: fullgraph_on-pir, full_graph: true, program_format: pir}]
loaders: [{id: predictor, api: predictor}]
expectations:
  - {reason: "2.x cannot read PIR <b>", link: "https://github.com/PaddlePaddle/Paddle/issues/71134",
     producer: "*-3.*", consumer: "*-2.*", statuses: [crash, load_failed]}
"""


def pir_matrix(runtimes: str) -> str:
    """matrix.yaml text of PIR_MATRIX_TAIL over ``runtimes`` (the entries of its flow list)."""
    return "\nruntimes: [" + runtimes + "]\n" + PIR_MATRIX_TAIL


def pir_result(producer: str, consumer: str, status: Status, **kw: Any) -> Result:
    """The result of model m, fullgraph_on-pir, loaded by predictor, from producer in consumer."""
    return Result.for_cell(CellKey(producer, "m", "fullgraph_on-pir", consumer, "predictor"), status, **kw)
