"""Just enough DOM to assert on the rendered report (which the template keeps well-formed), and
the page's data read back as its script reads it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from harness.report.html_data import unpack

VOID = {"meta", "br", "hr", "img", "input", "link", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def find_all(self, tag: str, **attrs: str) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag and all(child.attrs.get(k.rstrip("_")) == v for k, v in attrs.items()):
                    found.append(child)
                found.extend(child.find_all(tag, **attrs))
        return found

    def find(self, tag: str, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


def page_index(doc: Node) -> dict[str, Any]:
    """The page's plain JSON: the cells as columns, the lists their numbers index."""
    data: dict[str, Any] = json.loads(doc.find("script", id="report-data").text())
    return data


def page_detail(doc: Node) -> dict[str, Any]:
    """The page's packed detail, inflated as the page's script does."""
    data: dict[str, Any] = unpack(doc.find("script", id="report-detail").text())
    return data


@dataclass
class Page:
    """A rendered page read back: what the script would draw for each cell."""

    node: Node
    index: dict[str, Any]
    detail: dict[str, Any]

    @classmethod
    def of(cls, node: Node) -> Page:
        return cls(node, page_index(node), page_detail(node))

    def cell(self, n: int) -> dict[str, Any]:
        d, c = self.index, self.index["cells"]
        exp = d["expectations"][c["q"][n] - 1] if c["q"][n] else None
        return {
            "producer": d["ids"][c["p"][n]],
            "model": d["models"][c["m"][n]],
            "export": d["exports"][c["e"][n]],
            "consumer": d["ids"][c["c"][n]],
            "loader": d["loaders"][c["l"][n]],
            "status": d["statuses"][c["s"][n]],
            "shown_as": d["statuses"][c["x"][n]],
            "stage": d["stages"][c["g"][n]] or None,
            "error": d["errors"][c["r"][n]],
            "max_abs_diff": c["d"][n],
            "transition": d["changes"][c["t"][n]][0] or None,
            "expectation": exp,
        }

    def more(self, n: int) -> dict[str, Any]:
        """The detail panel's data of cell n, texts resolved."""
        entry = dict(self.detail["cells"][n])
        texts = self.detail["texts"]
        if "log" in entry:
            entry["log"] = texts[entry["log"]]
        if "upstream" in entry:
            entry["upstream"] = "\n\n".join(texts[k] for k in entry["upstream"])
        if "export" in entry:
            entry["export"] = self.detail["exports"][entry["export"]]
        return entry

    @property
    def cells(self) -> int:
        return len(self.index["cells"]["s"])


def summary_counts(doc: Node) -> dict[str, dict[str, str]]:
    """group -> status -> the count the summary shows."""
    return {
        ul.attrs["data-group"]: {
            li.attrs["data-status"]: li.find("strong").text() for li in ul.find_all("li") if "data-status" in li.attrs
        }
        for ul in doc.find("section", id="summary").find_all("ul")
        if "summary" in ul.classes() and ul.attrs["data-group"] != "runtimes"
    }
