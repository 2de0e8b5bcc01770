"""Where do exports load? For each producer, model and export mode, the consumer runtimes
in which that model's export passed with at least one loader, oldest Paddle first, and the
deployment consumers (Paddle-Lite, ONNX) where it converted, ran and matched with at least
one target or opset.

Per model on purpose: one model's failure never hides where another model's export loads.
Computed over the producers the cells actually name: the ready runtimes among them (oldest
first), then any producer that is not a runtime at all (a `check` report's user export).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from harness.config.versions import version_key
from harness.document.cell import Stage, Status
from harness.document.results import Cell, CompatRange, RuntimeEntry
from harness.store.state import RuntimeState

Export = tuple[str, str, str]  # (producer, model, export mode)
EXPORT_STAGES = (Stage.EXPORT, Stage.REFERENCE)


def by_version(runtimes: Sequence[RuntimeEntry]) -> list[RuntimeEntry]:
    """Oldest Paddle first; the given order breaks ties. Deployment consumers (whose versions
    are their tools') follow the Paddle runtimes, as declared."""
    paddle = sorted((r for r in runtimes if not r.deployment), key=lambda r: version_key(r.version))
    return paddle + [r for r in runtimes if r.deployment]


def compat_ranges(
    runtimes: Sequence[RuntimeEntry], models: Sequence[str], export_modes: Sequence[str], cells: Sequence[Cell]
) -> list[CompatRange]:
    """One range per (producer, model, export mode) the cells name, in producer, model and
    mode order."""
    order = by_version(runtimes)
    ready = [r.id for r in order if r.state is RuntimeState.READY and not r.deployment]
    deployed = [r.id for r in order if r.state is RuntimeState.READY and r.deployment]
    not_tested = [r.id for r in order if r.state is not RuntimeState.READY]
    known = {r.id for r in runtimes}
    named = list(dict.fromkeys(c.producer for c in cells))
    producers = [p for p in ready if p in named] + [p for p in named if p not in known]
    exports = {(c.producer, c.model, c.export) for c in cells}
    loads = {(c.producer, c.model, c.export, c.consumer) for c in cells if c.status is Status.PASS}
    failures = _export_failures(cells)

    def passing(export: Export, consumers: list[str]) -> list[str]:
        return [c for c in consumers if (*export, c) in loads]

    return [
        _range(export, passing(export, ready), not_tested, failures, passing(export, deployed))
        for producer in producers
        for model in _ordered(models, (c.model for c in cells))
        for mode in _ordered(export_modes, (c.export for c in cells))
        if (export := (producer, model, mode)) in exports
    ]


def _range(
    export: Export, loads_in: list[str], not_tested: list[str], failures: dict[Export, set[str]], deploys_in: list[str]
) -> CompatRange:
    producer, model, mode = export
    return CompatRange(
        producer=producer,
        export=mode,
        loads_in=loads_in,
        oldest=loads_in[0] if loads_in else None,
        newest=loads_in[-1] if loads_in else None,
        not_tested=not_tested,
        export_status=", ".join(sorted(failures.get(export, ()))) or "ok",
        model=model,
        deploys_in=deploys_in,
    )


def _ordered(listed: Sequence[str], seen: Iterable[str]) -> list[str]:
    """The listed ids, then any id only a cell names."""
    order = list(dict.fromkeys(listed))
    known = set(order)
    return order + [x for x in dict.fromkeys(seen) if x not in known]


def _export_failures(cells: Sequence[Cell]) -> dict[Export, set[str]]:
    """Why an export loads nowhere matters: never exported is not the same as unloadable."""
    found: dict[Export, set[str]] = {}
    for c in cells:
        if c.stage in EXPORT_STAGES:
            found.setdefault((c.producer, c.model, c.export), set()).add(c.status.value)
    return found
