"""merge: partial work directories from several machines become one; gaps are named."""

from __future__ import annotations

from pathlib import Path

from harness.config.matrix import parse_matrix
from harness.store.files import write_json_atomic
from harness.store.layout import Workspace
from harness.tools.merge import merge, missing

MATRIX = parse_matrix(
    """
runtimes: [{id: old, version: "2.6.2"}, {id: new, version: "3.3.1"}]
models: [{id: ppyoloe_tiny}]
export_modes: [{id: good, full_graph: true, program_format: legacy}]
loaders: [{id: predictor, api: predictor}]
"""
)


def machine(root: Path, rt: str, results: str = "{}\n") -> Workspace:
    ws = Workspace(root)
    write_json_atomic(ws.state_file(rt), {"id": rt, "state": "ready", "fingerprint": {}})
    write_json_atomic(ws.export_dir(rt, "ppyoloe_tiny", "good") / "export.json", {"status": "ok"})
    (ws.runtime_dir(rt) / "venv").mkdir()
    (ws.runtime_dir(rt) / "venv" / "python").write_text("not portable")
    ws.results_dir.mkdir(parents=True)
    ws.results_file(rt).write_text(results)
    return ws


def test_portable_files_are_copied_and_venvs_stay_behind(tmp_path: Path) -> None:
    a, b = machine(tmp_path / "a", "old"), machine(tmp_path / "b", "new")
    target = Workspace(tmp_path / "merged")
    assert merge([a.root, b.root], target.root) == []
    for rt in ("old", "new"):
        assert target.state_file(rt).exists() and target.results_file(rt).exists()
        assert (target.export_dir(rt, "ppyoloe_tiny", "good") / "export.json").exists()
        assert not (target.runtime_dir(rt) / "venv").exists()
    assert missing(MATRIX, target) == []


def test_a_file_two_artifacts_disagree_on_is_named_and_the_later_kept(tmp_path: Path) -> None:
    a, b = machine(tmp_path / "a", "old", "first\n"), machine(tmp_path / "b", "old", "second\n")
    target = Workspace(tmp_path / "merged")
    warnings = merge([a.root, b.root], target.root)
    assert warnings == [f"results/old.jsonl differs between artifacts; kept the one from {b.root}"]
    assert target.results_file("old").read_text() == "second\n"


def test_missing_phases_are_listed(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    write_json_atomic(ws.state_file("old"), {"id": "old", "state": "ready", "fingerprint": {}})
    assert missing(MATRIX, ws) == [
        "export old: no exports/old/*/*/export.json",
        "load old: no results/old.jsonl",
        "build new: no runtimes/new/state.json",
    ]
