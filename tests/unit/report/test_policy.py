"""The CI exit policy: incompatibilities and infrastructure get different exit codes."""

from __future__ import annotations

import dataclasses

import pytest

from harness.document.results import Infra
from harness.report import policy
from tests.unit.report.data import V2, raw, typed

DOC = typed(raw(V2))  # 3 newly broken, 5 unexpected failures, 1 runtime unavailable, 1 infra_error cell


@pytest.mark.parametrize(
    ("fail_on", "fail_on_infra", "code", "words"),
    [
        ("new", False, policy.EXIT_INCOMPATIBLE, "3 cells newly broken since the previous run"),
        ("unexpected", False, policy.EXIT_INCOMPATIBLE, "5 unexpected failures"),
        ("never", True, policy.EXIT_INFRA, "2 infrastructure problems"),
        ("never", False, 0, "ok (5 unexpected failures, 2 infra problems)"),
    ],
)
def test_policy_on_a_full_document(fail_on: str, fail_on_infra: bool, code: int, words: str) -> None:
    verdict = policy.decide(DOC, fail_on, fail_on_infra)
    assert verdict.exit_code == code and words in verdict.message


def test_nothing_new_and_no_infra_is_ok() -> None:
    quiet = dataclasses.replace(DOC, cells=[dataclasses.replace(c, transition=None) for c in DOC.cells], infra=Infra())
    assert policy.decide(quiet, "new", True).exit_code == 0
