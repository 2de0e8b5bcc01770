"""Cells are computed, not hand-written: producers x models x modes x consumers x loaders."""

from __future__ import annotations

import itertools

from harness.config.matrix import Matrix
from harness.document.cell import CellKey


def planned_cells(matrix: Matrix) -> list[CellKey]:
    ids = [rt.id for rt in matrix.runtimes]
    return [
        CellKey(p, m.id, e.id, c, ld.id)
        for p, m, e, c, ld in itertools.product(ids, matrix.models, matrix.export_modes, ids, matrix.loaders)
    ]
