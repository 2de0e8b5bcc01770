"""The cells as a pandas DataFrame: one row per cell, for the grid pivot, the counts and the ranges."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from harness.document.results import KEY_FIELDS, Cell

ROW_KEYS = ["producer", "model", "export"]  # a grid row: what was exported
COL_KEYS = ["consumer", "loader"]  # a grid column: who loaded it, how
COLUMNS = [*KEY_FIELDS, "status", "shown", "stage", "transition", "n"]


def cell_frame(cells: Sequence[Cell]) -> pd.DataFrame:
    """``n`` is the cell's index in the document's cells; stage and transition are "" when unset."""
    rows = [
        [*(getattr(c, k) for k in KEY_FIELDS), c.status.value, c.shown_as, stage, c.transition or "", n]
        for n, c in enumerate(cells)
        for stage in [c.stage.value if c.stage else ""]
    ]
    frame: pd.DataFrame = pd.DataFrame(rows, columns=COLUMNS)
    return frame


def shown_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Shown status -> number of cells, sorted by status."""
    counts = frame["shown"].value_counts()
    return {str(status): int(counts[status]) for status in sorted(counts.index)}


def first_seen(frame: pd.DataFrame, column: str) -> list[str]:
    """The distinct values of a column, in the order cells name them."""
    return [str(v) for v in frame[column].drop_duplicates()]
