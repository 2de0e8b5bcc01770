"""Where do exports load? For each producer and export mode, the consumer runtimes in which
every model passed with at least one loader, oldest Paddle first.

Computed over the producers the cells actually name: the ready runtimes among them (oldest
first), then any producer that is not a runtime at all (a `check` report's user export).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from harness.config.versions import version_key
from harness.document.cell import Stage, Status
from harness.document.results import CompatRange, RuntimeEntry
from harness.store.state import RuntimeState


def by_version(runtimes: Sequence[RuntimeEntry]) -> list[RuntimeEntry]:
    """Oldest Paddle first; the given order breaks ties."""
    return sorted(runtimes, key=lambda r: version_key(r.version))


def compat_ranges(
    runtimes: Sequence[RuntimeEntry], models: Sequence[str], export_modes: Sequence[str], frame: pd.DataFrame
) -> list[CompatRange]:
    order = by_version(runtimes)
    ready = [r.id for r in order if r.state is RuntimeState.READY]
    not_tested = [r.id for r in order if r.state is not RuntimeState.READY]
    known = {r.id for r in runtimes}
    named = [str(p) for p in frame["producer"].drop_duplicates()]
    producers = [p for p in ready if p in named] + [p for p in named if p not in known]
    loads = _passing_models(frame, models)
    failures = _export_failures(frame)
    wanted = len(set(models))
    ranges = []
    for producer in producers:
        for mode in export_modes:
            loads_in = [c for c in ready if loads.get((producer, mode, c), 0) >= wanted]
            ranges.append(
                CompatRange(
                    producer=producer,
                    export=mode,
                    loads_in=loads_in,
                    oldest=loads_in[0] if loads_in else None,
                    newest=loads_in[-1] if loads_in else None,
                    not_tested=not_tested,
                    export_status=failures.get((producer, mode), "ok"),
                )
            )
    return ranges


def _passing_models(frame: pd.DataFrame, models: Sequence[str]) -> dict[tuple[str, str, str], int]:
    """(producer, export, consumer) -> how many of the models passed there with some loader."""
    passed = frame[(frame["status"] == Status.PASS.value) & frame["model"].isin(list(models))]
    counts = passed.groupby(["producer", "export", "consumer"])["model"].nunique()
    return {(str(p), str(e), str(c)): int(n) for (p, e, c), n in counts.items()}


def _export_failures(frame: pd.DataFrame) -> dict[tuple[str, str], str]:
    """Why a mode loads nowhere matters: never exported is not the same as unloadable."""
    failed = frame[frame["stage"] == Stage.EXPORT.value]
    statuses = failed.groupby(["producer", "export"])["status"].unique()
    return {(str(p), str(e)): ", ".join(sorted(map(str, s))) for (p, e), s in statuses.items()}
