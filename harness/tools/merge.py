"""Merge partial work directories (CI artifacts from separate machines) into one.

Each phase writes only its own files (runtimes/<id>/state.json, exports/<id>/...,
results/<id>.jsonl), so merging is copying; what no artifact brought is listed, and
the report built from the merged directory shows those cells as missing phases.
"""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

from harness.config.matrix import Matrix
from harness.store.layout import Workspace
from harness.store.state import read_state

# What a phase hands on; venvs and caches stay on the machine that built them.
PORTABLE = ("runtimes/*/state.json", "exports/**/*", "results/*.jsonl", "diagnoses/*.json")


def merge(sources: list[Path], target: Path) -> list[str]:
    """Copy the portable files of every source into target; return conflict warnings."""
    warnings = []
    for source in sources:
        for pattern in PORTABLE:
            for path in sorted(source.glob(pattern)):
                if not path.is_file():
                    continue
                dest = target / path.relative_to(source)
                if dest.exists() and not filecmp.cmp(path, dest, shallow=False):
                    warnings.append(f"{dest.relative_to(target)} differs between artifacts; kept the one from {source}")
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest)
    return warnings


def missing(matrix: Matrix, ws: Workspace) -> list[str]:
    """Which phases' outputs are absent from a (merged) work directory."""
    gaps = []
    exporters = set(matrix.runtime_ids)  # deployment consumers export nothing
    for rid in matrix.consumer_ids:
        if not ws.state_file(rid).exists():
            gaps.append(f"build {rid}: no runtimes/{rid}/state.json")
            continue
        ready = read_state(ws, rid).ready
        if ready and rid in exporters and not any((ws.root / "exports" / rid).glob("*/*/export.json")):
            gaps.append(f"export {rid}: no exports/{rid}/*/*/export.json")
        if not ws.results_file(rid).exists():
            gaps.append(f"load {rid}: no results/{rid}.jsonl")
    return gaps
