"""Just enough DOM to assert on the rendered report (which the template keeps well-formed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

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


def grid_rows(doc: Node) -> list[list[Node]]:
    body = doc.find("table", id="grid").find("tbody")
    return [row.find_all("td") for row in body.find_all("tr")]


def panel(doc: Node, n: int) -> Node:
    return doc.find("section", id=f"cell-{n}")


def cell_td(doc: Node, n: int) -> Node:
    return doc.find("td", **{"data-cell": str(n)})


def fingerprint_rows(doc: Node, n: int) -> dict[str, Node]:
    """The fingerprint a cell's panel shows: the export panel its slot names (the page's script
    copies that table into the slot when the cell opens; the browser test checks the copy)."""
    slot = panel(doc, n).find("div", class_="fp-slot")
    assert slot.find("a").attrs["href"] == "#" + slot.attrs["data-fp"]  # without the script, a link to it
    table = doc.find("section", id=slot.attrs["data-fp"]).find("table", class_="fingerprint")
    return {tr.find("th").text(): tr.find("td") for tr in table.find_all("tr")}


def summary_counts(doc: Node) -> dict[str, dict[str, str]]:
    """group -> status -> the count the summary shows."""
    return {
        ul.attrs["data-group"]: {
            li.attrs["data-status"]: li.find("strong").text() for li in ul.find_all("li") if "data-status" in li.attrs
        }
        for ul in doc.find("section", id="summary").find_all("ul")
        if "summary" in ul.classes() and ul.attrs["data-group"] != "runtimes"
    }
