"""Cells are computed, not hand-written: producers x models x modes x consumers x loaders.

Consumers are the Paddle runtimes (each with every loader of the matrix) and the deployment
consumers (each with its own loaders: its Lite targets or ONNX opsets)."""

from __future__ import annotations

import itertools

from harness.config.matrix import Matrix
from harness.document.cell import CellKey


def planned_cells(matrix: Matrix) -> list[CellKey]:
    ids = [rt.id for rt in matrix.runtimes]
    paddle = [
        CellKey(p, m.id, e.id, c, ld.id)
        for p, m, e, c, ld in itertools.product(ids, matrix.models, matrix.export_modes, ids, matrix.loaders)
    ]
    deployed = [
        CellKey(p, m.id, e.id, d.id, ld.id)
        for p, m, e, d in itertools.product(ids, matrix.models, matrix.export_modes, matrix.deployments)
        for ld in d.loaders
    ]
    return paddle + deployed
