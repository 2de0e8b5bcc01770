"""Module-scoped fixtures of the report tests: each document and its rendered page, once.

For each document NAME: ``NAME`` (the raw JSON), ``NAME_html`` (rendered from it),
``NAME_doc`` (that page parsed) and ``NAME_page`` (a Page over it), each made from the one
before it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.report.html import render_html
from tests.unit.report.data import SMALL, V2, raw, typed
from tests.unit.report.dom import Node, Page, parse


def _document_fixtures(name: str, path: Path) -> tuple[Any, Any, Any, Any]:
    @pytest.fixture(scope="module", name=name)
    def data() -> dict[str, Any]:
        return raw(path)

    @pytest.fixture(scope="module", name=f"{name}_html")
    def html(request: pytest.FixtureRequest) -> str:
        return render_html(typed(request.getfixturevalue(name)))

    @pytest.fixture(scope="module", name=f"{name}_doc")
    def doc(request: pytest.FixtureRequest) -> Node:
        return parse(request.getfixturevalue(f"{name}_html"))

    @pytest.fixture(scope="module", name=f"{name}_page")
    def page(request: pytest.FixtureRequest) -> Page:
        return Page.of(request.getfixturevalue(f"{name}_doc"))

    return data, html, doc, page


small, small_html, small_doc, small_page = _document_fixtures("small", SMALL)
v2, v2_html, v2_doc, v2_page = _document_fixtures("v2", V2)
