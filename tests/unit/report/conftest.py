"""Module-scoped fixtures of the report tests: each document and its rendered page, once."""

from __future__ import annotations

from typing import Any

import pytest

from harness.report.html import render_html
from tests.unit.report.data import SMALL, V2, raw, typed
from tests.unit.report.dom import Node, Page, parse


@pytest.fixture(scope="module")
def small() -> dict[str, Any]:
    return raw(SMALL)


@pytest.fixture(scope="module")
def small_html(small: dict[str, Any]) -> str:
    return render_html(typed(small))


@pytest.fixture(scope="module")
def small_doc(small_html: str) -> Node:
    return parse(small_html)


@pytest.fixture(scope="module")
def v2() -> dict[str, Any]:
    return raw(V2)


@pytest.fixture(scope="module")
def v2_html(v2: dict[str, Any]) -> str:
    return render_html(typed(v2))


@pytest.fixture(scope="module")
def v2_doc(v2_html: str) -> Node:
    return parse(v2_html)


@pytest.fixture(scope="module")
def small_page(small_doc: Node) -> Page:
    return Page.of(small_doc)


@pytest.fixture(scope="module")
def v2_page(v2_doc: Node) -> Page:
    return Page.of(v2_doc)
