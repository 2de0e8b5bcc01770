"""Shared by the phase tests of a model's requires (test_export.py, test_extras.py)."""

from __future__ import annotations

from pathlib import Path

from harness.store.files import write_json_atomic
from harness.store.layout import Workspace

# One runtime, a tiny model and a ppdet model with requires, two export modes.
REQUIRES_MATRIX = """
runtimes: [{id: cpu-2.6.2, version: "2.6.2"}]
models:
  - {id: ppyoloe_tiny}
  - {id: ppdet_ppyoloe, family: ppdet, requires: ["paddledet==2.6.0", "setuptools==80.10.2"]}
export_modes:
  - {id: fullgraph_on-legacy, full_graph: true, program_format: legacy}
  - {id: fullgraph_on-pir, full_graph: true, program_format: pir}
loaders: [{id: predictor, api: predictor}]
"""


def ready_workspace(tmp_path: Path) -> Workspace:
    """A work directory under ``tmp_path`` where cpu-2.6.2 is built and ready."""
    ws = Workspace(tmp_path / "work")
    write_json_atomic(ws.state_file("cpu-2.6.2"), {"id": "cpu-2.6.2", "state": "ready", "fingerprint": {"p": 1}})
    return ws
