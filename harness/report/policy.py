"""The CI exit-code policy. Infrastructure problems get their own exit code, so a red
nightly never confuses "Docker was down" with "Paddle broke compatibility"."""

from __future__ import annotations

from dataclasses import dataclass

from harness.document.cell import FAILURES
from harness.document.results import ResultsDocument

FAIL_ON = ("never", "unexpected", "new")
EXIT_INCOMPATIBLE = 10
EXIT_INFRA = 11
# The matrix command: no runtime of the run could be built (none ended `ready`), so the
# report has no verdict at all. Always, whatever --fail-on says; the report is still written.
EXIT_NOTHING_BUILT = 12
FAILING = frozenset(s.value for s in FAILURES)


@dataclass(frozen=True)
class Verdict:
    exit_code: int
    message: str


def decide(doc: ResultsDocument, fail_on: str, fail_on_infra: bool) -> Verdict:
    unexpected = [c for c in doc.cells if c.shown_as in FAILING]
    new = [c for c in unexpected if c.transition == "newly_broken"]
    infra_count = len(doc.infra.runtimes) + doc.infra.infra_error_cells
    flagged = {"never": [], "unexpected": unexpected, "new": new}[fail_on]
    if flagged:
        what = "unexpected failures" if fail_on == "unexpected" else "cells newly broken since the previous run"
        return Verdict(EXIT_INCOMPATIBLE, f"policy --fail-on {fail_on}: {len(flagged)} {what}")
    if fail_on_infra and infra_count:
        return Verdict(EXIT_INFRA, f"policy --fail-on-infra: {infra_count} infrastructure problems (see summary.md)")
    counts = f"{len(unexpected)} unexpected failures, {infra_count} infra problems"
    return Verdict(0, f"policy --fail-on {fail_on}: ok ({counts})")
